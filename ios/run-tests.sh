#!/usr/bin/env bash
# Runs the XCTest suite (the Kotlin suite's story in Swift) against a devnet
# and a relay on loopback. macOS only: build-xcframework.sh first.
#
#   ios/run-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d ios/FioPeerFFI.xcframework ] || ios/build-xcframework.sh
cargo build --locked -q -p fio-devnet -p fio-inbox --bins
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
target/debug/fio-devnet --listen 127.0.0.1:0 --genesis bindings/genesis.json >"$work/devnet.log" 2>&1 &
target/debug/fio-inbox --listen 127.0.0.1:0 --database "$work/relay.sqlite" --no-rate-limits >"$work/relay.log" 2>&1 &
listening() {
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$1" | head -1)
    [ -n "$addr" ] && { echo "http://$addr"; return; }
    sleep 0.1
  done
  cat "$1" >&2; return 1
}
FIO_TEST_DEVNET=$(listening "$work/devnet.log")
FIO_TEST_RELAY=$(listening "$work/relay.log")
export FIO_TEST_DEVNET FIO_TEST_RELAY
export FIO_TEST_CHAIN_ID=cf057bbfb72640471fd910bcb67639c22df9f92470936cddc1ade0e2f2e7dc4f
swift test --package-path ios
