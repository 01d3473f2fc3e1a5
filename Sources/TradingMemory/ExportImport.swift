public import Foundation
import LMDB
import VectorIndex

/// A collection as an export carries it: its settings and creation date.
public struct ExportedCollection: Sendable, Hashable {
    public var name: String
    public var created: Date
    public var configuration: CollectionConfiguration
    /// Its memories, live and pending.
    public var memoryCount: Int

    public init(name: String, created: Date, configuration: CollectionConfiguration, memoryCount: Int = 0) {
        self.name = name
        self.created = created
        self.configuration = configuration
        self.memoryCount = memoryCount
    }
}

/// A memory to import into a collection, with the status it had.
public struct ImportedMemory: Sendable {
    public var collection: String
    public var memory: NewMemory
    public var status: Memory.Status

    public init(collection: String, memory: NewMemory, status: Memory.Status) {
        self.collection = collection
        self.memory = memory
        self.status = status
    }
}

extension TradingMemoryStore {
    /// Reads every collection (or those named) and its memories with their vectors from one
    /// snapshot: `begin` gets the collections first, then for each collection `collection` and one
    /// `memory` call per memory (live and pending; texts, times, statuses, reinforcements).
    public func export(collections names: [String]? = nil, begin: ([ExportedCollection]) throws -> Void,
                       collection: (ExportedCollection) throws -> Void, memory: (Memory, [Float]) throws -> Void) throws {
        try read { reader, snapshot in
            let entries = try snapshot.allCollections(reader).filter { names == nil || names!.contains($0.name) }.sorted { $0.name < $1.name }
            if let names, let missing = names.first(where: { name in !entries.contains { $0.name == name } }) {
                throw TradingMemoryError.unknownCollection(missing)
            }
            let exported = entries.map {
                ExportedCollection(name: $0.name, created: $0.created, configuration: $0.configuration, memoryCount: $0.live + $0.pending)
            }
            try begin(exported)
            for (entry, described) in zip(entries, exported) {
                try collection(described)
                for stored in try MemoryLookup.all(collection: entry.id, databases: databases, reader.transaction) {
                    guard let vector = try reader.vector(stored.id.vectorID, in: entry.spaceID) else {
                        throw TradingMemoryError.storage("memory \(stored.id) of \(entry.name) has no vector")
                    }
                    try memory(stored, vector)
                }
            }
        }
    }

    /// Checks a memory as an add or import does before writing anything (ids, ticker, action,
    /// outcome, quality, times, metadata and, with `checkingVector`, the vector but not its
    /// dimension); `what` names it in errors (e.g. "line 7").
    public static func validate(_ memory: NewMemory, what: String, checkingVector: Bool = true) throws {
        try MemoryWriteState.validate(memory, what: what, checkingVector: checkingVector)
    }

    /// Creates `collections` (with their settings and creation dates) and adds `memories` in batches
    /// of `batch`, each batch one transaction. Everything that can be checked is checked before the
    /// first commit — every memory (``validate(_:what:)``, its dimension), caller ids repeated in the
    /// input, collections that exist without `merge`, caller ids already in a merged collection — so
    /// that a refused import writes nothing. With `skipExisting`, memories whose caller id the
    /// collection already holds are left out instead (running an interrupted import again completes
    /// it). A killed import keeps every batch it committed. `progress` receives the memories written
    /// so far and the total. Returns the memories written.
    @discardableResult
    public func importCollections(_ collections: [ExportedCollection], memories: [ImportedMemory], merge: Bool, skipExisting: Bool = false,
                                  batch: Int = 1_000, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        // Checks, in one read snapshot.
        var memories = memories
        try read { reader, snapshot in
            var seen: [String: Set<String>] = [:]
            var existing: [String: CatalogEntry] = [:]
            for collection in collections {
                try Self.validateCollectionName(collection.name)
                try collection.configuration.validate()
                guard seen.updateValue([], forKey: collection.name) == nil else {
                    throw TradingMemoryError.invalidArgument("collection '\(collection.name)' appears twice")
                }
                if let entry = try snapshot.collectionIfPresent(collection.name, reader) {
                    guard merge else { throw TradingMemoryError.collectionExists(collection.name) }
                    guard entry.configuration.dimension == collection.configuration.dimension else {
                        throw TradingMemoryError.dimensionMismatch(collection: collection.name, expected: entry.configuration.dimension,
                                                                   actual: collection.configuration.dimension)
                    }
                    existing[collection.name] = entry
                }
            }
            var kept: [ImportedMemory] = []
            for (index, imported) in memories.enumerated() {
                guard let collection = collections.first(where: { $0.name == imported.collection }) else {
                    throw TradingMemoryError.unknownCollection(imported.collection)
                }
                let what = "memory \(index + 1) of \(memories.count)"
                try MemoryWriteState.validate(imported.memory, what: what)
                guard imported.memory.vector.count == collection.configuration.dimension else {
                    throw TradingMemoryError.dimensionMismatch(collection: collection.name, expected: collection.configuration.dimension,
                                                               actual: imported.memory.vector.count)
                }
                if let callerID = imported.memory.callerID {
                    guard seen[collection.name]!.insert(callerID).inserted else { throw TradingMemoryError.duplicateIDInBatch(callerID) }
                    if let entry = existing[collection.name],
                       try MemoryLookup.id(callerID: callerID, collection: entry.id, databases: databases, reader.transaction) != nil {
                        guard skipExisting else { throw TradingMemoryError.duplicateID(callerID) }
                        continue
                    }
                }
                kept.append(imported)
            }
            memories = kept
        }
        for collection in collections {
            try write { writer, state in
                if let existing = try state.collectionIfPresent(collection.name, writer) {
                    guard merge else { throw TradingMemoryError.collectionExists(collection.name) }
                    guard existing.configuration.dimension == collection.configuration.dimension else {
                        throw TradingMemoryError.dimensionMismatch(collection: collection.name, expected: existing.configuration.dimension,
                                                                   actual: collection.configuration.dimension)
                    }
                    return
                }
                try collection.configuration.validate()
                _ = try state.createCollection(collection.name, configuration: collection.configuration, created: collection.created, writer)
            }
        }
        var done = 0
        for collection in collections {
            let members = memories.filter { $0.collection == collection.name }
            for start in stride(from: 0, to: members.count, by: max(1, batch)) {
                let slice = members[start..<min(start + max(1, batch), members.count)]
                try write { writer, state in
                    let live = slice.filter { $0.status == .live }.map(\.memory)
                    if !live.isEmpty { _ = try state.add(live, to: collection.name, upsert: false, status: .live, writer) }
                    let pending = slice.filter { $0.status == .pending }.map(\.memory)
                    if !pending.isEmpty { _ = try state.add(pending, to: collection.name, upsert: false, status: .pending, writer) }
                }
                done += slice.count
                progress?(done, memories.count)
            }
        }
        return memories.count
    }

    /// Rebuilds collection `name` with `configuration` (a new embedding model and dimension, say) and
    /// `memories` — every memory of the collection, live and pending, with new vectors — durably:
    /// they are written to a staging collection in batches, then one transaction drops the old
    /// collection and gives the staging one its name. Killed before that transaction, the old
    /// collection is intact (the staging one is cleared by the next run); after it, only the new one
    /// exists. Caller ids, times, texts, outcomes, metadata and reinforcements are kept; engine ids
    /// are assigned anew. Returns the memories written.
    @discardableResult
    public func replaceCollection(_ name: String, configuration: CollectionConfiguration, memories: [ImportedMemory], batch: Int = 1_000,
                                  progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        let original = try collection(name)
        let staging = "replacing:\(try read { reader, snapshot in try snapshot.collection(name, reader).id })"
        if try read({ reader, snapshot in try snapshot.collectionIfPresent(staging, reader) }) != nil {
            try dropCollection(staging)  // left by an interrupted run
        }
        let moved = memories.map { ImportedMemory(collection: staging, memory: $0.memory, status: $0.status) }
        let written = try importCollections([ExportedCollection(name: staging, created: original.created, configuration: configuration)],
                                            memories: moved, merge: false, batch: batch, progress: progress)
        try write { writer, state in try state.replaceCollection(name, with: staging, writer) }
        return written
    }
}
