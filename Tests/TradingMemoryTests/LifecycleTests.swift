import Foundation
import TestSupport
import Testing
import TradingMemory

@Suite struct LifecycleTests {
    @Test func duplicateIDsAreErrorsUnlessUpsert() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            let first = try store.add([memory(0, vector: axis(0), time: epoch2022, id: "decision-1")], to: "c")
            #expect(throws: TradingMemoryError.duplicateID("decision-1")) {
                try store.add([memory(1, vector: axis(1), time: epoch2022, id: "decision-1")], to: "c")
            }
            for upsert in [false, true] {  // a repeat inside one batch is its own error, upsert or not
                #expect(throws: TradingMemoryError.duplicateIDInBatch("twice")) {
                    try store.add([memory(1, vector: axis(1), time: epoch2022, id: "twice"), memory(2, vector: axis(2), time: epoch2022, id: "twice")],
                                  to: "c", upsert: upsert)
                }
            }
            #expect(try store.collection("c").count == 1)
            let replaced = try store.add([memory(5, vector: axis(5), time: epoch2022, id: "decision-1")], to: "c", upsert: true)
            #expect(replaced != first, "an upsert gets a new engine id; ids are never reused")
            #expect(try store.collection("c").count == 1)
            #expect(try store.memory(first[0], in: "c") == nil)
            let current = try #require(try store.memory(callerID: "decision-1", in: "c"))
            #expect(current.situation == "situation 5" && current.id == replaced[0])
            let found = try store.recall(RecallQuery(vector: axis(0), k: 5), in: "c")
            #expect(found.map(\.memory.id) == replaced, "the replaced memory is gone from the index")
        }
    }

    /// Replacing a collection's only memory (its tickers' only one too) leaves graphs that verify
    /// clean: the new memory becomes the entry point of graphs whose every node was deleted.
    @Test func upsertingTheOnlyMemoryKeepsGraphsValid() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            for round in 0..<3 {
                try store.add([memory(round, vector: axis(round), ticker: "600519.SH", time: epoch2022, id: "only")], to: "c", upsert: true)
                let report = try store.verify()
                #expect(report.clean, "round \(round): \(report.findings)")
                let found = try store.recall(RecallQuery(vector: axis(round), k: 1, ticker: "600519.SH", mode: .ticker, asOf: epoch2022), in: "c")
                #expect(found.map(\.memory.callerID) == ["only"] && found.first?.similarity ?? 0 > 0.99)
            }
            try store.delete([try #require(try store.memoryID(callerID: "only", in: "c"))], from: "c")
            try store.add([memory(9, vector: axis(3), time: epoch2022, id: "again")], to: "c")
            #expect(try store.verify().clean)
        }
    }

    @Test func dimensionMismatchAndBadVectorsLeaveTheCollectionUnchanged() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            try store.add([memory(0, vector: axis(0), ticker: "AAPL", time: epoch2022)], to: "c")
            let before = try store.collection("c")
            let error = #expect(throws: TradingMemoryError.self) {
                try store.add([memory(1, vector: axis(1), ticker: "MSFT", time: epoch2022),
                               memory(2, vector: [Float](repeating: 1, count: 9), time: epoch2022)], to: "c")
            }
            #expect(error == .dimensionMismatch(collection: "c", expected: 8, actual: 9))
            #expect(error?.description.contains("8") == true && error?.description.contains("9") == true)
            var nan = axis(3)
            nan[2] = .nan
            #expect(throws: TradingMemoryError.self) { try store.add([memory(3, vector: nan, time: epoch2022)], to: "c") }
            #expect(throws: TradingMemoryError.self) { try store.add([memory(4, vector: [Float](repeating: 0, count: 8), time: epoch2022)], to: "c") }
            #expect(throws: TradingMemoryError.self) { try store.add([memory(5, vector: axis(5), time: epoch2022, quality: 1.5)], to: "c") }
            #expect(try store.collection("c") == before)
            #expect(try store.memories(in: "c").count == 1)
            #expect(throws: TradingMemoryError.dimensionMismatch(collection: "c", expected: 8, actual: 3)) {
                try store.recall(RecallQuery(vector: [1, 2, 3], k: 1), in: "c")
            }
            #expect(throws: TradingMemoryError.unknownCollection("nope")) { try store.add([memory(6, vector: axis(6), time: epoch2022)], to: "nope") }
        }
    }

    @Test func pendingDecisionsAreInvisibleUntilResolved() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("trader", configuration: CollectionConfiguration(dimension: 8))
            try store.add([memory(0, vector: axis(0, tilt: 0.5), ticker: "AAPL", time: epoch2022)], to: "trader")
            let decisionTime = epoch2022.addingTimeInterval(10 * day)
            let pending = try store.recordDecision(memory(1, vector: axis(0), ticker: "AAPL", time: decisionTime, id: "AAPL@2022-01-11",
                                                          action: "SELL"), in: "trader")
            #expect(try store.collection("trader").pending == 1 && store.collection("trader").count == 1)
            #expect(try store.pendingDecisions(in: "trader").map(\.id) == [pending])
            for mode in [RecallMode.global, .ticker, .merged(tickerBoost: 2), .tickerThenGlobal(kTicker: 3, kGlobal: 3)] {
                let found = try store.recall(RecallQuery(vector: axis(0), k: 5, ticker: "AAPL", mode: mode), in: "trader")
                #expect(!found.contains { $0.memory.id == pending }, "\(mode)")
            }
            let resolvedAt = decisionTime.addingTimeInterval(5 * day)
            let resolved = try store.resolve(pending, in: "trader", outcome: -0.031, reflection: "Selling into strength was early.",
                                             knownAt: resolvedAt)
            #expect(resolved.status == .live && resolved.outcome == -0.031 && resolved.knownAt == resolvedAt)
            #expect(try store.pendingDecisions(in: "trader").isEmpty)
            let now = try store.recall(RecallQuery(vector: axis(0), k: 1, ticker: "AAPL", mode: .ticker), in: "trader")
            #expect(now.first?.memory.id == pending && now.first?.memory.reflection == "Selling into strength was early.")
            // As of a day before the outcome was known, the back-test must not see it.
            let before = try store.recall(RecallQuery(vector: axis(0), k: 5, asOf: resolvedAt.addingTimeInterval(-day)), in: "trader")
            #expect(!before.contains { $0.memory.id == pending })
            #expect(throws: TradingMemoryError.notPending(pending.description)) {
                try store.resolve(pending, in: "trader", outcome: 0, reflection: "again")
            }
        }
    }

    @Test func updateAndDeleteByIDAndFilter() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8))
            var batch: [NewMemory] = []
            for i in 0..<30 {
                batch.append(memory(i, vector: axis(i, tilt: 0.3), ticker: ["AAPL", "MSFT", "TSLA"][i % 3],
                                    time: epoch2022.addingTimeInterval(Double(i) * day), id: "m\(i)", metadata: ["regime": .string(i < 15 ? "bull" : "bear")]))
            }
            let ids = try store.add(batch, to: "c")
            let updated = try store.update(ids[0], in: "c", MemoryUpdate(reflection: "revised", outcome: 0.12, quality: 0.9,
                                                                         metadata: ["reviewed": .bool(true)]))
            #expect(updated.reflection == "revised" && updated.outcome == 0.12 && updated.metadata["reviewed"] == .bool(true)
                    && updated.metadata["regime"] == .string("bull"))
            #expect(try store.delete([ids[1], ids[1], MemoryID(rawValue: 999)], from: "c") == 1)
            #expect(try store.delete(matching: MemoryFilter(tickers: ["TSLA"]), from: "c") == 10)
            #expect(try store.delete(matching: MemoryFilter(timeBefore: epoch2022.addingTimeInterval(6 * day)), from: "c") == 3)
            let info = try store.collection("c")
            #expect(info.count == 16)
            #expect(info.tickers["TSLA"] == 0)
            let remaining = try store.memories(in: "c")
            #expect(remaining.allSatisfy { $0.ticker != "TSLA" && $0.time >= epoch2022.addingTimeInterval(6 * day) })
            let found = try store.recall(RecallQuery(vector: axis(2, tilt: 0.3), k: 30), in: "c")
            #expect(Set(found.map(\.memory.id)) == Set(remaining.map(\.id)))
            let bears = try store.recall(RecallQuery(vector: axis(2), k: 30, filter: MemoryFilter(metadata: [MetadataCondition(key: "regime", .equal, .string("bear"))])), in: "c")
            #expect(!bears.isEmpty && bears.allSatisfy { $0.memory.metadata["regime"] == .string("bear") })
        }
    }

    @Test(arguments: [EvictionOrder.oldestFirst, .lowestScore])
    func capacityEvictsInOrderInTheSameTransaction(order: EvictionOrder) throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, capacity: CapacityPolicy(maxMemories: 5, maxPerTicker: 3, eviction: order)))
            // Qualities make the lowest-score order differ from the time order.
            let qualities = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6]
            for i in 0..<7 {
                try store.add([memory(i, vector: axis(i), ticker: i < 4 ? "AAPL" : "T\(i)", time: epoch2022.addingTimeInterval(Double(i) * day),
                                      id: "m\(i)", quality: qualities[i])], to: "c")
            }
            let kept = Set(try store.memories(in: "c").compactMap(\.callerID))
            switch order {
            case .oldestFirst:
                // AAPL held m0..m3; the fourth evicted m0. Then the collection bound 5 evicts m1 (oldest live).
                #expect(kept == ["m2", "m3", "m4", "m5", "m6"])
            case .lowestScore:
                // AAPL: m1 (0.1) goes when m3 arrives. Then the five best of the rest: m0 .9, m2 .8, m4 .7, m6 .6, m5 .3 — m3 (0.2) goes.
                #expect(kept == ["m0", "m2", "m4", "m5", "m6"])
            }
            #expect(try store.collection("c").count == 5)
            #expect(try store.recall(RecallQuery(vector: axis(1), k: 10), in: "c").count == 5)
        }
    }

    @Test func maxAgeEvictsRelativeToTheNewestMemory() throws {
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, capacity: CapacityPolicy(maxAgeSeconds: 100 * day)))
            try store.add((0..<5).map { memory($0, vector: axis($0), time: epoch2022.addingTimeInterval(Double($0) * 40 * day), id: "m\($0)") }, to: "c")
            // Newest is day 160; day 60 or later stays.
            #expect(Set(try store.memories(in: "c").compactMap(\.callerID)) == ["m2", "m3", "m4"])
        }
    }
}
