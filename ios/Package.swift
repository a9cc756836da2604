// swift-tools-version:6.0
// fio-peer for iOS: the generated Swift bindings (Sources/FioPeer/FioPeer.swift,
// beside the hand-written Swift in Sources/FioPeer) over the Rust library.
// Swift 6 language mode: strict concurrency for the library and its tests.
//
// Where the Rust library comes from, in this order:
// - a release: `releaseURL`/`releaseChecksum` below, written by
//   scripts/release.sh for the tagged commit (the zipped XCFramework that
//   build-xcframework.sh makes, and its `swift package compute-checksum`);
// - Linux (CI's Swift root, bindings/swift/test.sh): the generated C header
//   as a system library, linked to libfio_peer.so in FIO_PEER_LIB_DIR;
// - development on macOS: FioPeerFFI.xcframework from build-xcframework.sh.
// Neither the XCFramework nor the generated Swift is committed.
import PackageDescription

let releaseURL: String? = nil
let releaseChecksum: String? = nil

let ffi: Target
var linkerSettings: [LinkerSetting] = []
if let url = releaseURL, let checksum = releaseChecksum {
    ffi = .binaryTarget(name: "FioPeerFFI", url: url, checksum: checksum)
} else if let dir = Context.environment["FIO_PEER_LIB_DIR"] {
    ffi = .systemLibrary(name: "FioPeerFFI", path: "FioPeerFFI")
    linkerSettings = [.unsafeFlags(["-L", dir, "-Xlinker", "-rpath", "-Xlinker", dir])]
} else {
    ffi = .binaryTarget(name: "FioPeerFFI", path: "FioPeerFFI.xcframework")
}

let package = Package(
    name: "FioPeer",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "FioPeer", targets: ["FioPeer"]),
    ],
    targets: [
        ffi,
        .target(name: "FioPeer", dependencies: ["FioPeerFFI"], path: "Sources/FioPeer",
                linkerSettings: linkerSettings),
        .testTarget(name: "FioPeerTests", dependencies: ["FioPeer"], path: "Tests/FioPeerTests",
                    linkerSettings: linkerSettings),
    ],
    swiftLanguageModes: [.v6]
)
