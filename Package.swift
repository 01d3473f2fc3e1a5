// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Hindsight",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "Distance", targets: ["Distance"]),
        .library(name: "VectorIndex", targets: ["VectorIndex"]),
        .executable(name: "hindsight", targets: ["hindsight"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        .target(name: "CDistance"),
        .target(name: "Distance", dependencies: ["CDistance"]),
        .target(name: "VectorIndex", dependencies: ["LMDB", "Distance"]),
        .target(name: "Datasets"),
        .target(name: "Benchmarking", dependencies: ["Datasets", "VectorIndex", "LMDB", "Distance",
                                                    .product(name: "Histogram", package: "hdrhistogram-swift")]),
        .executableTarget(name: "hindsight", dependencies: ["VectorIndex", "LMDB", "Benchmarking", "Datasets",
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "tools/hindsight"),
        .target(name: "TestSupport", dependencies: ["LMDB"], path: "Tests/TestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"]),
        .testTarget(name: "DistanceTests", dependencies: ["Distance", "TestSupport"]),
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex", "LMDB", "Distance", "TestSupport"]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
