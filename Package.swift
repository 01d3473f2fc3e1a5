// swift-tools-version:6.1
import PackageDescription
import class Foundation.ProcessInfo

/// Benchmark targets (ordo-one/benchmark) build only when asked, so that CI and `swift test` stay lean:
/// `HINDSIGHT_BENCHMARKS=1 swift package benchmark`.
let withBenchmarks = ProcessInfo.processInfo.environment["HINDSIGHT_BENCHMARKS"] != nil

let package = Package(
    name: "Hindsight",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "Distance", targets: ["Distance"]),
        .library(name: "VectorIndex", targets: ["VectorIndex"]),
        .library(name: "TradingMemory", targets: ["TradingMemory"]),
        .library(name: "AgentMemory", targets: ["AgentMemory"]),
        .library(name: "Embedding", targets: ["Embedding"]),
        .library(name: "Server", targets: ["Server"]),
        .executable(name: "hindsight", targets: ["hindsight"]),
        /// libHindsightC.so: the C API of Sources/HindsightC/include/hindsight.h (the Python package loads it).
        .library(name: "HindsightC", type: .dynamic, targets: ["HindsightC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(name: "Dispatching"),
        .target(name: "LMDB", dependencies: ["CLMDB", "Dispatching"]),
        .target(name: "CDistance"),
        .target(name: "Distance", dependencies: ["CDistance"]),
        .target(name: "VectorIndex", dependencies: ["LMDB", "Distance", "CDistance"]),
        .target(name: "FastJSON"),
        .target(name: "Lexical"),
        .target(name: "TradingMemory", dependencies: ["VectorIndex", "LMDB", "FastJSON", "Distance", "Lexical"]),
        .target(name: "CTransformer"),
        .target(name: "Embedding", dependencies: ["CTransformer", "FastJSON", "Dispatching"]),
        // HTTP embedding clients (URLSession, hence libcurl), apart so that the in-process library needs neither.
        .target(name: "RemoteEmbedding", dependencies: ["Embedding"]),
        .target(name: "WireFormat", dependencies: ["TradingMemory", "VectorIndex", "FastJSON", "Distance"]),
        .target(name: "DecisionLog", dependencies: ["TradingMemory", "WireFormat"]),
        .target(name: "AgentMemory", dependencies: ["TradingMemory", "Dispatching", "VectorIndex", "Embedding", "WireFormat", "FastJSON"]),
        .target(name: "MemoryAPI", dependencies: ["TradingMemory", "Dispatching", "VectorIndex", "Embedding", "WireFormat", "FastJSON"]),
        .target(name: "HindsightC", dependencies: ["MemoryAPI", "TradingMemory", "Embedding", "LMDB", "FastJSON", "WireFormat"],
                exclude: ["include"]),
        .target(name: "Server", dependencies: ["MemoryAPI", "TradingMemory", "Dispatching", "VectorIndex", "Embedding", "WireFormat", "FastJSON",
                                               .product(name: "Hummingbird", package: "hummingbird"),
                                               .product(name: "Logging", package: "swift-log")]),
        .target(name: "Datasets"),
        .target(name: "Benchmarking", dependencies: ["Datasets", "VectorIndex", "LMDB", "Distance",
                                                    .product(name: "Histogram", package: "hdrhistogram-swift")]),
        .executableTarget(name: "hindsight", dependencies: ["VectorIndex", "LMDB", "Benchmarking", "Datasets", "TradingMemory", "WireFormat", "AgentMemory", "DecisionLog", "Embedding", "RemoteEmbedding", "Server", "FastJSON",
                                                            .product(name: "Hummingbird", package: "hummingbird"),
                                                            .product(name: "Logging", package: "swift-log"),
                                                            .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "tools/hindsight"),
        .target(name: "TestSupport", dependencies: ["LMDB", "VectorIndex"], path: "Tests/TestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"]),
        .testTarget(name: "DistanceTests", dependencies: ["Distance", "TestSupport"]),
        .testTarget(name: "TradingMemoryTests", dependencies: ["TradingMemory", "WireFormat", "VectorIndex", "LMDB", "Lexical", "TestSupport"]),
        .testTarget(name: "AgentMemoryTests", dependencies: ["AgentMemory", "Embedding", "RemoteEmbedding", "TradingMemory", "TestSupport"]),
        .testTarget(name: "ServerTests", dependencies: ["Server", "MemoryAPI", "WireFormat", "AgentMemory", "TradingMemory", "Embedding", "LMDB", "TestSupport",
                                                        .product(name: "Hummingbird", package: "hummingbird"),
                                                        .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                        .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CLITests", dependencies: ["hindsight", "TestSupport", "Server", "TradingMemory", "LMDB",
                                                     .product(name: "Hummingbird", package: "hummingbird"),
                                                     .product(name: "HummingbirdTesting", package: "hummingbird")]),
        .testTarget(name: "DecisionLogTests", dependencies: ["DecisionLog", "TradingMemory", "TestSupport"]),
        .testTarget(name: "FastJSONTests", dependencies: ["FastJSON", "TestSupport"]),
        .testTarget(name: "EmbeddingTests", dependencies: ["Embedding", "RemoteEmbedding", "CTransformer", "TestSupport"],
                    exclude: ["Fixtures"]),  // read by path (#filePath), not bundled
        .testTarget(name: "VectorIndexTests", dependencies: ["VectorIndex", "LMDB", "Distance", "TestSupport"]),
    ]
)

if withBenchmarks {
    package.dependencies.append(.package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]))
    for (name, dependencies) in [("DistanceBenchmarks", ["Distance"]), ("IndexBenchmarks", ["VectorIndex", "LMDB"]),
                                 ("WireFormatBenchmarks", ["WireFormat", "TradingMemory", "FastJSON"])] {
        package.targets.append(.executableTarget(
            name: name,
            dependencies: dependencies.map { .target(name: $0) } + [.product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
    }
}

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
