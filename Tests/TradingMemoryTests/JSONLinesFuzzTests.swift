import Foundation
import LMDB
import TestSupport
import Testing
import TradingMemory
import VectorIndex
import WireFormat

/// Seeded fuzzing of the JSON Lines readers (`hindsight add --jsonl` and `import`): mutated lines
/// are refused with a line-numbered error or accepted whole; a refused file changes nothing.
@Suite struct JSONLinesFuzzTests {
    private static func line(_ index: Int) -> J {
        .object([("id", .string("m\(index)")), ("ticker", .string(["AAPL", "600519.SH", "BRK.B"][index % 3])), ("time", .raw("\(1_704_153_600 + index * 86_400)")),
                 ("known_at", .raw("\(1_704_153_600 + index * 86_400 + 604_800)")), ("situation", .string("情绪 \(index)")), ("reflection", .string("r")), ("action", .string("HOLD")),
                 ("outcome", .raw("0.01")), ("quality", .raw("0.5")), ("metadata", .object([("n", .raw("\(index)"))])),
                 ("vector", .array([.raw("1"), .raw("0.\(index % 10)"), .raw("0"), .raw("0.5")]))])
    }

    private static func fingerprint(_ store: TradingMemoryStore) throws -> Data {
        var data = Data()
        try JSONLines.export(store, write: { data.append($0) })
        return Data(data.split(separator: UInt8(ascii: "\n")).dropFirst().joined(separator: [UInt8(ascii: "\n")]))
    }

    @Test func mutatedFilesAreRefusedByLineOrAcceptedWhole() throws {
        try withTemporaryMemoryStore { store, path in
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 4))
            var generator = SplitMix64(seed: 99)
            var refused = 0, accepted = 0
            for round in 0..<150 {
                var lines = (0..<4).map { Self.line(round * 4 + $0) }
                let target = Int(generator.next() % 4)
                lines[target] = HostileJSON.mutate(lines[target], &generator)
                let text = lines.map(\.text).joined(separator: "\n")
                let before = try Self.fingerprint(store)
                var added = false
                do {
                    let parsed = try JSONLines.parseMemories(Data(text.utf8), dimension: 4, requireVectors: true)
                    let memories = try parsed.map { line -> NewMemory in
                        let memory = line.memory.newMemory(vector: line.memory.vector!)
                        try TradingMemoryStore.validate(memory, what: "line \(line.line)")
                        return memory
                    }
                    try store.add(memories, to: "c")
                    added = true
                    accepted += 1
                } catch let error as JSONLinesError {
                    #expect((1...4).contains(error.line), "round \(round): \(error)")
                    refused += 1
                } catch is TradingMemoryError {
                    refused += 1
                }
                let unchanged = try Self.fingerprint(store) == before
                #expect(added || unchanged, "round \(round): a refused file changed the database")
            }
            #expect(refused > 30 && accepted > 5, "refused \(refused), accepted \(accepted)")
            // The import reader, on mutated exports of this database: refused ones write nothing.
            var export = Data()
            try JSONLines.export(store, write: { export.append($0) })
            let exportLines = String(decoding: export, as: UTF8.self).split(separator: "\n").map(String.init)
            for round in 0..<25 {
                var mutated = exportLines
                let index = 1 + Int(generator.next() % UInt64(mutated.count - 1))
                let object = (try? JSONSerialization.jsonObject(with: Data(mutated[index].utf8))) as? [String: Any] ?? [:]
                let members: [(String, J)] = object.keys.sorted().map { key in (key, .raw(String(decoding: try! JSONSerialization.data(withJSONObject: object[key]!, options: [.fragmentsAllowed]), as: UTF8.self))) }
                mutated[index] = HostileJSON.mutate(.object(members), &generator).text
                let target = try TradingMemoryStore(path: path + "/import\(round)", options: EnvironmentOptions(durability: .none))
                defer { target.close() }
                do {
                    try JSONLines.importExport(Data(mutated.joined(separator: "\n").utf8), into: target, batch: 7)
                } catch is JSONLinesError {
                    #expect(try target.collections().isEmpty, "round \(round): a refused import wrote nothing")
                } catch is TradingMemoryError {
                    #expect(try target.collections().isEmpty, "round \(round): a refused import wrote nothing")
                }
            }
        }
    }
}
