import Foundation
import LMDB
import TestSupport
import Testing

private struct Boom: Error {}

private func u64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

@Suite struct EnvironmentTests {
    @Test func commitsWhenTheBodyReturns() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "items")
            try env.write { txn in try txn.put([1, 2, 3], for: "a", in: db) }
            #expect(try env.read { txn in try txn.value(for: "a", in: db) } == [1, 2, 3])
        }
    }

    @Test func abortsWhenTheBodyThrows() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "items")
            try env.write { txn in try txn.put([9], for: "kept", in: db) }
            #expect(throws: Boom.self) {
                try env.write { txn throws in
                    try txn.put([1], for: "lost", in: db)
                    try txn.put([2], for: "kept", in: db)
                    throw Boom()
                }
            }
            try env.read { txn throws in
                #expect(try txn.value(for: "lost", in: db) == nil)
                #expect(try txn.value(for: "kept", in: db) == [9])
            }
        }
    }

    @Test func reopenedEnvironmentHoldsCommittedData() throws {
        try withTemporaryDirectory { path in
            do {
                let env = try Environment(path: path)
                let db = try env.openDatabase(named: "items")
                try env.write { txn throws in
                    for i in 0..<100 { try txn.put(u64(UInt64(i)), for: Key(UInt32(i)), in: db) }
                }
                env.close()
            }
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "items", create: false)
            try env.read { txn throws in
                #expect(try txn.count(of: db) == 100)
                #expect(try txn.value(for: Key(UInt32(42)), in: db) == u64(42))
            }
        }
    }

    @Test func writeGrowsATinyMapAndRetries() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path, options: EnvironmentOptions(mapSizeBytes: 64 << 10))
            let db = try env.openDatabase(named: "blobs")
            let blob = [UInt8](repeating: 7, count: 100_000)
            var attempts = 0
            try env.write { txn throws in
                attempts += 1
                for i in 0..<40 { try txn.put(blob, for: Key(UInt32(i)), in: db) }
            }
            #expect(attempts > 1, "the first attempt should have filled a 64 KiB map")
            #expect(env.info.mapSizeBytes > 4_000_000)
            try env.read { txn throws in
                #expect(try txn.count(of: db) == 40)
                #expect(try txn.value(for: Key(UInt32(39)), in: db) == blob)
            }
        }
    }

    @Test func mapLimitGivesAClearErrorAndKeepsCommittedData() throws {
        try withTemporaryDirectory { path in
            let options = EnvironmentOptions(mapSizeBytes: 256 << 10, maxMapSizeBytes: 1 << 20)
            let env = try Environment(path: path, options: options)
            let db = try env.openDatabase(named: "blobs")
            let blob = [UInt8](repeating: 1, count: 50_000)
            try env.write { txn in try txn.put(blob, for: "first", in: db) }
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn throws in
                    for i in 0..<100 { try txn.put(blob, for: Key(UInt32(i)), in: db) }
                }
            }
            #expect(error?.code == LMDBError.mapFull.code)
            #expect(error?.description.contains("limit") == true)
            #expect(env.info.mapSizeBytes <= 1 << 20)
            try env.read { txn throws in
                #expect(try txn.value(for: "first", in: db) == blob)
                #expect(try txn.count(of: db) == 1)
            }
            // The environment stays usable for writes that fit.
            try env.write { txn in try txn.put([2], for: "second", in: db) }
            #expect(try env.read { txn in try txn.count(of: db) } == 2)
        }
    }

    @Test func cursorScansInKeyOrderFromASeekPoint() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "ordered")
            try env.write { txn throws in
                for i in [5, 1, 300, 70000, 2] as [UInt32] { try txn.put([UInt8(i & 0xff)], for: Key(7, i), in: db) }
                try txn.put([0], for: Key(8, 0), in: db)
                try txn.put([0], for: Key(6, 99), in: db)
            }
            var seen: [UInt32] = []
            try env.read { txn throws in
                try txn.forEach(in: db, prefix: Key(7)) { key, _ throws in
                    var reader = KeyReader(key)
                    #expect(reader.readUInt32() == 7)
                    seen.append(reader.readUInt32()!)
                    return true
                }
            }
            #expect(seen == [1, 2, 5, 300, 70000])
            let last = try env.read { txn throws in
                try txn.withCursor(on: db) { cursor throws in
                    #expect(try cursor.last())
                    return cursor.currentKey
                }
            }
            #expect(last == Key(8, 0).bytes)
        }
    }

    @Test func orderedSignedKeysSortNumerically() {
        let values: [Int64] = [-5_000_000_000, -1, 0, 1, 1_700_000_000]
        let keys = values.map { value -> [UInt8] in var key = Key(); key.append(orderedSigned: value); return key.bytes }
        #expect(keys == keys.sorted { $0.lexicographicallyPrecedes($1) })
        for (value, key) in zip(values, keys) {
            key.withUnsafeBytes { bytes in
                var reader = KeyReader(bytes)
                #expect(reader.readOrderedSigned() == value)
            }
        }
    }

    @Test func deleteAllRemovesExactlyThePrefix() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "ranges")
            try env.write { txn throws in
                for graph in 1...3 as ClosedRange<UInt32> {
                    for node in 0..<500 as Range<UInt32> { try txn.put([1], for: Key(graph, node), in: db) }
                }
            }
            let removed = try env.write { txn in try txn.deleteAll(in: db, prefix: Key(2)) }
            #expect(removed == 500)
            try env.read { txn throws in
                #expect(try txn.count(of: db) == 1000)
                #expect(try txn.value(for: Key(2, 7), in: db) == nil)
                #expect(try txn.value(for: Key(3, 0), in: db) == [1])
                #expect(try txn.value(for: Key(1, 499), in: db) == [1])
            }
        }
    }

    @Test func reservedPutWritesInPlace() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "reserved")
            try env.write { txn throws in
                try txn.put(reservingCount: 10_000, for: "big", in: db) { buffer in
                    for i in 0..<buffer.count { buffer[i] = UInt8(i % 251) }
                }
            }
            let value = try env.read { txn in try txn.value(for: "big", in: db) }
            #expect(value == (0..<10_000).map { UInt8($0 % 251) })
        }
    }

    @Test func noOverwriteReportsAnExistingKey() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "unique")
            try env.write { txn in try txn.put([1], for: "id", in: db, noOverwrite: true) }
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn in try txn.put([2], for: "id", in: db, noOverwrite: true) }
            }
            #expect(error == .keyExists)
            #expect(try env.read { txn in try txn.value(for: "id", in: db) } == [1])
        }
    }

    @Test func readersSeeASnapshotWhileAWriterCommits() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path)
            let db = try env.openDatabase(named: "snap")
            try env.write { txn in try txn.put([1], for: "v", in: db) }
            try env.read { reader throws in
                let before = reader.id
                let writer = Thread { try? env.write { txn in try txn.put([2], for: "v", in: db) } }
                writer.start()
                while !writer.isFinished { usleep(1000) }
                #expect(try reader.value(for: "v", in: db) == [1])
                #expect(reader.id == before)
            }
            #expect(try env.read { try $0.value(for: "v", in: db) } == [2])
        }
    }

    @Test func concurrentReadersAndOneWriterNeverSeeAHalfCommit() async throws {
        try await withTemporaryDirectory { path in
            let env = try Environment(path: path, options: EnvironmentOptions(mapSizeBytes: 1 << 20))
            let db = try env.openDatabase(named: "pairs")
            // Each commit writes the same number under two keys; a reader must always see them equal.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for i in 1...200 as ClosedRange<UInt64> {
                        try await env.writeAsync { txn throws in
                            try txn.put(u64(i), for: "a", in: db)
                            try txn.put([UInt8](repeating: 0, count: 4096), for: Key(UInt32(i)), in: db)  // grows the map
                            try txn.put(u64(i), for: "b", in: db)
                        }
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<500 {
                            try env.read { txn throws in
                                let a = try txn.value(for: "a", in: db)
                                let b = try txn.value(for: "b", in: db)
                                #expect(a == b)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try env.read { try $0.value(for: "a", in: db) } == u64(200))
        }
    }

    @Test func readOnlyEnvironmentRefusesWrites() throws {
        try withTemporaryDirectory { path in
            do {
                let env = try Environment(path: path)
                _ = try env.openDatabase(named: "x")
            }
            let env = try Environment(path: path, options: EnvironmentOptions(readOnly: true))
            let db = try env.openDatabase(named: "x", create: false)
            #expect(throws: LMDBError.self) { try env.write { txn in try txn.put([1], for: "k", in: db) } }
        }
    }

    @Test func compactedCopyOpensWithTheSameData() throws {
        try withTemporaryDirectory { path in
            let env = try Environment(path: path + "/src/nested/deeper")
            let db = try env.openDatabase(named: "data")
            try env.write { txn in for i in 0..<2000 as Range<UInt32> { try txn.put([UInt8](repeating: 3, count: 500), for: Key(i), in: db) } }
            try env.write { txn in for i in 0..<1900 as Range<UInt32> { try txn.delete(Key(i), in: db) } }
            try FileManager.default.createDirectory(atPath: path + "/dst", withIntermediateDirectories: true)
            try env.copy(to: path + "/dst", compact: true)
            let size = { (dir: String) in (try? FileManager.default.attributesOfItem(atPath: dir + "/data.mdb")[.size] as? Int) ?? 0 }
            #expect(size(path + "/dst") < size(path + "/src/nested/deeper"))
            let copy = try Environment(path: path + "/dst")
            let copied = try copy.openDatabase(named: "data", create: false)
            #expect(try copy.read { try $0.count(of: copied) } == 100)
        }
    }
}
