import Foundation
import LMDB
import TestSupport
import Testing
@testable import TradingMemory
import VectorIndex
import WireFormat

@Suite struct TimeBoundsTests {
    /// Years 1 and 9999 are accepted and survive an export and an import; beyond them the Swift API
    /// refuses, naming the field.
    @Test func extremeYearsRoundTripAndBeyondThemIsRefused() throws {
        try withTemporaryMemoryStore { store, path in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, decay: .halfLife(30 * day)))
            let first = try #require(WireTime.parse("0001-01-01")), last = try #require(WireTime.parse("9999-12-31T23:59:59.999Z"))
            try store.add([memory(0, vector: axis(0), time: first, id: "first"), memory(1, vector: axis(1), time: first, knownAt: last, id: "last")], to: "c")
            var export = Data()
            try JSONLines.export(store, write: { export.append($0) })
            let restored = try TradingMemoryStore(path: path + "/restored", options: EnvironmentOptions(durability: .none))
            defer { restored.close() }
            try JSONLines.importExport(export, into: restored)
            #expect(try restored.memory(try #require(try restored.memoryID(callerID: "last", in: "c")), in: "c")?.knownAt == last)
            // As of the last instant, both are visible and decayed (to 0, not to a trap).
            let results = try restored.recall(RecallQuery(vector: axis(0), k: 2, asOf: last), in: "c")
            #expect(results.count == 2 && results.allSatisfy { $0.score >= 0 && $0.score.isFinite })

            let beyond = Date(timeIntervalSince1970: 1e20)
            #expect(throws: TradingMemoryError.self) { try store.add([memory(2, vector: axis(2), time: beyond)], to: "c") }
            #expect(throws: TradingMemoryError.self) { try store.recall(RecallQuery(vector: axis(0), k: 1, asOf: beyond), in: "c") }
            #expect(throws: TradingMemoryError.self) {
                try store.recall(RecallQuery(vector: axis(0), k: 1, filter: MemoryFilter(timeFrom: Date(timeIntervalSince1970: -1e20))), in: "c")
            }
            #expect(throws: TradingMemoryError.self) {
                try store.createCollection("p", configuration: CollectionConfiguration(dimension: 8, capacity: CapacityPolicy(maxAgeSeconds: 1e300)))
            }
            #expect(throws: TradingMemoryError.self) {
                try store.createCollection("q", configuration: CollectionConfiguration(dimension: 8, decay: DecayFunction(shape: .exp, scale: 1e300)))
            }
            #expect(try store.collections().map(\.name) == ["c"])
        }
    }

    /// A collection written before durations were bounded (its maximum age 1e300 s) still takes adds:
    /// the eviction cutoff saturates instead of trapping.
    @Test func aPoisonedCollectionFromAnOlderBuildStillTakesWrites() throws {
        try withTemporaryMemoryStore { store, _ in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 8, capacity: CapacityPolicy(maxAgeSeconds: 86_400)))
            try store.write { writer, state in  // what an older build let through
                var entry = try state.collection("c", writer)
                entry.configuration.capacity.maxAgeSeconds = 1e300
                state.save(entry)
            }
            try store.add([memory(0, vector: axis(0), time: epoch2022), memory(1, vector: axis(1), time: epoch2022.addingTimeInterval(9 * day))], to: "c")
            #expect(try store.collection("c").count == 2)
            #expect(try store.verify().clean)
        }
    }
}
