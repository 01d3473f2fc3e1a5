import Foundation
import LMDB
import TestSupport
import Testing
@testable import TradingMemory
import WireFormat
import VectorIndex

/// `count` memories over 20 tickers; returns their vectors followed by 50 query vectors from the same clusters.
private func populate(_ store: TradingMemoryStore, count: Int, dimension: Int = 32, seed: UInt64 = 9, batch: Int = 1_000) throws -> [[Float]] {
    try store.createCollection("mem", configuration: CollectionConfiguration(dimension: dimension, index: GraphParameters(m: 12, efConstruction: 60)))
    let vectors = clusteredVectors(count: count + 50, dimension: dimension, clusters: 30, noise: 0.3, seed: seed)
    for start in stride(from: 0, to: count, by: batch) {
        try store.add((start..<min(start + batch, count)).map { i in
            memory(i, vector: vectors[i], ticker: "T\(i % 20)", time: epoch2022.addingTimeInterval(Double(i) * 600), id: "m\(i)",
                   outcome: Double(i % 7) / 100, metadata: ["n": .number(Double(i)), "text": .string("é\"\n\(i)")])
        }, to: "mem")
    }
    return vectors
}

@Suite struct MaintenanceTests {
    @Test func verifyIsCleanAndFindsDamage() throws {
        try withTemporaryMemoryStore { store, _ throws in
            _ = try populate(store, count: 600)
            try store.recordDecision(memory(9_999, vector: axis(3, dimension: 32), ticker: "T1", time: epoch2022, id: "pending-1"), in: "mem")
            try store.delete(matching: MemoryFilter(tickers: ["T3"]), from: "mem")
            let clean = try store.verify()
            #expect(clean.clean, "\(clean.findings)")
            #expect(clean.memories == 571 && clean.graphs == 21)
            // Damage the time index and a caller id behind the store's back.
            let env = store.index.environment
            let time = try env.openDatabase(named: "memory-time", create: false)
            let callers = try env.openDatabase(named: "caller-ids", create: false)
            try env.write { txn in
                var removed = false
                try txn.withCursor(on: time) { cursor in
                    if try cursor.first() { try cursor.deleteCurrent(); removed = true }
                }
                #expect(removed)
                try txn.put(withUnsafeBytes(of: UInt32(123_456).littleEndian) { Array($0) }, for: Key(1).bytes + Array("ghost".utf8), in: callers)
            }
            let damaged = try store.verify()
            #expect(!damaged.clean)
            #expect(damaged.findings.contains { $0.check == "time-index" })
            #expect(damaged.findings.contains { $0.check == "caller-id" && $0.message.contains("ghost") })
        }
    }

    /// Serial (1) and batch-parallel (2 threads) rebuilds.
    @Test(arguments: [1, 2]) func rebuildWithNewParametersKeepsAnswers(threads: Int) throws {
        try withTemporaryMemoryStore { store, _ throws in
            let vectors = try populate(store, count: 2_500)
            let queries = Array(vectors.suffix(20))
            let before = try queries.map { try store.recall(RecallQuery(vector: $0, k: 5, ef: 200), in: "mem").map(\.memory.id) }
            let reports = try store.rebuild(collection: "mem", m: 20, efConstruction: 120, threads: threads)
            #expect(reports.first?.layers == 21 && reports.first?.memories == 2_500)
            let info = try store.collection("mem")
            #expect(info.configuration.index.m == 20 && info.configuration.index.efConstruction == 120)
            let after = try queries.map { try store.recall(RecallQuery(vector: $0, k: 5, ef: 200), in: "mem").map(\.memory.id) }
            let overlap = zip(before, after).map { Set($0).intersection($1).count }.reduce(0, +)
            #expect(Double(overlap) / Double(before.count * 5) >= 0.95)
            #expect(try store.verify().clean)
            let stats = try store.statistics()
            #expect(stats.collections[0].layers.allSatisfy { $0.m == 20 && $0.tombstones == 0 })
        }
    }

    @Test func compactionAfterDeletingHalfShrinksTheFileAndKeepsRecall() throws {
        try withTemporaryDirectory { path in
            let db = path + "/db"
            var vectors: [[Float]] = []
            var deleted = Set<Int>()
            do {
                let store = try TradingMemoryStore(path: db, options: EnvironmentOptions(durability: .none))
                vectors = try populate(store, count: 20_000, batch: 2_000)
                var rng = SplitMix64(seed: 77)
                deleted = Set((0..<20_000).shuffled(using: &rng).prefix(10_000))
                let ids = deleted.map { MemoryID(rawValue: UInt32($0)) }
                for start in stride(from: 0, to: ids.count, by: 2_000) { try store.delete(Array(ids[start..<start + 2_000]), from: "mem") }
                store.close()
            }
            let report = try TradingMemoryStore.compact(path: db)
            #expect(report.bytesAfter < report.bytesBefore, "\(report)")
            #expect(report.graphsRebuilt == 21 && report.vectorsKept == 10_000, "\(report)")
            print(String(format: "compaction after deleting 50%% of 20,000 memories (32-d): %d → %d bytes (%.1f%% smaller)",
                         report.bytesBefore, report.bytesAfter, 100 * Double(report.bytesBefore - report.bytesAfter) / Double(report.bytesBefore)))
            let store = try TradingMemoryStore(path: db)
            defer { store.close() }
            let verification = try store.verify()
            #expect(verification.clean, "\(verification.findings.prefix(5))")
            #expect(try store.collection("mem").count == 10_000)
            let remaining = (0..<20_000).filter { !deleted.contains($0) }
            var total = 0.0
            let queries = Array(vectors.suffix(50))
            let base = Array(vectors.prefix(20_000))
            for query in queries {
                let found = try store.recall(RecallQuery(vector: query, k: 10, decay: DecayFunction.none), in: "mem").map { Int($0.memory.id.rawValue) }
                let truth = bruteForceNearest(query, in: base, k: 10) { !deleted.contains($0) }
                total += recall(found, truth)
            }
            #expect(total / Double(queries.count) >= 0.95, "recall after compaction: \(total / Double(queries.count))")
            #expect(remaining.prefix(50).allSatisfy { (try? store.memory(MemoryID(rawValue: UInt32($0)), in: "mem")) != nil })
            // The stored vectors of kept memories are untouched by the sparse rewrite.
            let id = remaining[123]
            let stored = try store.index.read { try $0.vector(VectorID(id), in: SpaceID(rawValue: 1)) }
            #expect(stored.map { zip($0, unit(vectors[id])).allSatisfy { abs($0 - $1) < 1e-6 } } == true)
        }
    }

    @Test func compactionRefusesWhileAnotherWriterHasTheDatabase() throws {
        try withTemporaryDirectory { path in
            let store = try TradingMemoryStore(path: path + "/db")
            let error = #expect(throws: DatabaseLock.LockError.self) { try TradingMemoryStore.compact(path: path + "/db") }
            #expect(error?.description.contains("open for writing") == true)
            store.close()
            #expect(try TradingMemoryStore.compact(path: path + "/db").bytesAfter > 0)
        }
    }

    @Test func consolidationMergesNearDuplicatesOfATicker() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            try store.add([memory(0, vector: axis(0), ticker: "AAPL", time: epoch2022, id: "old", outcome: 0.09),
                           memory(1, vector: axis(0, tilt: 0.05), ticker: "AAPL", time: epoch2022.addingTimeInterval(day), id: "mid", outcome: -0.02),
                           memory(2, vector: axis(0, tilt: 0.1), ticker: "AAPL", time: epoch2022.addingTimeInterval(2 * day), id: "new", outcome: 0.01),
                           memory(3, vector: axis(0), ticker: "MSFT", time: epoch2022, id: "other-ticker"),
                           memory(4, vector: axis(4), ticker: "AAPL", time: epoch2022, id: "different")], to: "c")
            let dry = try store.consolidate(collection: "c", threshold: 0.97, dryRun: true)
            #expect(dry.groups.count == 1 && dry.removed == 2)
            #expect(try store.collection("c").count == 5)
            let done = try store.consolidate(collection: "c", threshold: 0.97, dryRun: false)
            #expect(done.removed == 2)
            let kept = try #require(try store.memory(callerID: "new", in: "c"))
            #expect(kept.reinforcements == 2 && kept.outcome == 0.09)
            #expect(Set(try store.memories(in: "c").compactMap(\.callerID)) == ["new", "other-ticker", "different"])
            #expect(try store.verify().clean)
        }
    }

    @Test func exportAndImportRoundTripEverything() throws {
        try withTemporaryDirectory { path in
            let first = try TradingMemoryStore(path: path + "/a", options: EnvironmentOptions(durability: .none))
            defer { first.close() }
            _ = try populate(first, count: 300)
            try first.createCollection("second", configuration: CollectionConfiguration(dimension: 8, embeddingModel: "m", decay: .halfLife(9 * day),
                                                                                         capacity: CapacityPolicy(maxMemories: 50, eviction: .lowestScore)))
            try first.add([memory(0, vector: axis(2, tilt: 0.3), time: epoch2022, knownAt: epoch2022.addingTimeInterval(0.123), quality: 0.25)], to: "second")
            try first.recordDecision(memory(1, vector: axis(5), ticker: "X", time: epoch2022, id: "pending"), in: "second")
            _ = try first.consolidate(collection: "mem", threshold: 0.5, dryRun: false)  // some reinforcements to carry over
            var exported = Data()
            let report = try JSONLines.export(first, write: { exported.append($0) })
            #expect(report.collections == 2)
            let second = try TradingMemoryStore(path: path + "/b", options: EnvironmentOptions(durability: .none))
            defer { second.close() }
            #expect(try JSONLines.importExport(exported, into: second, batch: 64).memories == report.memories)
            var again = Data()
            _ = try JSONLines.export(second, write: { again.append($0) })
            // Identical but for engine ids (reassigned densely) and the export time.
            func normalised(_ data: Data) -> [String] {
                String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst().map {
                    $0.replacingOccurrences(of: #""engine_id":\d+,"#, with: "", options: .regularExpression)
                }
            }
            #expect(normalised(exported) == normalised(again))
            #expect(try second.collection("second").configuration == first.collection("second").configuration)
            #expect(try second.collection("second").created == first.collection("second").created)
            #expect(try second.pendingDecisions(in: "second").map(\.callerID) == ["pending"])
            #expect(try second.verify().clean)
            #expect(throws: TradingMemoryError.collectionExists("mem")) { try JSONLines.importExport(exported, into: second) }
            #expect(throws: JSONLinesError.self) { try JSONLines.importExport(Data("{\"type\":\"nope\"}\n".utf8), into: second) }
        }
    }
}

/// Files of a directory and their bytes.
private func snapshot(_ path: String) -> [String: Data] {
    var files: [String: Data] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name != "lock.mdb" {
        files[name] = FileManager.default.contents(atPath: path + "/" + name)
    }
    return files
}

@Suite struct CorruptInputTests {
    private func makeDatabase(_ path: String) throws {
        let store = try TradingMemoryStore(path: path)
        try store.createCollection("c", configuration: CollectionConfiguration(dimension: 16))
        try store.add((0..<300).map { memory($0, vector: clusteredVectors(count: 1, dimension: 16, seed: UInt64($0))[0], ticker: "T\($0 % 3)",
                                             time: epoch2022, id: "m\($0)") }, to: "c")
        store.close()
    }

    @Test func truncatedDataFileIsAClearErrorAndNothingChanges() throws {
        try withTemporaryDirectory { path in
            try makeDatabase(path)
            let size = (try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as! Int)
            let handle = try #require(FileHandle(forWritingAtPath: path + "/data.mdb"))
            try handle.truncate(atOffset: UInt64(size / 2))
            try handle.close()
            let before = snapshot(path)
            let error = #expect(throws: IndexError.self) { try TradingMemoryStore(path: path) }
            #expect(error?.description.contains("truncated") == true)
            #expect(throws: IndexError.self) { try TradingMemoryStore(path: path, options: EnvironmentOptions(readOnly: true)) }
            #expect(snapshot(path) == before)
        }
    }

    @Test func bitFlipsInVectorsAndRecordsAreFoundByVerify() throws {
        try withTemporaryDirectory { path in
            try makeDatabase(path)
            var bytes = [UInt8](FileManager.default.contents(atPath: path + "/data.mdb")!)
            // The vector chunk: header "HSHK", space 1, chunk 0, 300 elements; flip a bit well inside its vectors.
            let magic: [UInt8] = [0x48, 0x53, 0x48, 0x4B]
            func isVectorChunk(_ offset: Int) -> Bool {
                Array(bytes[offset..<offset + 4]) == magic && bytes[offset + 4] == 1 && bytes[offset + 8] == 0 && bytes[offset + 12] == 0x2C && bytes[offset + 13] == 1
            }
            // LMDB keeps older copies of pages in free pages: damage every copy.
            let chunks = (0..<bytes.count - 16).filter(isVectorChunk)
            #expect(chunks.count >= 2, "the vector chunk and the attribute chunk")
            for chunk in chunks { bytes[chunk + 48 + 400] ^= 0x10 }
            // A record: flip a bit inside a situation text.
            let text = Array("situation 17\"".utf8)
            func isText(_ offset: Int) -> Bool { Array(bytes[offset..<offset + text.count]) == text }
            let records = (0..<bytes.count - text.count).filter(isText)
            #expect(!records.isEmpty)
            for record in records { bytes[record + 3] ^= 0x01 }
            try Data(bytes).write(to: URL(fileURLWithPath: path + "/data.mdb"))
            let store = try TradingMemoryStore(path: path, options: EnvironmentOptions(readOnly: true))
            defer { store.close() }
            let report = try store.verify()
            #expect(report.findings.contains { $0.check == "checksum" && $0.message.contains("vector chunk") }, "\(report.findings)")
            #expect(report.findings.contains { $0.check == "checksum" && $0.message.contains("attribute chunk") }, "\(report.findings)")
            #expect(report.findings.contains { $0.check == "record" && $0.message.contains("checksum") }, "\(report.findings)")
            let error = #expect(throws: TradingMemoryError.self) { try store.memory(callerID: "m17", in: "c") }
            #expect(error?.description.contains("checksum") == true)
        }
    }

    @Test func mapSizeLimitBelowTheFileIsAClearError() throws {
        try withTemporaryDirectory { path in
            try makeDatabase(path)
            let before = snapshot(path)
            let error = #expect(throws: (any Error).self) {
                try TradingMemoryStore(path: path, options: EnvironmentOptions(mapSizeBytes: 64 << 10, maxMapSizeBytes: 64 << 10))
            }
            #expect("\(error!)".contains("limit"))
            #expect(snapshot(path)["data.mdb"] == before["data.mdb"])
            // A small initial map is fine: it grows to the file.
            let store = try TradingMemoryStore(path: path, options: EnvironmentOptions(mapSizeBytes: 64 << 10))
            #expect(try store.collection("c").count == 300)
            store.close()
        }
    }
}

@Suite struct ReplaceCollectionTests {
    /// Replacing a collection swaps it whole in one transaction; a staging collection left by an
    /// interrupted run is cleared first.
    @Test func replacementIsWholeAndClearsAnInterruptedRun() throws {
        try withTemporaryMemoryStore { store, _ in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, embeddingModel: "old"))
            try store.add([memory(0, vector: axis(0), ticker: "AAPL", time: epoch2022, id: "a")], to: "c")
            try store.recordDecision(memory(1, vector: axis(1), ticker: "AAPL", time: epoch2022, id: "d"), in: "c")
            // What a killed run leaves: the staging collection, half full.
            let id = try store.read { reader, snapshot in try snapshot.collection("c", reader).id }
            try store.createCollection("replacing:\(id)", configuration: CollectionConfiguration(dimension: 4))
            let memories = [ImportedMemory(collection: "c", memory: memory(0, vector: [1, 0, 0, 0], ticker: "AAPL", time: epoch2022, id: "a"), status: .live),
                            ImportedMemory(collection: "c", memory: memory(1, vector: [0, 1, 0, 0], ticker: "AAPL", time: epoch2022, id: "d"), status: .pending)]
            let written = try store.replaceCollection("c", configuration: CollectionConfiguration(dimension: 4, embeddingModel: "new"), memories: memories)
            #expect(written == 2)
            #expect(try store.collections().map(\.name) == ["c"])
            let info = try store.collection("c")
            #expect(info.configuration.dimension == 4 && info.configuration.embeddingModel == "new" && info.count == 1 && info.pending == 1)
            #expect(try store.recall(RecallQuery(vector: [1, 0, 0, 0], k: 1, ticker: "AAPL", mode: .ticker, asOf: epoch2022), in: "c").first?.memory.callerID == "a")
            #expect(try store.verify().clean)
        }
    }
}
