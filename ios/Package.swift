// swift-tools-version:5.9
// fio-peer for iOS: the generated Swift bindings (Sources/FioPeer) over the
// Rust library packed as an XCFramework (FioPeerFFI.xcframework). Both are
// made by build-xcframework.sh; neither is committed.
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
