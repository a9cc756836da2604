#!/usr/bin/env bash
# Builds the mobile library with the size-optimised profile (release-smaller:
# opt-level "z", fat LTO, one codegen unit, stripped) for x86_64 and for
# aarch64 (aarch64-unknown-linux-gnu: the same code generation as Android's
# arm64-v8a, which cannot be linked here without the NDK), and prints both
# stripped cdylib sizes beside the 8 MB target of issue 18 (the database
# encrypted, SQLCipher in) and the 5.94 MB of the build before it.
#
#   scripts/lib-size.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
arm=aarch64-unknown-linux-gnu
command -v aarch64-linux-gnu-gcc >/dev/null || apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
rustup target list --installed | grep -qx "$arm" || rustup target add "$arm" >&2
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
cargo build --locked -q -p fio-peer --lib --features ffi --profile release-smaller
cargo build --locked -q -p fio-peer --lib --features ffi --profile release-smaller --target "$arm"
python3 - target/release-smaller/libfio_peer.so "target/$arm/release-smaller/libfio_peer.so" <<'PY'
import os, sys
target = 8_000_000
# x86_64 before SQLCipher (plain SQLite), commit 84d6ae2.
before = 5_940_000
for arch, path in zip(("x86_64", "aarch64"), sys.argv[1:]):
    size = os.path.getsize(path)
    print(f"libfio_peer.so ({arch}, stripped, release-smaller): {size:,} bytes = {size/1e6:.2f} MB "
          f"({size/2**20:.2f} MiB); before encryption (x86_64) {before/1e6:.2f} MB; "
          f"target <= {target/1e6:.2f} MB: {'met' if size <= target else 'MISSED'}")
PY
