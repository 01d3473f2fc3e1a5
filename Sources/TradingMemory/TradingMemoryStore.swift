public import Foundation
public import LMDB
import Synchronization
public import VectorIndex

/// The memory of trading agents: collections of market situations and the lessons learned from
/// them, each in a global layer and, with a ticker, in that ticker's layer; recalled by cosine
/// similarity with time decay, as of any date.
///
/// One store per database directory per process; share it between threads. Reads run
/// concurrently; writes are serialised and atomic (a batch is all or nothing).
public final class TradingMemoryStore: @unchecked Sendable {
    // Sendable: the index store is Sendable, the databases are immutable handles, and the snapshot
    // cache sits behind a mutex.
    /// The index underneath (vectors and HNSW graphs).
    public let index: IndexStore
    let databases: MemoryDatabases
    private let latestSnapshot = Mutex<MemorySnapshot?>(nil)

    /// Opens (or creates) the database in `path`.
    public convenience init(path: String, options: EnvironmentOptions = EnvironmentOptions(), lock: DatabaseLock? = nil) throws {
        try self.init(index: try IndexStore(path: path, options: options, lock: lock))
    }

    /// Opens the trading-memory layer of an open index store, creating its databases if needed.
    public init(index: IndexStore) throws {
        self.index = index
        var names = Set(try index.environment.databaseNames())
        let missing = MemoryDatabases.names.filter { !names.contains($0) }
        if !missing.isEmpty && index.environment.options.readOnly {
            throw TradingMemoryError.storage("the database has no trading-memory data (read-only, cannot create \(missing.joined(separator: ", ")))")
        }
        let all = MemoryDatabases.names + MemoryDatabases.lexicalNames + MemoryDatabases.provenanceNames
        if !index.environment.options.readOnly && !all.allSatisfy(names.contains) {
            _ = try index.environment.createDatabases(named: all) { _, _ in }
            names.formUnion(all)
        }
        databases = try MemoryDatabases(environment: index.environment, create: false, present: names)
    }

    /// Closes the database. Nothing may be running.
    public func close() {
        latestSnapshot.withLock { $0 = nil }
        index.close()
    }

    // MARK: - Transactions

    /// Runs `body` in one read transaction with the snapshot's catalog and attribute views.
    func read<R>(_ body: (borrowing IndexReader, MemorySnapshot) throws -> R) throws -> R {
        do {
            return try index.read { reader in
                let snapshot = snapshot(for: reader.transaction.id)
                return try body(reader, snapshot)
            }
        } catch { throw TradingMemoryError.wrapping(error) }
    }

    /// Runs `body` in one write transaction; its changes are written back and committed when it
    /// returns, and none of them are when it throws.
    func write<R>(_ body: (borrowing IndexWriter, MemoryWriteState) throws -> R) throws -> R {
        do {
            return try index.write { writer in
                let state = MemoryWriteState(databases: databases)
                let result = try body(writer, state)
                try state.flush(writer)
                return result
            }
        } catch { throw TradingMemoryError.wrapping(error, collection: nil) }
    }

    private func snapshot(for transactionID: Int) -> MemorySnapshot {
        let generation = index.environment.mapGeneration
        return latestSnapshot.withLock { latest in
            if let latest, latest.transactionID == transactionID, latest.mapGeneration == generation {
                return latest
            }
            let fresh = MemorySnapshot(transactionID: transactionID, mapGeneration: generation, databases: databases)
            if latest == nil || latest!.transactionID <= transactionID { latest = fresh }
            return fresh
        }
    }

    // MARK: - Collections

    /// Creates a collection. Fails with ``TradingMemoryError/collectionExists(_:)`` if one of that
    /// name exists.
    @discardableResult
    public func createCollection(_ name: String, configuration: CollectionConfiguration) throws -> CollectionInfo {
        try Self.validateCollectionName(name)
        try configuration.validate()
        return try write { writer, state in
            if try state.collectionIfPresent(name, writer) != nil { throw TradingMemoryError.collectionExists(name) }
            return try state.createCollection(name, configuration: configuration, writer).info
        }
    }

    /// Returns the collection `name`, creating it with `configuration` when missing. Idempotent,
    /// also when several threads or processes call it at once (the check and the creation are one
    /// write transaction). An existing collection must have the same dimension and, when both
    /// name one, the same embedding model; its other settings are kept.
    @discardableResult
    public func getOrCreateCollection(_ name: String, configuration: CollectionConfiguration) throws -> CollectionInfo {
        try Self.validateCollectionName(name)
        try configuration.validate()
        if let existing = try? collection(name) {  // the common case, without taking the writer lock
            try Self.checkCompatible(existing.configuration, configuration, name: name)
            return existing
        }
        return try write { writer, state in
            if let existing = try state.collectionIfPresent(name, writer) {
                try Self.checkCompatible(existing.configuration, configuration, name: name)
                return existing.info
            }
            return try state.createCollection(name, configuration: configuration, writer).info
        }
    }

    private static func checkCompatible(_ existing: CollectionConfiguration, _ wanted: CollectionConfiguration, name: String) throws {
        guard existing.dimension == wanted.dimension else {
            throw TradingMemoryError.dimensionMismatch(collection: name, expected: existing.dimension, actual: wanted.dimension)
        }
        if let have = existing.embeddingModel, let want = wanted.embeddingModel, have != want {
            throw TradingMemoryError.embeddingModelMismatch(collection: name, expected: have, actual: want)
        }
    }

    /// Facts about the collection `name`.
    public func collection(_ name: String) throws -> CollectionInfo {
        try read { reader, snapshot in try snapshot.collection(name, reader).info }
    }

    /// Every collection, by name.
    public func collections() throws -> [CollectionInfo] {
        try read { reader, snapshot in try snapshot.allCollections(reader).map(\.info).sorted { $0.name < $1.name } }
    }

    /// Deletes the collection `name` with every memory, vector and graph in it.
    public func dropCollection(_ name: String) throws {
        try write { writer, state in try state.dropCollection(name, writer) }
    }

    /// Collection names: 1 to 128 characters, letters, digits and `_ - . :`.
    public static func validateCollectionName(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:")
        guard (1...128).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw TradingMemoryError.invalidArgument("collection names are 1 to 128 letters, digits, '_', '-', '.' or ':'")
        }
    }

    // MARK: - Memories

    /// Adds `memories` to the collection, all or none. With `upsert`, a memory whose caller id is
    /// taken replaces the old one (which gets a new engine id); without it, that is
    /// ``TradingMemoryError/duplicateID(_:)``. Capacity limits are applied in the same transaction.
    /// - Returns: the engine ids, in order.
    @discardableResult
    public func add(_ memories: [NewMemory], to collection: String, upsert: Bool = false) throws -> [MemoryID] {
        try write { writer, state in try state.add(memories, to: collection, upsert: upsert, status: .live, writer) }
    }

    /// The memory `id`, or nil.
    public func memory(_ id: MemoryID, in collection: String) throws -> Memory? {
        try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            return try MemoryLookup.memory(id, collection: entry.id, databases: databases, reader.transaction)
        }
    }

    /// The memory whose caller id is `callerID`, or nil.
    public func memory(callerID: String, in collection: String) throws -> Memory? {
        try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            guard let id = try MemoryLookup.id(callerID: callerID, collection: entry.id, databases: databases, reader.transaction) else { return nil }
            return try MemoryLookup.memory(id, collection: entry.id, databases: databases, reader.transaction)
        }
    }

    /// The engine id of the memory with caller id `callerID`, or nil.
    public func memoryID(callerID: String, in collection: String) throws -> MemoryID? {
        try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            return try MemoryLookup.id(callerID: callerID, collection: entry.id, databases: databases, reader.transaction)
        }
    }

    /// Changes the reflection, action, outcome, quality or metadata of a memory.
    @discardableResult
    public func update(_ id: MemoryID, in collection: String, _ update: MemoryUpdate) throws -> Memory {
        try write { writer, state in try state.update(id, in: collection, update, writer) }
    }

    /// Deletes the memories `ids` (live or pending); returns how many existed.
    @discardableResult
    public func delete(_ ids: [MemoryID], from collection: String) throws -> Int {
        try write { writer, state in
            var entry = try state.collection(collection, writer)
            var deleted = 0
            for id in Set(ids).sorted() where try state.deleteMemory(id, in: &entry, writer) { deleted += 1 }
            state.save(entry)
            return deleted
        }
    }

    /// Deletes the memories with these caller ids, resolved in the same transaction (ids that name
    /// no memory are skipped); returns how many were deleted.
    @discardableResult
    public func delete(callerIDs: [String], from collection: String) throws -> Int {
        try write { writer, state in
            var entry = try state.collection(collection, writer)
            var deleted = 0
            for callerID in Set(callerIDs).sorted() {
                guard let id = try MemoryLookup.id(callerID: callerID, collection: entry.id, databases: databases, writer.transaction) else { continue }
                if try state.deleteMemory(id, in: &entry, writer) { deleted += 1 }
            }
            state.save(entry)
            return deleted
        }
    }

    /// Deletes every memory (live or pending) that `filter` matches; returns how many.
    /// - Throws: ``TradingMemoryError/invalidArgument(_:)`` for a filter that names no condition
    ///   (it would match every memory: ``removeAllMemories(from:)`` says so explicitly).
    @discardableResult
    public func delete(matching filter: MemoryFilter, from collection: String) throws -> Int {
        guard !filter.isEmpty else {
            throw TradingMemoryError.invalidArgument("an empty filter would match every memory; remove all memories explicitly instead")
        }
        try filter.validate()
        return try write { writer, state in
            var entry = try state.collection(collection, writer)
            let victims = try state.memories(of: entry, writer).filter { filter.matches($0) }.map(\.id)
            for id in victims { _ = try state.deleteMemory(id, in: &entry, writer) }
            state.save(entry)
            return victims.count
        }
    }

    /// Every memory of the collection (live and pending), in id order.
    public func memories(in collection: String) throws -> [Memory] {
        try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            return try MemoryLookup.all(collection: entry.id, databases: databases, reader.transaction)
        }
    }

    /// A page of the collection's memories, live and pending, in engine-id order (the order they
    /// were added in: ids are never reused, and resolving or updating keeps a memory's id): those
    /// with an id above `after`, at most `limit`, only of `ticker` when given. A caller reads the
    /// whole collection by passing the last id of each page as the next `after`.
    public func memories(in collection: String, after: MemoryID?, limit: Int, ticker: String? = nil) throws -> [Memory] {
        guard limit > 0 else { return [] }
        return try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            var memories: [Memory] = []
            var failure: (any Error)?
            let start = after.map { $0.rawValue == .max ? nil : Key(entry.id, $0.rawValue + 1) } ?? Key(entry.id)
            guard let start else { return [] }
            try reader.transaction.withCursor(on: databases.memories) { cursor in
                var more = try cursor.seek(atLeast: start)
                while more, failure == nil {
                    let done: Bool = cursor.withCurrent { key, value in
                        var keyReader = KeyReader(key)
                        guard keyReader.readUInt32() == entry.id, let raw = keyReader.readUInt32() else { return true }
                        do {
                            let memory = try Coding.decodeMemory(from: value, what: "memory \(raw)").memory(id: MemoryID(rawValue: raw))
                            if ticker == nil || memory.ticker == ticker { memories.append(memory) }
                        } catch {
                            failure = error
                        }
                        return memories.count == limit
                    }
                    if done { break }
                    more = try cursor.next()
                }
            }
            if let failure { throw failure }
            return memories
        }
    }

    /// The most recent live memories by situation time, newest first: of `ticker` when given,
    /// else of the whole collection but `excludingTicker`; only those known as of `asOf` when given.
    public func recentMemories(in collection: String, ticker: String? = nil, excludingTicker: String? = nil, limit: Int,
                               asOf: Date? = nil) throws -> [Memory] {
        if let asOf { try TimeBounds.check(asOf, "asOf") }
        guard limit > 0 else { return [] }
        return try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            var code: UInt32 = 0
            if let ticker {
                guard let layer = entry.tickers[ticker] else { return [] }
                code = layer.code
            }
            var ids: [MemoryID] = []
            try reader.transaction.withCursor(on: databases.time) { cursor in
                var more = try cursor.seek(atLeast: Key(entry.id, code + 1)) ? try cursor.previous() : try cursor.last()
                while more {
                    let id: MemoryID? = cursor.withCurrent { key, _ in
                        var keyReader = KeyReader(key)
                        guard keyReader.readUInt32() == entry.id, keyReader.readUInt32() == code else { return nil }
                        _ = keyReader.readOrderedSigned()
                        return keyReader.readUInt32().map(MemoryID.init(rawValue:))
                    }
                    guard let id else { break }
                    ids.append(id)
                    more = try cursor.previous()
                }
            }
            var memories: [Memory] = []
            for id in ids {
                guard let memory = try MemoryLookup.memory(id, collection: entry.id, databases: databases, reader.transaction) else { continue }
                if let asOf, memory.knownAt > asOf { continue }
                if let excludingTicker, memory.ticker == excludingTicker { continue }
                memories.append(memory)
                if memories.count == limit { break }
            }
            return memories
        }
    }

    /// Deletes every memory of the collection, keeping the collection and its settings.
    @discardableResult
    public func removeAllMemories(from collection: String) throws -> Int {
        try write { writer, state in
            var entry = try state.collection(collection, writer)
            let ids = try state.memories(of: entry, writer).map(\.id)
            for id in ids { _ = try state.deleteMemory(id, in: &entry, writer) }
            state.save(entry)
            return ids.count
        }
    }

    // MARK: - Pending decisions

    /// Records a decision whose outcome is not known yet: stored with its vector, returned by no
    /// query until ``resolve(_:in:outcome:reflection:knownAt:quality:)``.
    @discardableResult
    public func recordDecision(_ decision: NewMemory, in collection: String) throws -> MemoryID {
        try write { writer, state in try state.add([decision], to: collection, upsert: false, status: .pending, writer)[0] }
    }

    /// Resolves a pending decision with its realised outcome and reflection; from `knownAt`
    /// (default: now) on, queries return it. `metadata` keys are merged into the decision's metadata
    /// in the same transaction.
    @discardableResult
    public func resolve(_ id: MemoryID, in collection: String, outcome: Double?, reflection: String, knownAt: Date? = nil,
                        quality: Double? = nil, metadata: [String: MetadataValue]? = nil) throws -> Memory {
        try write { writer, state in
            try state.resolve(id, in: collection, outcome: outcome, reflection: reflection, knownAt: knownAt ?? Date(), quality: quality,
                              metadata: metadata, writer)
        }
    }

    /// The collection's pending decisions, oldest first.
    public func pendingDecisions(in collection: String) throws -> [Memory] {
        try read { reader, snapshot in
            let entry = try snapshot.collection(collection, reader)
            var ids: [MemoryID] = []
            try reader.transaction.forEach(in: databases.pending, prefix: Key(entry.id)) { key, _ in
                var keyReader = KeyReader(key)
                _ = keyReader.readUInt32()
                if let id = keyReader.readUInt32() { ids.append(MemoryID(rawValue: id)) }
                return true
            }
            return try ids.compactMap { try MemoryLookup.memory($0, collection: entry.id, databases: databases, reader.transaction) }
                .sorted { ($0.time, $0.id) < ($1.time, $1.id) }
        }
    }

    // MARK: - Recall

    /// The memories most like `query.vector`, ranked by decayed score.
    public func recall(_ query: RecallQuery, in collection: String) throws -> [RecallResult] {
        try recall([query], in: collection)[0]
    }

    /// Several queries against one snapshot.
    /// Queries that carry a decision id are recorded as that decision's provenance, in a write
    /// transaction after the read (a decision already resolved fails with
    /// ``TradingMemoryError/decisionResolved(_:)``, nothing recorded).
    public func recall(_ queries: [RecallQuery], in collection: String) throws -> [[RecallResult]] {
        let answers = try withRecallEngine(collection) { engine, reader in try queries.map { try engine.recall($0, reader) } }
        try recordProvenance(queries, answers, collection: collection)
        return answers
    }

    /// Records the answers of the queries that carry a decision id (none: nothing written).
    func recordProvenance(_ queries: [RecallQuery], _ answers: [[RecallResult]], collection: String) throws {
        guard queries.contains(where: { $0.decisionID != nil }) else { return }
        for id in queries.compactMap(\.decisionID) { try DecisionIDs.validate(id) }
        let recordedMs = Date().milliseconds
        try write { writer, state in
            let entry = try state.collection(collection, writer)
            for (query, results) in zip(queries, answers) {
                guard let decision = query.decisionID else { continue }
                try state.recordShown(decision, results, asOfMs: query.asOf?.milliseconds, recordedMs: recordedMs, entry, writer)
            }
        }
    }

    /// Runs `body` with a collection's ranking engine in one read transaction (one snapshot).
    func withRecallEngine<R>(_ collection: String, _ body: (RecallEngine, borrowing IndexReader) throws -> R) throws -> R {
        do {
            return try read { reader, snapshot in
                let entry = try snapshot.collection(collection, reader)
                let attributes = try snapshot.attributes(entry, reader)
                return try body(RecallEngine(entry: entry, attributes: attributes, databases: databases), reader)
            }
        } catch { throw TradingMemoryError.wrapping(error, collection: collection) }
    }
}

/// A change to a stored memory; nil fields are left as they are.
public struct MemoryUpdate: Sendable, Hashable {
    public var reflection: String?
    public var action: String?
    public var outcome: Double?
    public var quality: Double?
    /// Keys to set (merged into the existing metadata).
    public var metadata: [String: MetadataValue]?
    /// Keys to remove from the metadata.
    public var removeMetadataKeys: [String]

    public init(reflection: String? = nil, action: String? = nil, outcome: Double? = nil, quality: Double? = nil,
                metadata: [String: MetadataValue]? = nil, removeMetadataKeys: [String] = []) {
        self.reflection = reflection
        self.action = action
        self.outcome = outcome
        self.quality = quality
        self.metadata = metadata
        self.removeMetadataKeys = removeMetadataKeys
    }
}

/// Reads of stored memories and caller ids shared by the read and write paths.
enum MemoryLookup {
    static func memory<Mode>(_ id: MemoryID, collection: UInt32, databases: MemoryDatabases,
                             _ txn: borrowing Transaction<Mode>) throws -> Memory? {
        try txn.withValue(for: Keys.memory(collection, id), in: databases.memories) { bytes in
            try bytes.map { try Coding.decodeMemory(from: $0, what: "memory \(id)").memory(id: id) }
        }
    }

    static func id<Mode>(callerID: String, collection: UInt32, databases: MemoryDatabases,
                         _ txn: borrowing Transaction<Mode>) throws -> MemoryID? {
        guard !callerID.isEmpty, callerID.utf8.count <= Keys.maxCallerIDBytes else { return nil }
        return try txn.integer(UInt32.self, for: Keys.callerID(collection, callerID), in: databases.callerIDs).map(MemoryID.init(rawValue:))
    }

    static func all<Mode>(collection: UInt32, databases: MemoryDatabases, _ txn: borrowing Transaction<Mode>) throws -> [Memory] {
        var memories: [Memory] = []
        var failure: (any Error)?
        try txn.forEach(in: databases.memories, prefix: Key(collection)) { key, value in
            var reader = KeyReader(key)
            _ = reader.readUInt32()
            guard let raw = reader.readUInt32() else { return true }
            do {
                memories.append(try Coding.decodeMemory(from: value, what: "memory \(raw)").memory(id: MemoryID(rawValue: raw)))
            } catch {
                failure = error
                return false
            }
            return true
        }
        if let failure { throw failure }
        return memories
    }
}
