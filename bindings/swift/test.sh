#!/usr/bin/env bash
# The Swift package (ios/) compiled and tested on Linux: Swift 6.0 in a
# Debian trixie root (scripts/swift-root.sh), the library and its XCTest
# suite in the Swift 6 language mode with warnings as errors, linked to the
# libfio_peer.so built on the host, against a devnet and a relay on loopback
# (the root shares the host's network). The README's Swift quick start is
# compiled into the test target and run. Run after bindings/build.sh.
# Prints "swift: N passed, M failed".
#
#   bindings/swift/test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/apt.sh
generated=bindings/generated/swift
lib=target/debug/libfio_peer.so
[ -f "$generated/FioPeer.swift" ] && [ -f "$lib" ] || { echo "run bindings/build.sh first" >&2; exit 1; }
root=$(scripts/swift-root.sh)
# The package is copied into the root, which sees only itself. Files whose
# bytes did not change keep their times, so SwiftPM rebuilds only what did.
pkg=/fio-peer
dest=$root$pkg
wanted=()
put() {  # put SOURCE PATH-IN-PACKAGE
  mkdir -p "$(dirname "$dest/$2")"
  cmp -s "$1" "$dest/$2" || cp "$1" "$dest/$2"
  wanted+=("$dest/$2")
}
put ios/Package.swift Package.swift
put ios/FioPeerFFI/module.modulemap FioPeerFFI/module.modulemap
put "$generated/FioPeerFFI.h" FioPeerFFI/FioPeerFFI.h
put "$generated/FioPeer.swift" Sources/FioPeer/FioPeer.swift
for f in ios/Sources/FioPeer/*.swift; do
  [ "$(basename "$f")" = FioPeer.swift ] || put "$f" "Sources/FioPeer/$(basename "$f")"
done
for f in ios/Tests/FioPeerTests/*.swift; do
  [ "$(basename "$f")" = Quickstart.swift ] || put "$f" "Tests/FioPeerTests/$(basename "$f")"
done
quick=$(mktemp)
bindings/snippet.py swift >"$quick"
put "$quick" Tests/FioPeerTests/Quickstart.swift
rm -f "$quick"
put "$lib" lib/libfio_peer.so
# Sources removed from ios/ leave the copy too.
find "$dest/Sources" "$dest/Tests" -type f | while read -r f; do
  printf '%s\n' "${wanted[@]}" | grep -qxF "$f" || rm -f "$f"
done

work=$(mktemp -d)
pids=()
mounted=0
finish() {
  [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ "$mounted" = 0 ] || as_root umount "$root/proc" || true
  rm -rf "$work"
}
trap finish EXIT
# Swift reads /proc (and the suite counts the library's threads there).
if ! mountpoint -q "$root/proc"; then as_root mount -t proc proc "$root/proc"; mounted=1; fi
source bindings/servers.sh
start_servers

swift() {
  as_root chroot "$root" env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    FIO_PEER_LIB_DIR=$pkg/lib FIO_TEST_CHAIN_ID="$FIO_TEST_CHAIN_ID" \
    FIO_TEST_DEVNET="$FIO_TEST_DEVNET" FIO_TEST_RELAY="$FIO_TEST_RELAY" \
    FIO_TEST_REFUSING="$FIO_TEST_REFUSING" \
    swift "$@" --package-path "$pkg"
}
out=$work/xctest.log
echo "compiling the Swift package and its tests ($(as_root chroot "$root" swift --version 2>/dev/null | head -1))" >&2
set +e
swift build --build-tests -Xswiftc -warnings-as-errors >&2
built=$?
if [ "$built" = 0 ]; then
  swift test --skip-build 2>&1 | tee "$out" >&2
  tested=${PIPESTATUS[0]}
fi
set -e
if [ "$built" != 0 ]; then
  echo "swift: 0 passed, 1 failed (the package did not compile)"
  exit 1
fi
python3 - "$out" "$tested" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
runs = re.findall(r"Test Case '.*' (passed|failed)", text)
passed, failed = runs.count("passed"), runs.count("failed")
if sys.argv[2] != "0" and failed == 0:
    failed = 1  # the runner itself failed (a crash ends it without a verdict)
print(f"swift: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
PY
