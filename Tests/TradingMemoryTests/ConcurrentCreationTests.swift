import Foundation
import LMDB
import TestSupport
import Testing
import TradingMemory

/// Several processes opening a fresh directory at once (parallel back-test workers): the ones that
/// come second see a directory another is creating, and must open it, not refuse it.
@Suite struct ConcurrentCreationTests {
    @Test func aDirectoryHoldingOnlyLockFilesIsADatabaseBeingCreated() throws {
        try withTemporaryDirectory { path in
            let db = path + "/db"
            try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: true)
            for name in ["lock.mdb", "hindsight.lock"] { _ = FileManager.default.createFile(atPath: db + "/" + name, contents: nil) }
            let store = try TradingMemoryStore(path: db)
            try store.createCollection("c", configuration: CollectionConfiguration(dimension: 4))
            store.close()
            // Anything else beside the lock files is still refused.
            let other = path + "/other"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: other + "/notes.txt", contents: Data("x".utf8))
            #expect(throws: (any Error).self) { try TradingMemoryStore(path: other) }
        }
    }

    @Test func aDataFileStillBeingWrittenIsWaitedFor() throws {
        try withTemporaryDirectory { path in
            // A real database's first pages, written back half now and in full 100 ms later (as its creator would).
            let source = path + "/source"
            try TradingMemoryStore(path: source).close()
            let bytes = try Data(contentsOf: URL(fileURLWithPath: source + "/data.mdb"))
            let db = path + "/db"
            try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: true)
            try bytes.prefix(100).write(to: URL(fileURLWithPath: db + "/data.mdb"))
            let writer = Thread {
                usleep(100_000)
                try? bytes.write(to: URL(fileURLWithPath: db + "/data.mdb"))
            }
            writer.start()
            let store = try TradingMemoryStore(path: db)
            #expect(try store.collections().isEmpty)
            store.close()
        }
    }
}
