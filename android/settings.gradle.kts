// Only for building this module on its own (publishing the AAR): an app
// that includes the module uses its own settings and plugin versions.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    plugins {
        id("com.android.library") version "8.7.3"
        id("org.jetbrains.kotlin.android") version "2.1.0"
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
        // rustls-platform-verifier's Android component (the Kotlin half of
        // the platform TLS verifier); an app's settings need it too.
        maven { url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/") }
    }
}
rootProject.name = "fio-peer-android"
