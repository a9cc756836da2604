#!/usr/bin/env bash
# Checks what can be checked for Android on a machine without the SDK, NDK
# or Gradle:
# - the library (with its FFI layer and JNI entry point) type-checks for
#   Android: `cargo check --target aarch64-linux-android`. The build
#   scripts of SQLite and ring still compile their C, so Debian's aarch64
#   gcc and glibc headers stand in for the NDK's clang and bionic; nothing
#   is linked;
# - the hand-written Kotlin (android/src) compiles with kotlinc (warnings
#   as errors) against the generated bindings (bindings/build.sh first),
#   kotlinx-coroutines, and a stand-in for the one Android class it uses
#   (android.content.Context).
# The real build is android/build-android.sh and Gradle, with the NDK.
#
#   android/check.sh       (prints "android check: N passed, M failed")
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
passed=0 failed=0
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
fi
rustup target add aarch64-linux-android >&2
if CC_aarch64_linux_android=aarch64-linux-gnu-gcc AR_aarch64_linux_android=aarch64-linux-gnu-ar \
   cargo check --locked -p fio-peer --lib --features ffi --target aarch64-linux-android >&2; then
  passed=$((passed + 1))
else
  echo "android check: cargo check --target aarch64-linux-android failed" >&2
  failed=$((failed + 1))
fi

kotlinc_home=$(scripts/kotlinc.sh)
stub=$(mktemp -d)
trap 'rm -rf "$stub"' EXIT
# Java, so Kotlin sees getApplicationContext() as the property it is on
# Android.
mkdir -p "$stub/android/content"
cat >"$stub/android/content/Context.java" <<'JAVA'
package android.content;
public abstract class Context {
    public abstract Context getApplicationContext();
}
JAVA
[ -d bindings/generated/kotlin ] || { echo "run bindings/build.sh first" >&2; exit 1; }
mapfile -t sources < <(find android/src -name '*.kt')
# The generated code is compiled in a step of its own: its warnings are
# uniffi's, ours must be none.
K=$kotlinc_home/lib
mapfile -t generated < <(find bindings/generated/kotlin -name '*.kt')
if "$kotlinc_home/bin/kotlinc" -nowarn "${generated[@]}" \
     -cp "/usr/share/java/jna.jar:$K/kotlinx-coroutines-core-jvm.jar" -d "$stub/bindings" >&2 &&
   "$kotlinc_home/bin/kotlinc" -Werror "${sources[@]}" "$stub/android/content/Context.java" \
     -cp "$stub/bindings:/usr/share/java/jna.jar:$K/kotlinx-coroutines-core-jvm.jar" -d "$stub/out" >&2; then
  passed=$((passed + 1))
else
  echo "android check: kotlinc of android/src failed" >&2
  failed=$((failed + 1))
fi
echo "android check: $passed passed, $failed failed (cargo check --target aarch64-linux-android; kotlinc android/src)"
[ "$failed" = 0 ]
