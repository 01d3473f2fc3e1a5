import Foundation
public import LMDB
import Synchronization

/// A Hindsight index database: vector spaces and HNSW graphs in one LMDB environment.
///
/// Opened by memory-mapping the directory; there is no load step. Reads run concurrently on any
/// thread, each in one LMDB read transaction; writes are serialised. Per snapshot, the store keeps
/// the addresses of every chunk of a graph in memory, so a search reads vectors and links straight
/// from the map with no lookup per visited node.
public final class IndexStore: @unchecked Sendable {
    // Sendable: `environment` and `databases` are immutable; the snapshot cache sits behind a mutex,
    // and the views it shares are never changed after they are built.
    /// The LMDB environment holding the index.
    public let environment: Environment
    let databases: IndexDatabases
    let pageSize: Int
    private let latestSnapshot = Mutex<SnapshotViews?>(nil)
    private let lock = Mutex<DatabaseLock?>(nil)

    /// Opens the index database in `path`, creating it when the directory is missing or empty
    /// (unless `options.createIfMissing` is off or the environment is read-only).
    ///
    /// - Throws: ``IndexError/notAHindsightDatabase(path:reason:)`` for a directory holding
    ///   anything else, ``IndexError/unsupportedFormatVersion(found:supported:)`` for a database
    ///   from a newer Hindsight; in both cases nothing on disk is changed.
    /// A writable store holds ``DatabaseLock/shared(directory:)`` while open (pass `lock` to use one
    /// already held, such as compaction's exclusive lock).
    public convenience init(path: String, options: EnvironmentOptions = EnvironmentOptions(), lock: DatabaseLock? = nil) throws {
        let preflight: DirectoryPreflight
        do {
            preflight = try DirectoryPreflight.inspect(path: path, create: options.createIfMissing && !options.readOnly)
        } catch {
            switch error {
            case .notADatabase(let path, let reason): throw IndexError.notAHindsightDatabase(path: path, reason: reason)
            case .damaged(let path, let reason): throw IndexError.corrupt("\(path) is \(reason)")
            }
        }
        let environment: Environment
        do {
            environment = try Environment(path: path, options: options)
        } catch let error as LMDBError {
            preflight.undoLockFile()
            if error.code == LMDBError.invalid.code || error.code == LMDBError.versionMismatch.code {
                throw IndexError.notAHindsightDatabase(path: path, reason: "\(DatabaseDirectory.dataFileName) is not a readable LMDB file (\(error.message))")
            }
            throw IndexError.storage(error)
        }
        do {
            try self.init(environment: environment)
        } catch {
            environment.close()
            preflight.undoLockFile()
            throw error
        }
        if !options.readOnly {
            do {
                let held = try lock ?? DatabaseLock.shared(directory: path)
                self.lock.withLock { $0 = held }
            } catch {
                environment.close()
                throw error
            }
        }
    }

    /// Opens the index inside an already open environment (creating its databases when the
    /// environment is empty and writable).
    public init(environment: Environment) throws {
        self.environment = environment
        pageSize = environment.info.pageSizeBytes
        let writable = !environment.options.readOnly
        // Is this a Hindsight database, a new one, or something else?
        let names = try storage { try environment.databaseNames() }
        if names.isEmpty {
            guard writable else { throw IndexError.notAHindsightDatabase(path: environment.path, reason: "it is empty") }
            // Create every database and sign the metadata in one transaction: a process opening the
            // directory at the same moment sees none of it or all of it.
            let handles = try storage {
                try environment.createDatabases(named: IndexDatabases.names) { txn, handles in
                    let meta = handles["meta"]!
                    if try txn.value(for: "magic", in: meta) == nil {
                        try txn.put(IndexFormat.magic, for: "magic", in: meta)
                        try txn.put(integer: IndexFormat.version, for: "format-version", in: meta)
                    }
                }
            }
            databases = try IndexDatabases(handles: handles)
            try Self.checkSignature(environment: environment, meta: databases.meta)
            return
        }
        guard names.contains("meta") else {
            throw IndexError.notAHindsightDatabase(path: environment.path, reason: "it has no Hindsight metadata (databases: \(names.sorted().joined(separator: ", ")))")
        }
        let meta = try storage { try environment.openDatabase(named: "meta", create: false) }
        try Self.checkSignature(environment: environment, meta: meta)
        let missing = IndexDatabases.names.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw IndexError.corrupt("databases missing: \(missing.joined(separator: ", "))")
        }
        databases = try IndexDatabases(environment: environment, create: false)
    }

    /// Checks the `magic` and `format-version` of the metadata.
    private static func checkSignature(environment: Environment, meta: Database) throws {
        let (magic, version) = try storage {
            try environment.read { txn in
                (try txn.value(for: "magic", in: meta), try? txn.integer(UInt32.self, for: "format-version", in: meta))
            }
        }
        guard magic == IndexFormat.magic, let version else {
            throw IndexError.notAHindsightDatabase(path: environment.path, reason: "its metadata has no Hindsight signature")
        }
        guard version <= IndexFormat.version else {
            throw IndexError.unsupportedFormatVersion(found: version, supported: IndexFormat.version)
        }
    }

    /// Closes the environment. No read or write may be running.
    public func close() {
        latestSnapshot.withLock { $0 = nil }
        environment.close()
        lock.withLock { $0 = nil }
    }

    /// The format version stored in the database.
    public func formatVersion() throws -> UInt32 {
        try storage {
            try environment.read { txn in
                try txn.integer(UInt32.self, for: "format-version", in: databases.meta) ?? 0
            }
        }
    }

    // MARK: - Transactions

    /// Runs `body` in a read transaction: a consistent snapshot of the last commit.
    public func read<R>(_ body: (borrowing IndexReader) throws -> R) throws -> R {
        try storage {
            try environment.read { txn in
                let views = snapshotViews(transactionID: txn.id)
                return try body(IndexReader(store: self, transaction: txn, views: views))
            }
        }
    }

    /// Runs `body` in a write transaction: the changes it makes through the writer are written back
    /// and committed when it returns, and discarded when it throws. When the map fills up, the
    /// environment grows it and `body` runs again from the start.
    public func write<R>(_ body: (inout IndexWriter) throws -> R) throws -> R {
        try storage {
            try environment.write { txn in
                var writer = IndexWriter(store: self, transaction: txn)
                let result = try body(&writer)
                try writer.flush()
                return result
            }
        }
    }

    /// The views of snapshot `transactionID`: the cached ones when a reader of the same snapshot
    /// built them, fresh ones otherwise (and cached when newer).
    private func snapshotViews(transactionID: Int) -> SnapshotViews {
        let generation = environment.mapGeneration
        return latestSnapshot.withLock { latest in
            if let latest, latest.transactionID == transactionID, latest.mapGeneration == generation {
                return latest
            }
            let fresh = SnapshotViews(transactionID: transactionID, mapGeneration: generation)
            if latest == nil || latest!.transactionID <= transactionID { latest = fresh }
            return fresh
        }
    }
}

/// The views of one snapshot, built lazily by its readers and shared among them.
final class SnapshotViews: @unchecked Sendable {
    // Sendable: the dictionaries sit behind the mutex; a view is immutable once built, and its
    // addresses are only dereferenced inside read transactions of this snapshot.
    let transactionID: Int
    let mapGeneration: Int
    private struct State: Sendable {
        var spaces: [SpaceID: VectorSpace] = [:]
        var graphs: [GraphID: HNSWGraph] = [:]
    }
    private let state = Mutex<State>(State())

    init(transactionID: Int, mapGeneration: Int) {
        self.transactionID = transactionID
        self.mapGeneration = mapGeneration
    }

    func space(_ id: SpaceID, build: () throws -> VectorSpace) rethrows -> VectorSpace {
        try state.withLock { state in
            if let view = state.spaces[id] { return view }
            let view = try build()
            state.spaces[id] = view
            return view
        }
    }

    func graph(_ id: GraphID, build: () throws -> HNSWGraph) rethrows -> HNSWGraph {
        if let view = state.withLock({ $0.graphs[id] }) { return view }
        let view = try build()
        return state.withLock { state in
            if let existing = state.graphs[id] { return existing }
            state.graphs[id] = view
            return view
        }
    }
}
