import Foundation
import LMDB
import TestSupport
import Testing
import TradingMemory
import VectorIndex
import WireFormat

/// A database written by an earlier build (Tests/Fixtures/format-v1, made by its make.sh) opens with
/// this one, verifies clean, and answers the queries it answered then, result for result.
@Suite struct FormatFixtureTests {
    struct Expected: Decodable {
        struct Case: Decodable {
            var vector: [Float]
            var args: [String]
            var results: [Result]
        }
        struct Result: Decodable, Equatable {
            var id: String
            var engine_id: UInt32
            var similarity: Float
            var score: Double
            var layer: String
        }
        var cases: [Case]
        var pending: [String]
    }

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/format-v1")

    /// The recall the CLI arguments of a case asked for.
    static func query(_ fixture: Expected.Case) throws -> (collection: String, query: RecallQuery) {
        var options: [String: String] = [:]
        for index in stride(from: 0, to: fixture.args.count, by: 2) { options[fixture.args[index]] = fixture.args[index + 1] }
        let k = Int(options["--k"]!)!
        let ticker = options["--ticker"]
        let mode: RecallMode
        switch options["--mode"] {
        case "merged": mode = .merged(tickerBoost: Double(options["--boost"] ?? "1")!)
        case nil: mode = ticker == nil ? .global : .tickerThenGlobal(kTicker: k, kGlobal: k)
        case let other: Issue.record("unexpected mode \(other!)"); mode = .global
        }
        return (options["--collection"]!, RecallQuery(vector: fixture.vector, k: k, ticker: ticker, mode: mode,
                                                      asOf: options["--as-of"].flatMap(WireTime.parse)))
    }

    @Test func databaseOfTheEarlierFormatAnswersAlike() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.fixture.appendingPathComponent("expected.json")))
        #expect(expected.cases.count == 16)
        try withTemporaryDirectory { path in
            // A copy: opening for writing would otherwise touch the fixture's files.
            try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("db").path, toPath: path + "/db")
            let store = try TradingMemoryStore(path: path + "/db")
            defer { store.close() }
            let report = try store.verify()
            #expect(report.clean, "\(report.findings)")
            #expect(try store.collections().map(\.name) == ["plain", "trader"])
            #expect(try store.pendingDecisions(in: "trader").compactMap(\.callerID).sorted() == expected.pending)
            for fixture in expected.cases {
                let (collection, query) = try Self.query(fixture)
                let results = try store.recall(query, in: collection).map {
                    Expected.Result(id: $0.memory.callerID ?? $0.memory.id.description, engine_id: $0.memory.id.rawValue,
                                    similarity: $0.similarity, score: $0.score, layer: $0.layer.rawValue)
                }
                #expect(results.map(\.engine_id) == fixture.results.map(\.engine_id), "\(fixture.args)")
                #expect(results.map(\.id) == fixture.results.map(\.id))
                #expect(results.map(\.layer) == fixture.results.map(\.layer))
                for (got, want) in zip(results, fixture.results) {
                    #expect(abs(got.similarity - want.similarity) <= 1e-6)
                    #expect(abs(got.score - want.score) <= 1e-9 * max(1, abs(want.score)))
                }
            }
            // Read-only, it opens without the databases added since (lexical recall) and answers alike.
            let copy = path + "/readonly"
            try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("db").path, toPath: copy)
            let readOnly = try TradingMemoryStore(path: copy, options: EnvironmentOptions(readOnly: true))
            for fixture in expected.cases {
                let (collection, query) = try Self.query(fixture)
                #expect(try readOnly.recall(query, in: collection).map(\.memory.id.rawValue) == fixture.results.map(\.engine_id))
            }
            #expect(try readOnly.collections().allSatisfy { $0.configuration.lexical == nil }, "old collections have no lexical index")
            readOnly.close()
            // And it still takes writes: a new memory in the old database.
            let vector = expected.cases[0].vector
            try store.add([NewMemory(callerID: "after", ticker: "BRK.B", time: Date(timeIntervalSince1970: 1_712_000_000), situation: "new",
                                     reflection: "new lesson", vector: vector)], to: "trader")
            #expect(try store.verify().clean)
        }
    }

    /// `rebuild --walk int8` converts a database of the earlier format: it is marked version 2,
    /// verifies clean (each compressed copy is the encoding of its vector), its collections record
    /// the walk, and it answers the fixture's queries with the same memories and exact similarities.
    @Test func rebuildingWithAnInt8WalkConvertsTheEarlierFormat() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.fixture.appendingPathComponent("expected.json")))
        try withTemporaryDirectory { path in
            try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("db").path, toPath: path + "/db")
            let store = try TradingMemoryStore(path: path + "/db")
            defer { store.close() }
            #expect(try store.statistics().formatVersion == 1)
            let reports = try store.rebuild(walk: .int8)
            #expect(reports.map(\.collection) == ["plain", "trader"] && reports.allSatisfy { $0.walk == .int8 })
            let statistics = try store.statistics()
            #expect(statistics.formatVersion == 2)
            #expect(statistics.collections.flatMap(\.layers).allSatisfy { $0.walk == .int8 })
            #expect(try store.collections().allSatisfy { $0.configuration.index.walk == .int8 })
            let report = try store.verify()
            #expect(report.clean, "\(report.findings)")
            for fixture in expected.cases {
                let (collection, query) = try Self.query(fixture)
                let results = try store.recall(query, in: collection)
                #expect(results.map(\.memory.id.rawValue) == fixture.results.map(\.engine_id), "\(fixture.args)")
                for (got, want) in zip(results, fixture.results) { #expect(abs(got.similarity - want.similarity) <= 1e-6) }
            }
        }
    }

    /// An export written by the earlier build (version 1: collection settings as the catalog's own
    /// `configuration`) imports into today's, with the same collections and memories as the fixture
    /// database, and today's export of it (version 2) imports again.
    @Test func exportOfTheEarlierFormatImports() throws {
        let export = try Data(contentsOf: Self.fixture.appendingPathComponent("export-v1.jsonl"))
        try withTemporaryDirectory { path in
            try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("db").path, toPath: path + "/db")
            let original = try TradingMemoryStore(path: path + "/db")
            defer { original.close() }
            let imported = try TradingMemoryStore(path: path + "/imported")
            defer { imported.close() }
            let report = try JSONLines.importExport(export, into: imported)
            #expect(report.collections == 2 && report.memories == 50)
            for name in ["plain", "trader"] {
                #expect(try imported.collection(name).configuration == original.collection(name).configuration)
                #expect(try imported.collection(name).created == original.collection(name).created)
                func memories(_ store: TradingMemoryStore) throws -> [String] {
                    var rows: [String] = []
                    try store.export(collections: [name], begin: { _ in }, collection: { _ in }, memory: { memory, vector in
                        rows.append("\(memory.callerID ?? "-") \(memory.time.timeIntervalSince1970) \(memory.knownAt.timeIntervalSince1970) "
                                    + "\(memory.situation) \(memory.reflection) \(memory.status) \(memory.metadata.count) \(vector)")
                    })
                    return rows.sorted()
                }
                #expect(try memories(imported) == memories(original), "\(name)")
            }
            var again = Data()
            try JSONLines.export(imported, write: { again.append($0) })
            #expect(String(decoding: again.prefix(200), as: UTF8.self).contains(#""version":2"#))
            let twice = try TradingMemoryStore(path: path + "/twice")
            defer { twice.close() }
            #expect(try JSONLines.importExport(again, into: twice).memories == 50)
            #expect(try twice.verify().clean)
        }
    }
}
