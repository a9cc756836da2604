#!/usr/bin/env bash
# The core's Rust suites built for aarch64-unknown-linux-gnu (the CPU of
# Android and iOS devices) and run under qemu-aarch64: unit tests, the fiojs,
# FIO DM and FIP-3 vectors, Wycheproof, the properties, the wallet
# conversation/exceptions/security and phone-guest suites, the chain client and the chain
# transaction vectors. The live interop suite (it needs node and npm) stays
# x86_64-only. Installs the cross compiler, qemu-user and the rustup target
# when missing. Prints cargo's own "test result" lines.
#
#   scripts/test-arm64.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
target=aarch64-unknown-linux-gnu
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target" >&2
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
# No debug info for the emulated binaries: they link much faster, and a
# failure's backtrace is read on x86_64 anyway.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C debuginfo=0"
suites=(fiojs_vectors fio_dm_vectors fip3_vectors wycheproof properties
        wallet_conversation wallet_exceptions wallet_security phone_guest chain_client chain_transactions)
args=(--lib)
for s in "${suites[@]}"; do args+=(--test "$s"); done
cargo test --locked -p fio-peer --target "$target" "${args[@]}"
