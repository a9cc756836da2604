// fio-peer for Android: the generated Kotlin bindings (package fio.peer) and
// libfio_peer.so for each ABI, built by build-android.sh (cargo-ndk) before
// every build. Include it as a module: include(":fio-peer") with
// project(":fio-peer").projectDir = file("path/to/fio-peer/android").
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

android {
    namespace = "fio.peer"
    compileSdk = 35
    ndkVersion = "28.0.13004108" // r28 links with 16 KB pages by default

    defaultConfig {
        minSdk = 24
        // JNA's classes are reached by reflection: keep them in apps that shrink.
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        java.srcDir(layout.buildDirectory.dir("generated/uniffi/kotlin"))
        jniLibs.srcDir(layout.buildDirectory.dir("generated/jniLibs"))
    }

    packaging {
        // Stored uncompressed and 16 KB aligned in the APK, so the loader
        // maps them in place (Android 15's 16 KB page devices need this).
        jniLibs.useLegacyPackaging = false
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // uniffi's Kotlin needs JNA ≥ 5.12 (the aar carries libjnidispatch per ABI)
    // and kotlinx-coroutines for suspend functions.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.1")
}

val cargoNdk by tasks.registering(Exec::class) {
    description = "Builds libfio_peer.so for every ABI and generates the Kotlin bindings"
    workingDir = projectDir
    // cargo-ndk finds the NDK this module pins through the environment.
    environment("ANDROID_NDK_HOME", android.ndkDirectory.absolutePath)
    commandLine("./build-android.sh", layout.buildDirectory.get().asFile.path)
    inputs.dir("../src")
    inputs.files("../Cargo.toml", "../Cargo.lock", "../uniffi.toml")
    outputs.dirs(layout.buildDirectory.dir("generated/jniLibs"), layout.buildDirectory.dir("generated/uniffi"))
}

tasks.named("preBuild") { dependsOn(cargoNdk) }
