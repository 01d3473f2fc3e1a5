import Foundation
import LMDB
import TestSupport
import Testing
@testable import VectorIndex

/// Graphs whose search walks int8 or bf16 copies of the vectors and re-ranks with the float32 ones.
@Suite struct CompressedWalkTests {
    static let data = clusteredVectors(count: 6_200, dimension: 96, clusters: 60, seed: 1_818)
    static let base = Array(data.prefix(6_000))
    static let queries = Array(data.suffix(200))

    /// The same seed builds the same graph for every walk (construction uses float32).
    func build(_ store: IndexStore, walk: WalkPrecision) throws -> GraphID {
        try buildGraph(store, vectors: Self.base, parameters: GraphParameters(m: 12, efConstruction: 80, walk: walk)).1
    }

    static let compressed: [WalkPrecision] = [.int8, .bf16]

    @Test(arguments: compressed)
    func recallPerEfStaysCloseToTheFloatWalkOnTheSameGraph(walk: WalkPrecision) throws {
        try withTemporaryStore { store, _ in
            let f32 = try build(store, walk: .f32)
            let graph = try build(store, walk: walk)
            #expect(try store.read { try $0.graph(graph).parameters.walk } == walk)
            for ef in [10, 16, 32, 64] {
                let exact = try meanRecall(store, graph: f32, base: Self.base, queries: Self.queries, k: 10, ef: ef)
                let compressed = try meanRecall(store, graph: graph, base: Self.base, queries: Self.queries, k: 10, ef: ef)
                // 200 queries × 10 neighbours: 0.01 is 20 neighbours in 2,000.
                #expect(compressed >= exact - 0.01, "ef \(ef): \(walk) \(compressed), f32 \(exact)")
            }
            #expect(try store.read { try $0.invariantViolations(of: graph) } == [])
        }
    }

    @Test(arguments: compressed)
    func returnedSimilaritiesAreExactFloatCosines(walk: WalkPrecision) throws {
        try withTemporaryStore { store, _ in
            let graph = try build(store, walk: walk)
            try store.read { reader in
                let space = try reader.graph(graph).space
                for query in Self.queries.prefix(50) {
                    let found = try reader.search(graph, query: query, k: 10, options: SearchOptions(ef: 24, strategy: .graph))
                    #expect(found.count == 10)
                    let unit = normalizedCopy(query)
                    for neighbor in found {
                        let stored = try #require(try reader.vector(neighbor.id, in: space))
                        let cosine = zip(unit, stored).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                        #expect(abs(neighbor.similarity - cosine) <= 1e-5, "\(neighbor.similarity) vs \(cosine)")
                    }
                    #expect(zip(found, found.dropFirst()).allSatisfy { $0.similarity >= $1.similarity }, "sorted by exact similarity")
                }
            }
        }
    }

    @Test func aSmallEfStillReranksTwiceKCandidates() throws {
        // With ef = k the ef list alone would leave the estimate's order; the displaced nodes come back.
        try withTemporaryStore { store, _ in
            let f32 = try build(store, walk: .f32)
            let int8 = try build(store, walk: .int8)
            let exact = try meanRecall(store, graph: f32, base: Self.base, queries: Self.queries, k: 10, ef: 10)
            let compressed = try meanRecall(store, graph: int8, base: Self.base, queries: Self.queries, k: 10, ef: 10)
            #expect(compressed >= exact - 0.01, "ef 10: int8 \(compressed), f32 \(exact)")
        }
    }

    @Test(arguments: compressed)
    func tamperedCodesAreFoundByTheInvariants(walk: WalkPrecision) throws {
        try withTemporaryStore { store, _ in
            let graph = try build(store, walk: walk)
            try store.write { writer in
                let view = try writer.graphView(graph)
                let codes = view.nodes.mutableElement(17) + 4
                codes.storeBytes(of: codes.load(as: UInt8.self) &+ 1, as: UInt8.self)
                view.isDirty = true
            }
            let findings = try store.read { try $0.invariantViolations(of: graph) }
            #expect(findings == ["the compressed copy of node 17 is not the encoding of vector 17"])
        }
    }

    @Test func withoutVNNIThePortableSumsGiveTheSameAnswers() async throws {
        // Integer sums are exact on every kernel, so the walk, and the answers, are identical.
        try await withTemporaryDirectory { path in
            let store = try IndexStore(path: path + "/db", options: EnvironmentOptions(durability: .none))
            let graph = try build(store, walk: .int8)
            let answers = try store.read { reader in
                try Self.queries.prefix(40).map { try reader.search(graph, query: $0, k: 10, options: SearchOptions(ef: 20, strategy: .graph)) }
            }
            store.close()
            let expected = answers.map { $0.map { "\($0.id.rawValue):\($0.similarity.bitPattern)" }.joined(separator: ",") }.joined(separator: "\n")
            try expected.write(toFile: path + "/expected.txt", atomically: true, encoding: .utf8)
            await #expect(processExitsWith: .success) { [path = path as String] in
                setenv("HINDSIGHT_DISABLE_VNNI", "1", 1)
                do {
                    let store = try IndexStore(path: path + "/db", options: EnvironmentOptions(readOnly: true))
                    let got = try store.read { reader in
                        try CompressedWalkTests.queries.prefix(40).map {
                            try reader.search(GraphID(rawValue: 1), query: $0, k: 10, options: SearchOptions(ef: 20, strategy: .graph))
                        }
                    }.map { $0.map { "\($0.id.rawValue):\($0.similarity.bitPattern)" }.joined(separator: ",") }.joined(separator: "\n")
                    guard got == (try String(contentsOfFile: path + "/expected.txt", encoding: .utf8)) else {
                        FileHandle.standardError.write(Data("answers differ without VNNI\n".utf8))
                        exit(1)
                    }
                } catch {
                    FileHandle.standardError.write(Data("\(error)\n".utf8))
                    exit(2)
                }
            }
        }
    }

    @Test func graphHeadersRecordTheWalk() throws {
        var header = GraphHeader(space: SpaceID(rawValue: 1), dimension: 96, parameters: GraphParameters(m: 12, efConstruction: 80, walk: .int8),
                                 pageSize: 4096)
        header.nodeCount = 3
        header.live = 3
        header.entryPoint = 0
        header.maxLevel = 0
        #expect(header.walkCodeBytes == 100 && header.nodeBytes == 104)
        let bytes = header.encoded()
        #expect(try bytes.withUnsafeBytes { try GraphHeader(decoding: $0, id: GraphID(rawValue: 2)) } == header)
        let bf16 = GraphHeader(space: SpaceID(rawValue: 1), dimension: 96, parameters: GraphParameters(m: 12, efConstruction: 80, walk: .bf16),
                           pageSize: 4096)
        #expect(bf16.walkCodeBytes == 192 && bf16.nodeBytes == 196)
        #expect(try bf16.encoded().withUnsafeBytes { try GraphHeader(decoding: $0, id: GraphID(rawValue: 2)) } == bf16)
        // An unknown walk code, or a code size that does not fit the precision, is corruption.
        var unknown = bytes
        unknown[unknown.count - 5] = 9
        #expect(throws: IndexError.self) { try unknown.withUnsafeBytes { try GraphHeader(decoding: $0, id: GraphID(rawValue: 2)) } }
        try withTemporaryStore { store, _ in
            let graph = try build(store, walk: .int8)
            // The header's code size must match the space's dimension.
            try store.write { writer in
                var bad = try writer.graphView(graph).header
                bad.walkCodeBytes = 50
                try writer.transaction.put(bad.encoded(), for: Key(graph.rawValue), in: store.databases.graphs)
            }
            #expect(throws: IndexError.self) { try store.read { try $0.graph(graph) } }
        }
    }

    @Test func aVersionOneDatabaseIsMarkedVersionTwoByItsFirstCompressedGraph() throws {
        try withTemporaryStore { store, _ in
            #expect(try store.formatVersion() == 2)
            // As a version-1 database: float32 graphs keep the version, an int8 graph raises it.
            try store.write { writer in try writer.transaction.put(integer: UInt32(1), for: "format-version", in: store.databases.meta) }
            let space = try store.write { writer in try writer.createSpace(dimension: 8) }
            _ = try store.write { writer in try writer.createGraph(in: space, parameters: GraphParameters(walk: .f32)) }
            #expect(try store.formatVersion() == 1)
            _ = try store.write { writer in try writer.createGraph(in: space, parameters: GraphParameters(walk: .int8)) }
            #expect(try store.formatVersion() == 2)
        }
    }

    @Test func oldSettingsWithoutAWalkDecodeAsFloat() throws {
        let old = #"{"m":16,"efConstruction":200,"seed":7}"#
        let decoded = try JSONDecoder().decode(GraphParameters.self, from: Data(old.utf8))
        #expect(decoded == GraphParameters(m: 16, efConstruction: 200, seed: 7, walk: .f32))
        let roundTrip = try JSONDecoder().decode(GraphParameters.self, from: JSONEncoder().encode(GraphParameters(walk: .int8)))
        #expect(roundTrip.walk == .int8)
    }
}

private func normalizedCopy(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return vector.map { $0 / norm }
}
