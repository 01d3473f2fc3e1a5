import Foundation
import LMDB
import TestSupport
import Testing
@testable import VectorIndex

/// Every file under `path` with its bytes, to prove an open changed nothing.
private func snapshot(_ path: String) -> [String: Data] {
    var files: [String: Data] = [:]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
        files[name] = FileManager.default.contents(atPath: path + "/" + name)
    }
    return files
}

@Suite struct FormatTests {
    @Test func directoryWithOtherFilesIsNotADatabase() throws {
        try withTemporaryDirectory { path in
            try Data("hello".utf8).write(to: URL(fileURLWithPath: path + "/notes.txt"))
            let before = snapshot(path)
            let error = #expect(throws: IndexError.self) { try IndexStore(path: path) }
            guard case .notAHindsightDatabase(_, let reason)? = error else { Issue.record("wrong error \(String(describing: error))"); return }
            #expect(reason.contains("data.mdb"))
            #expect(snapshot(path) == before)
        }
    }

    @Test func garbageDataFileIsNotADatabaseAndNoLockFileAppears() throws {
        try withTemporaryDirectory { path in
            try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path + "/data.mdb"))
            let before = snapshot(path)
            #expect(throws: IndexError.self) { try IndexStore(path: path) }
            #expect(snapshot(path) == before)
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path + "/data.mdb"))
            let error = #expect(throws: IndexError.self) { try IndexStore(path: path) }
            #expect(error?.description.contains("truncated") == true)
        }
    }

    @Test func lmdbEnvironmentOfAnotherProgramIsRefused() throws {
        try withTemporaryDirectory { path in
            do {
                let env = try Environment(path: path)
                let other = try env.openDatabase(named: "someone-else")
                try env.write { txn in try txn.put([1], for: "k", in: other) }
            }
            let before = snapshot(path)
            let error = #expect(throws: IndexError.self) { try IndexStore(path: path) }
            guard case .notAHindsightDatabase(_, let reason)? = error else { Issue.record("wrong error"); return }
            #expect(reason.contains("someone-else"))
            #expect(snapshot(path)["data.mdb"] == before["data.mdb"])
        }
    }

    /// Float32-walk headers (format version 1's only kind; compressed walks append their own fields,
    /// see CompressedWalkTests) round-trip, with and without the identity prefix.
    @Test func graphHeadersRoundTripAndOlderHeadersHaveNoIdentityPrefix() throws {
        var header = GraphHeader(space: SpaceID(rawValue: 1), dimension: 8, parameters: GraphParameters(m: 12, efConstruction: 80, walk: .f32),
                                 pageSize: 4096)
        header.nodeCount = 10
        header.live = 9
        header.entryPoint = 3
        header.maxLevel = 2
        header.identityPrefix = 7
        let bytes = header.encoded()
        #expect(try bytes.withUnsafeBytes { try GraphHeader(decoding: $0, id: GraphID(rawValue: 2)) } == header)
        // A header written before the identity prefix existed ends four bytes earlier.
        var older = header
        older.identityPrefix = 0
        #expect(try bytes.dropLast(4).withUnsafeBytes { try GraphHeader(decoding: $0, id: GraphID(rawValue: 2)) } == older)
        // A prefix beyond the nodes is corruption.
        var bad = header
        bad.identityPrefix = 11
        #expect(throws: IndexError.self) {
            try bad.encoded().withUnsafeBytes { try GraphHeader(decoding: $0, id: GraphID(rawValue: 2)) }
        }
    }

    @Test func newerFormatVersionIsRefusedWithoutChanges() throws {
        try withTemporaryDirectory { path in
            do {
                let store = try IndexStore(path: path)
                _ = try store.write { writer in try writer.createSpace(dimension: 8) }
                #expect(try store.formatVersion() == IndexFormat.version)
                // Pretend a future Hindsight wrote this database.
                let meta = try store.environment.openDatabase(named: "meta")
                try store.environment.write { txn in
                    try txn.put(withUnsafeBytes(of: UInt32(99).littleEndian) { Array($0) }, for: "format-version", in: meta)
                }
                store.close()
            }
            let before = snapshot(path)["data.mdb"]
            #expect(throws: IndexError.unsupportedFormatVersion(found: 99, supported: IndexFormat.version)) {
                try IndexStore(path: path)
            }
            #expect(snapshot(path)["data.mdb"] == before)
        }
    }

    @Test func missingDirectoryIsAnErrorWhenNotCreating() throws {
        try withTemporaryDirectory { path in
            #expect(throws: IndexError.self) {
                try IndexStore(path: path + "/absent", options: EnvironmentOptions(readOnly: true))
            }
            #expect(!FileManager.default.fileExists(atPath: path + "/absent"))
            #expect(throws: IndexError.self) {
                try IndexStore(path: path + "/absent", options: EnvironmentOptions(createIfMissing: false))
            }
        }
    }

    @Test func readOnlyStoreAnswersQueries() throws {
        try withTemporaryDirectory { path in
            let vectors = clusteredVectors(count: 100, dimension: 16, seed: 3)
            let graph: GraphID
            do {
                let store = try IndexStore(path: path)
                (_, graph) = try buildGraph(store, vectors: vectors)
                store.close()
            }
            let store = try IndexStore(path: path, options: EnvironmentOptions(readOnly: true))
            defer { store.close() }
            #expect(try store.read { try $0.search(graph, query: vectors[5], k: 1) }.first?.id == VectorID(5))
            #expect(throws: IndexError.self) { try store.write { writer in _ = try writer.createSpace(dimension: 3) } }
        }
    }
}
