// fio-peer for Android: the generated Kotlin bindings (package fio.peer) and
// libfio_peer.so for each ABI, built by build-android.sh (cargo-ndk) before
// every build. Use it as a module (include(":fio-peer") with
// project(":fio-peer").projectDir = file("path/to/fio-peer/android")), or
// depend on the published AAR (`publishReleasePublicationToReleaseRepository`,
// see docs/releasing.md).
//
// No plugin versions here: a consuming app's own AGP and Kotlin versions
// apply (its settings' pluginManagement). settings.gradle.kts beside this
// file pins them only for building this module on its own.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    `maven-publish`
}

// The Rust crate's version (Cargo.toml) is the artifact's version.
val fioPeerVersion: String = Regex("""(?m)^version = "([^"]+)"""")
    .find(projectDir.resolve("../Cargo.toml").readText())!!.groupValues[1]
// The platform TLS verifier's Kotlin half must be the version its Rust half
// (the crate rustls-platform-verifier-android) in Cargo.lock expects.
val rustlsPlatformVerifierVersion: String = Regex(
    """name = "rustls-platform-verifier-android"\s+version = "([^"]+)""""
).find(projectDir.resolve("../Cargo.lock").readText())!!.groupValues[1]
group = "io.github.fio-peer"
version = fioPeerVersion

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
        // Hand-written: FioPeerAndroid.init (the platform TLS verifier).
        java.srcDir("src/main/kotlin")
        jniLibs.srcDir(layout.buildDirectory.dir("generated/jniLibs"))
    }

    packaging {
        // Stored uncompressed and 16 KB aligned in the APK, so the loader
        // maps them in place (Android 15's 16 KB page devices need this).
        jniLibs.useLegacyPackaging = false
    }

    publishing {
        singleVariant("release") { withSourcesJar() }
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
    // uniffi's Kotlin needs JNA ≥ 5.12; 5.17 is the first whose aar's
    // libjnidispatch.so is aligned for 16 KB pages (Play requires it for
    // target SDK 35 updates). `api`: the generated classes expose JNA types.
    // kotlinx-coroutines for the suspend functions.
    api("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.1")
    // Android's certificate verifier for rustls (called through JNI; its
    // repository is in settings.gradle.kts and must be in the app's too).
    implementation("rustls:rustls-platform-verifier:$rustlsPlatformVerifierVersion")
}

// The AAR and a POM that declares JNA (as an aar) and kotlinx-coroutines.
publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "fio-peer-android"
            afterEvaluate { from(components["release"]) }
            pom {
                name.set("fio-peer for Android")
                description.set("Private wallet-to-wallet payment messaging on the FIO Protocol (FIP-24, FIP-3)")
                url.set("https://github.com/fio-peer/fio-peer")
                licenses {
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0")
                    }
                }
            }
        }
    }
    repositories {
        // scripts/release.sh publishes here; a team's own repository replaces it.
        maven {
            name = "release"
            url = uri(projectDir.resolve("../target/maven"))
        }
    }
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
