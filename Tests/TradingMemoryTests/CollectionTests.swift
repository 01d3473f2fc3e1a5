import Foundation
import LMDB
import TestSupport
import Testing
import TradingMemory

@Suite struct CollectionTests {
    @Test func createListGetOrCreateAndDrop() throws {
        try withTemporaryMemoryStore { store, _ throws in
            let config = CollectionConfiguration(dimension: 8, embeddingModel: "test-model")
            let created = try store.createCollection("bull_memory", configuration: config)
            #expect(created.name == "bull_memory" && created.count == 0)
            #expect(throws: TradingMemoryError.collectionExists("bull_memory")) {
                try store.createCollection("bull_memory", configuration: config)
            }
            let again = try store.getOrCreateCollection("bull_memory", configuration: config)
            #expect(again.created == created.created)
            #expect(throws: TradingMemoryError.dimensionMismatch(collection: "bull_memory", expected: 8, actual: 16)) {
                try store.getOrCreateCollection("bull_memory", configuration: CollectionConfiguration(dimension: 16))
            }
            #expect(throws: TradingMemoryError.embeddingModelMismatch(collection: "bull_memory", expected: "test-model", actual: "other")) {
                try store.getOrCreateCollection("bull_memory", configuration: CollectionConfiguration(dimension: 8, embeddingModel: "other"))
            }
            try store.getOrCreateCollection("bear_memory", configuration: config)
            #expect(try store.collections().map(\.name) == ["bear_memory", "bull_memory"])
            try store.add([memory(0, vector: axis(0), ticker: "AAPL", time: epoch2022)], to: "bull_memory")
            try store.dropCollection("bull_memory")
            #expect(throws: TradingMemoryError.unknownCollection("bull_memory")) { try store.collection("bull_memory") }
            #expect(try store.collections().map(\.name) == ["bear_memory"])
            // A new collection of the same name starts empty.
            try store.createCollection("bull_memory", configuration: config)
            #expect(try store.collection("bull_memory").count == 0)
            #expect(try store.recall(RecallQuery(vector: axis(0), k: 5), in: "bull_memory").isEmpty)
        }
    }

    @Test func badNamesAndConfigurationsAreRefused() throws {
        try withTemporaryMemoryStore { store, _ throws in
            for name in ["", "has space", "slash/name", String(repeating: "x", count: 129)] {
                #expect(throws: TradingMemoryError.self) { try store.createCollection(name, configuration: CollectionConfiguration(dimension: 4)) }
            }
            #expect(throws: TradingMemoryError.self) { try store.createCollection("a", configuration: CollectionConfiguration(dimension: 0)) }
            #expect(throws: TradingMemoryError.self) {
                try store.createCollection("b", configuration: CollectionConfiguration(dimension: 4, decay: DecayFunction(shape: .exp, scale: 0)))
            }
            #expect(throws: TradingMemoryError.self) {
                try store.createCollection("c", configuration: CollectionConfiguration(dimension: 4, capacity: CapacityPolicy(maxMemories: 0)))
            }
            #expect(try store.collections().isEmpty)
        }
    }

    @Test func concurrentGetOrCreateFromTwoProcessesYieldsOneCollection() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hindsight-goc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Two children wait for a start file, then race to get-or-create the same collection and add one memory each.
        await withTaskGroup(of: Void.self) { group in
            for child in 0..<2 {
                group.addTask {
                    await #expect(processExitsWith: .success) { [directory = directory as String, child = child as Int] in
                        // The child's standard error goes to a file, so that a failure says why (a trap names its cause there).
                        dup2(open(directory + "/child-\(child).err", O_WRONLY | O_CREAT | O_TRUNC, 0o644), 2)
                        while !FileManager.default.fileExists(atPath: directory + "/start") { usleep(1_000) }
                        // An error thrown from an exit test stops the child with SIGILL and no message: say it first.
                        do {
                            let store = try TradingMemoryStore(path: directory + "/db")
                            for _ in 0..<20 {
                                try store.getOrCreateCollection("trader_memory", configuration: CollectionConfiguration(dimension: 8))
                            }
                            try store.add([memory(child, vector: axis(child), time: epoch2022, id: "from-\(child)")], to: "trader_memory")
                            store.close()
                        } catch {
                            FileHandle.standardError.write(Data("child \(child): \(error)\n".utf8))
                            exit(1)
                        }
                    }
                }
            }
            usleep(200_000)
            _ = FileManager.default.createFile(atPath: directory + "/start", contents: nil)
        }
        for child in 0..<2 {
            let said = (try? String(contentsOfFile: directory + "/child-\(child).err", encoding: .utf8)) ?? ""
            #expect(said.isEmpty, "child \(child) said: \(said.suffix(2_000))")
        }
        let store = try TradingMemoryStore(path: directory + "/db")
        defer { store.close() }
        let collections = try store.collections()
        #expect(collections.map(\.name) == ["trader_memory"])
        #expect(collections.first?.count == 2)
        #expect(try store.memory(callerID: "from-0", in: "trader_memory") != nil)
        #expect(try store.memory(callerID: "from-1", in: "trader_memory") != nil)
    }

    @Test func memoriesSurviveReopen() throws {
        try withTemporaryDirectory { path in
            do {
                let store = try TradingMemoryStore(path: path)
                try store.createCollection("risk_manager_memory", configuration: CollectionConfiguration(dimension: 8, decay: .halfLife(30 * day)))
                try store.add([memory(1, vector: axis(1), ticker: "NVDA", time: epoch2022, id: "m1", outcome: 0.05)], to: "risk_manager_memory")
                store.close()
            }
            let store = try TradingMemoryStore(path: path)
            defer { store.close() }
            let info = try store.collection("risk_manager_memory")
            #expect(info.count == 1 && info.tickers == ["NVDA": 1] && info.configuration.decay == .halfLife(30 * day))
            let results = try store.recall(RecallQuery(vector: axis(1), k: 1, ticker: "NVDA", mode: .ticker), in: "risk_manager_memory")
            #expect(results.first?.memory.callerID == "m1" && results.first?.memory.outcome == 0.05)
        }
    }
}
