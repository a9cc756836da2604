#!/usr/bin/env bash
# Type-checks the library (with its FFI layer) for Android on a machine
# without the NDK: `cargo check --target aarch64-linux-android`. The build
# scripts of SQLite and ring still compile their C, so Debian's aarch64 gcc
# and glibc headers stand in for the NDK's clang and bionic; nothing is
# linked. The real build is android/build-android.sh, with the NDK.
#
#   android/check.sh       (prints "android check: N passed, M failed")
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
fi
rustup target add aarch64-linux-android >&2
if CC_aarch64_linux_android=aarch64-linux-gnu-gcc AR_aarch64_linux_android=aarch64-linux-gnu-ar \
   cargo check --locked -p fio-peer --lib --features ffi --target aarch64-linux-android >&2; then
  echo "android check: 1 passed, 0 failed (cargo check --target aarch64-linux-android)"
else
  echo "android check: 0 passed, 1 failed (cargo check --target aarch64-linux-android)"
  exit 1
fi
