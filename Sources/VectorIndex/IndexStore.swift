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
    private let latestSnapshot = Mutex<SnapshotViewsBox?>(nil)
    private let lock = Mutex<DatabaseLockBox?>(nil)

    /// Opens the index database in `path`, creating it when the directory is missing or empty
    /// (unless `options.createIfMissing` is off or the environment is read-only).
    ///
    /// - Throws: ``IndexError/notAHindsightDatabase(path:reason:)`` for a directory holding
    ///   anything else, ``IndexError/unsupportedFormatVersion(found:supported:)`` for a database
    ///   from a newer Hindsight; in both cases nothing on disk is changed.
    /// A writable store holds ``DatabaseLock/shared(directory:)`` while open (pass `lock` to use one
    /// already held, such as compaction's exclusive lock).
    public convenience init(path: String, options: EnvironmentOptions = EnvironmentOptions(), lock: DatabaseLock? = nil) throws {
        let preflight = try DatabaseDirectory.inspect(path: path, create: options.createIfMissing && !options.readOnly)
        let environment: Environment
        do {
            environment = try Environment(path: path, options: options)
        } catch let error as LMDBError {
            preflight.undoLockFile()
            if error.code == LMDBError.invalid.code || error.code == LMDBError.versionMismatch.code {
                throw IndexError.notAHindsightDatabase(path: path, reason: "data.mdb is not a readable LMDB file (\(error.message))")
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
                self.lock.withLock { $0 = DatabaseLockBox(lock: held) }
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
                        try txn.put(withUnsafeBytes(of: IndexFormat.version.littleEndian) { Array($0) }, for: "format-version", in: meta)
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
                (try txn.value(for: "magic", in: meta), try txn.withValue(for: "format-version", in: meta) { bytes in
                    bytes.flatMap { $0.count == 4 ? UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) : nil }
                })
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
                try txn.withValue(for: "format-version", in: databases.meta) { bytes in
                    bytes.map { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } ?? 0
                }
            }
        }
    }

    // MARK: - Transactions

    /// Runs `body` in a read transaction: a consistent snapshot of the last commit.
    public func read<R>(_ body: (borrowing IndexReader) throws -> R) throws -> R {
        try storage {
            try environment.read { txn in
                let views = snapshotViews(transactionID: txn.id)
                return try body(IndexReader(store: self, transaction: txn, views: views.views))
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
    private func snapshotViews(transactionID: Int) -> SnapshotViewsBox {
        let generation = environment.mapGeneration
        return latestSnapshot.withLock { latest in
            if let latest, latest.views.transactionID == transactionID, latest.views.mapGeneration == generation {
                return latest
            }
            let fresh = SnapshotViewsBox(views: SnapshotViews(transactionID: transactionID, mapGeneration: generation))
            if latest == nil || latest!.views.transactionID <= transactionID { latest = fresh }
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
    private struct State {
        var spaces: [SpaceID: SpaceView] = [:]
        var graphs: [GraphID: GraphView] = [:]
    }
    private let state = Mutex<UnsafeState>(UnsafeState(State()))
    private struct UnsafeState: @unchecked Sendable {
        var value: State
        init(_ value: State) { self.value = value }
    }

    init(transactionID: Int, mapGeneration: Int) {
        self.transactionID = transactionID
        self.mapGeneration = mapGeneration
    }

    func space(_ id: SpaceID, build: () throws -> SpaceView) rethrows -> SpaceView {
        try state.withLock { state in
            if let view = state.value.spaces[id] { return view }
            let view = try build()
            state.value.spaces[id] = view
            return view
        }
    }

    func graph(_ id: GraphID, build: () throws -> GraphView) rethrows -> GraphView {
        if let view = state.withLock({ $0.value.graphs[id] }) { return view }
        let view = try build()
        return state.withLock { state in
            if let existing = state.value.graphs[id] { return existing }
            state.value.graphs[id] = view
            return view
        }
    }
}

struct DatabaseLockBox: Sendable {
    let lock: DatabaseLock
}

struct SnapshotViewsBox: @unchecked Sendable {
    let views: SnapshotViews
}

/// Checks a directory before LMDB touches it, so that opening something that is not a Hindsight
/// database changes nothing on disk.
struct DatabaseDirectory {
    let path: String
    /// Whether `lock.mdb` was absent before opening (LMDB creates it).
    let lockFileWasMissing: Bool

    static let lmdbMagic: UInt32 = 0xBEEF_C0DE
    // Offsets in a meta page (64-bit LMDB 0.9): after the 16-byte page header come mm_magic,
    // mm_version, mm_address, mm_mapsize, two 48-byte MDB_db records (the first one's md_pad holds
    // the page size), mm_last_pg and mm_txnid.
    static let metaPageSizeOffset = 16 + 4 + 4 + 8 + 8
    static let metaLastPageOffset = 16 + 4 + 4 + 8 + 8 + 2 * 48
    static let metaTransactionOffset = metaLastPageOffset + 8

    static func inspect(path: String, create: Bool) throws -> DatabaseDirectory {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if create { return DatabaseDirectory(path: path, lockFileWasMissing: true) }
            throw IndexError.notAHindsightDatabase(path: path, reason: "the directory does not exist")
        }
        guard isDirectory.boolValue else {
            throw IndexError.notAHindsightDatabase(path: path, reason: "it is a file, not a directory")
        }
        let dataPath = path + "/data.mdb"
        let lockMissing = !files.fileExists(atPath: path + "/lock.mdb")
        guard files.fileExists(atPath: dataPath) else {
            let contents = (try? files.contentsOfDirectory(atPath: path)) ?? []
            if contents.isEmpty && create { return DatabaseDirectory(path: path, lockFileWasMissing: lockMissing) }
            throw IndexError.notAHindsightDatabase(path: path, reason: contents.isEmpty ? "the directory is empty" : "it has no data.mdb")
        }
        guard let handle = FileHandle(forReadingAtPath: dataPath) else {
            throw IndexError.notAHindsightDatabase(path: path, reason: "data.mdb cannot be read")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 152)) ?? Data()
        guard head.count >= 152 else {
            throw IndexError.notAHindsightDatabase(path: path, reason: "data.mdb is truncated (\(head.count) bytes)")
        }
        let magic = head.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) }
        guard magic == lmdbMagic else {
            throw IndexError.notAHindsightDatabase(path: path, reason: "data.mdb is not an LMDB file")
        }
        // LMDB's two meta pages (page 0 and page 1) name the last page in use: a file shorter than
        // that was truncated, and reading it would fault.
        let pageSize = head.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: Self.metaPageSizeOffset, as: UInt32.self))) }
        let fileSize = (try? handle.seekToEnd()).map(Int.init) ?? 0
        guard pageSize >= 512, pageSize <= 65_536, pageSize.nonzeroBitCount == 1, fileSize >= 2 * pageSize else {
            throw IndexError.corrupt("\(dataPath) is truncated or damaged (\(fileSize) bytes)")
        }
        try handle.seek(toOffset: UInt64(pageSize))
        let second = (try? handle.read(upToCount: 152)) ?? Data()
        func meta(_ page: Data) -> (lastPage: Int, transaction: UInt64)? {
            guard page.count >= 152, page.withUnsafeBytes({ UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self)) }) == lmdbMagic else { return nil }
            return page.withUnsafeBytes { (Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: Self.metaLastPageOffset, as: UInt64.self))),
                                           UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: Self.metaTransactionOffset, as: UInt64.self))) }
        }
        let metas = [meta(head), meta(second)].compactMap { $0 }
        guard let newest = metas.max(by: { $0.transaction < $1.transaction }) else {
            throw IndexError.corrupt("\(dataPath) has no valid LMDB meta page")
        }
        guard fileSize >= (newest.lastPage + 1) * pageSize else {
            throw IndexError.corrupt("\(dataPath) is truncated: its last page is \(newest.lastPage) but it holds \(fileSize / pageSize) pages")
        }
        return DatabaseDirectory(path: path, lockFileWasMissing: lockMissing)
    }

    /// Removes the lock file LMDB created while opening a directory that turned out unusable.
    func undoLockFile() {
        if lockFileWasMissing { try? FileManager.default.removeItem(atPath: path + "/lock.mdb") }
    }
}
