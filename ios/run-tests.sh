#!/usr/bin/env bash
# Runs the XCTest suite (the Kotlin suite's story in Swift) against a devnet
# and a relay on loopback. macOS only: build-xcframework.sh first.
#
#   ios/run-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d ios/FioPeerFFI.xcframework ] || ios/build-xcframework.sh
# The README's Swift quick start is part of the test target.
bindings/snippet.py swift >ios/Tests/FioPeerTests/Quickstart.swift
cargo build --locked -q -p fio-devnet -p fio-inbox --bins
work=$(mktemp -d)
pids=()
trap '[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
source bindings/servers.sh
start_servers
swift test --package-path ios
