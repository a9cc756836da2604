#!/usr/bin/env bash
# Builds libfio_peer.so for the Android ABIs with cargo-ndk (size-optimised
# profile, 16 KB pages) and generates the Kotlin bindings with the in-repo
# uniffi-bindgen. Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk.
#
#   android/build-android.sh [BUILD_DIR]     (Gradle passes its build dir)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
cd "$here/.."
profile=release-smaller
abis=(arm64-v8a armeabi-v7a x86_64)
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
command -v cargo-ndk >/dev/null || cargo install --locked cargo-ndk --version 4.1.2
# .cargo/config.toml adds -z max-page-size=16384 for the Android targets.
cargo ndk $(printf -- '-t %s ' "${abis[@]}") -o "$out/generated/jniLibs" \
  build --locked -p fio-peer --lib --features ffi --profile "$profile"
# The bindings come from an unstripped host build of the same code
# (uniffi reads its metadata from the symbol table, which strip removes).
cargo build --locked -p fio-peer --lib --features ffi
host_lib=target/debug/libfio_peer.so
[ "$(uname)" = Darwin ] && host_lib=target/debug/libfio_peer.dylib
rm -rf "$out/generated/uniffi"
cargo run --locked -q -p fio-peer-uniffi-bindgen -- generate --library "$host_lib" \
  --language kotlin --out-dir "$out/generated/uniffi/kotlin" --no-format
[ -n "$(find "$out/generated/uniffi/kotlin" -name '*.kt')" ] || { echo "no Kotlin was generated" >&2; exit 1; }
echo "android: libraries in $out/generated/jniLibs, Kotlin in $out/generated/uniffi/kotlin"
