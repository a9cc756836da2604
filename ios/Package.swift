// swift-tools-version:5.9
// fio-peer for iOS: the generated Swift bindings (Sources/FioPeer/FioPeer.swift,
// beside the hand-written FioWallet+Cancellation.swift) over the Rust library
// packed as an XCFramework (FioPeerFFI.xcframework). build-xcframework.sh makes
// both; neither is committed.
import PackageDescription

let package = Package(
    name: "FioPeer",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "FioPeer", targets: ["FioPeer"]),
    ],
    targets: [
        .binaryTarget(name: "FioPeerFFI", path: "FioPeerFFI.xcframework"),
        .target(name: "FioPeer", dependencies: ["FioPeerFFI"], path: "Sources/FioPeer"),
        .testTarget(name: "FioPeerTests", dependencies: ["FioPeer"], path: "Tests/FioPeerTests"),
    ]
)
