#!/usr/bin/env bash
# Builds FioPeerFFI.xcframework (device + simulator, plus macOS for `swift
# test`) from the size-optimised profile, and generates Sources/FioPeer/
# FioPeer.swift with the in-repo uniffi-bindgen; then zips the XCFramework
# for a release (target/ios/FioPeerFFI.xcframework.zip) and prints its
# SwiftPM checksum, which scripts/release.sh writes into Package.swift.
# Needs macOS with Xcode and rustup.
#
#   ios/build-xcframework.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname)" = Darwin ] || { echo "build-xcframework.sh needs macOS and Xcode" >&2; exit 1; }
profile=release-smaller
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo rustc --locked -p fio-peer --lib --features ffi --profile "$profile" --target "$t" --crate-type staticlib
done

work=target/ios
rm -rf "$work" && mkdir -p "$work/include" "$work/swift"
# The bindings come from an unstripped host build of the same code (uniffi
# reads its metadata from the symbol table).
cargo build --locked -p fio-peer --lib --features ffi
cargo run --locked -q -p fio-peer-uniffi-bindgen -- generate --library target/debug/libfio_peer.dylib \
  --language swift --out-dir "$work/swift" --no-format
[ -f "$work/swift/FioPeer.swift" ] || { echo "no Swift was generated" >&2; exit 1; }
cp "$work/swift/FioPeerFFI.h" "$work/include/"
# Clang finds the module by this name inside each slice's headers.
cp "$work/swift/FioPeerFFI.modulemap" "$work/include/module.modulemap"
mkdir -p ios/Sources/FioPeer
cp "$work/swift/FioPeer.swift" ios/Sources/FioPeer/FioPeer.swift

lib() { echo "target/$1/$profile/libfio_peer.a"; }
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/libfio_peer_sim.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/libfio_peer_macos.a"
rm -rf ios/FioPeerFFI.xcframework
xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$work/include" \
  -library "$work/libfio_peer_sim.a" -headers "$work/include" \
  -library "$work/libfio_peer_macos.a" -headers "$work/include" \
  -output ios/FioPeerFFI.xcframework
# The release asset: the framework at the zip's root, as SwiftPM expects.
zip=$work/FioPeerFFI.xcframework.zip
(cd ios && ditto -c -k --sequesterRsrc --keepParent FioPeerFFI.xcframework "../$zip")
swift package compute-checksum "$zip" >"$zip.checksum"
echo "ios/FioPeerFFI.xcframework and ios/Sources/FioPeer/FioPeer.swift are ready"
echo "release asset: $zip (checksum $(cat "$zip.checksum"))"
