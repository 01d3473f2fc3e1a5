import Foundation
import TestSupport
import Testing
import TradingMemory
import VectorIndex
import WireFormat

/// Memories of different kinds decaying each their own way (FinMem's horizons): news fast, annual
/// reports slowly, everything else with the collection's decay.
@Suite struct MemoryKindTests {
    @Test func eachKindDecaysItsOwnWayAndRecallMatchesBruteForce() throws {
        try withTemporaryMemoryStore { store, _ throws in
            let byKind: [String: DecayFunction] = ["news": .halfLife(14 * day), "annual": .halfLife(365 * day),
                                                   "quarterly": DecayFunction(shape: .gauss, scale: 90 * day, midpoint: 0.5, calendar: "XNYS")]
            let fallback = DecayFunction.halfLife(60 * day)
            try store.createCollection("research", configuration: CollectionConfiguration(dimension: 16, decay: fallback, kindDecay: byKind))
            var rng = SplitMix64(seed: 31)
            let vectors = clusteredVectors(count: 530, dimension: 16, clusters: 6, noise: 0.6, seed: 9)
            let kinds: [String?] = ["news", "annual", "quarterly", nil, "reflection"]  // reflection has no decay of its own here
            let batch = (0..<500).map { i -> NewMemory in
                let time = epoch2022.addingTimeInterval(Double.random(in: 0..<(2 * 365), using: &rng) * day)
                var memory = memory(i, vector: vectors[i], ticker: ["NVDA", "600519.SH"][i % 2], time: time, knownAt: time)
                memory.kind = kinds[i % kinds.count]
                return memory
            }
            let ids = try store.add(batch, to: "research")
            #expect(try store.memory(ids[0], in: "research")?.kind == "news" && store.memory(ids[3], in: "research")?.kind == nil)
            for q in 0..<30 {
                let asOf = epoch2022.addingTimeInterval(Double.random(in: 30..<(2 * 365 + 30), using: &rng) * day)
                let results = try store.recall(RecallQuery(vector: vectors[500 + q], k: 8, mode: .global, asOf: asOf, ef: 500), in: "research")
                var expected: [(id: MemoryID, score: Double)] = zip(ids, batch).compactMap { id, memory in
                    guard memory.time <= asOf else { return nil }
                    let decay = memory.kind.flatMap { byKind[$0] } ?? fallback
                    let age = decay.calendar == nil ? asOf.timeIntervalSince(memory.time)
                        : Double(MarketCalendar.named("XNYS")!.sessions(fromMs: Int64(memory.time.timeIntervalSince1970 * 1000),
                                                                        toMs: Int64(asOf.timeIntervalSince1970 * 1000))) * day
                    return (id, referenceCosine(vectors[500 + q], memory.vector) * decay.factor(age: age))
                }
                expected.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
                #expect(results.count == min(8, expected.count))
                for (result, truth) in zip(results, expected.prefix(8)) {
                    #expect(abs(result.score - truth.score) < 1e-4, "q\(q): \(result.score) vs \(truth.score)")
                }
                // A query's own decay applies to every kind.
                let flat = try store.recall(RecallQuery(vector: vectors[500 + q], k: 3, mode: .global, asOf: asOf, decay: DecayFunction.none, ef: 500), in: "research")
                #expect(flat.allSatisfy { abs($0.score - Double($0.similarity)) < 1e-6 })
            }
            #expect(try store.verify().clean)
        }
    }

    @Test func kindsTravelOnTheWireAndBadOnesAreRefused() throws {
        // The FinMem preset: e^(-days/Q) with Q = 14, 90, 365.
        let settings = try JSONDecoder().decode(WireCollectionSettings.self, from: Data(#"{"dimension": 4, "kind_decay": "finmem"}"#.utf8))
        let configuration = try settings.configuration()
        let news = try #require(configuration.kindDecay?["news"])
        #expect(abs(news.factor(age: 14 * day) - Foundation.exp(-1)) < 1e-12 && abs(configuration.kindDecay!["annual"]!.factor(age: 365 * day) - Foundation.exp(-1)) < 1e-12)
        #expect(Set(configuration.kindDecay!.keys) == ["news", "quarterly", "annual", "reflection"])
        for bad in [#"{"dimension": 4, "kind_decay": "fastest"}"#, #"{"dimension": 4, "kind_decay": {"news": {"shape": "exp"}}}"#,
                    #"{"dimension": 4, "kind_decay": {"news": {"half_life": "1d", "calendar": "XMARS"}}}"#] {
            #expect(throws: (any Error).self) {
                try JSONDecoder().decode(WireCollectionSettings.self, from: Data(bad.utf8)).configuration()
            }
        }
        try withTemporaryMemoryStore { store, _ throws in
            try store.createCollection("c", configuration: configuration)
            let record = try JSONDecoder().decode(WireNewMemory.self, from: Data(
                #"{"id": "n1", "situation": "Fed hikes", "reflection": "sell banks", "time": "2025-01-02", "kind": "news", "vector": [1, 0, 0, 0]}"#.utf8))
            try store.add([record.newMemory(vector: record.vector!)], to: "c")
            let stored = try #require(try store.memory(callerID: "n1", in: "c"))
            #expect(stored.kind == "news")
            #expect(WireMemory(stored).kind == "news" && WireMemory(stored).memory.kind == "news")
            for bad in ["", "news letter", String(repeating: "k", count: 33)] {
                var memory = memory(1, vector: [0, 1, 0, 0], time: epoch2022)
                memory.kind = bad
                #expect(throws: TradingMemoryError.self) { try store.add([memory], to: "c") }
            }
            #expect(try store.collection("c").count == 1)
            #expect(try store.verify().clean)
        }
    }
}
