// swift-tools-version:5.9
// The Swift package that scripts/mobile-package.sh lays out on macOS (target/mobile/swift):
// the generated Swift API over the PolysocketFFI XCFramework (the Rust library for iOS and
// the iOS simulator, with its C header and module map).
import PackageDescription

let package = Package(
    name: "Polysocket",
    platforms: [.iOS(.v13), .macOS(.v10_15)],
    products: [.library(name: "Polysocket", targets: ["Polysocket"])],
    targets: [
        .binaryTarget(name: "PolysocketFFI", path: "PolysocketFFI.xcframework"),
        .target(name: "Polysocket", dependencies: ["PolysocketFFI"], path: "Sources/Polysocket"),
    ]
)
