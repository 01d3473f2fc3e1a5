internal import CLMDB
import Dispatch
import Dispatching
import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// How an environment is opened.
public struct EnvironmentOptions: Sendable {
    /// How hard a commit tries to reach the disk.
    public enum Durability: Sendable {
        /// Every commit is flushed to disk (`fsync`) before it returns: survives a power failure.
        case full
        /// The data is flushed, but not the meta page: a power failure may undo the last commit,
        /// never corrupt the database (`MDB_NOMETASYNC`).
        case noMetaSync
        /// Nothing is flushed by a commit: a crash of the process loses nothing, a crash of the
        /// machine may lose recent commits (`MDB_NOSYNC`). For tests and scratch databases.
        case none
    }

    /// The initial size of the memory map, in bytes; it grows on demand.
    public var mapSizeBytes: Int = 64 << 20
    /// The largest the map may grow to, in bytes, or `nil` for no limit. A write that needs more
    /// fails with ``LMDBError/mapFull`` and leaves every committed transaction intact.
    public var maxMapSizeBytes: Int? = nil
    /// The number of named databases the environment may hold.
    public var maxDatabases: Int = 32
    /// The number of concurrent readers (threads or processes) the lock table holds.
    public var maxReaders: Int = 512
    /// Open without write access (`MDB_RDONLY`).
    public var readOnly: Bool = false
    /// Create the directory (and the database inside it) when missing.
    public var createIfMissing: Bool = true
    /// How a commit reaches the disk.
    public var durability: Durability = .full

    public init(mapSizeBytes: Int = 64 << 20, maxMapSizeBytes: Int? = nil, maxDatabases: Int = 32,
                maxReaders: Int = 512, readOnly: Bool = false, createIfMissing: Bool = true,
                durability: Durability = .full) {
        self.mapSizeBytes = mapSizeBytes
        self.maxMapSizeBytes = maxMapSizeBytes
        self.maxDatabases = maxDatabases
        self.maxReaders = maxReaders
        self.readOnly = readOnly
        self.createIfMissing = createIfMissing
        self.durability = durability
    }
}

/// Facts about an open environment (`mdb_env_info` and `mdb_env_stat`).
public struct EnvironmentInfo: Sendable, Equatable {
    /// The size of the memory map, in bytes.
    public var mapSizeBytes: Int
    /// The database page size, in bytes.
    public var pageSizeBytes: Int
    /// The number of the last page in use.
    public var lastPageNumber: Int
    /// The id of the last committed transaction.
    public var lastTransactionID: Int
    /// The size of the reader lock table.
    public var maxReaders: Int
    /// The reader slots in use.
    public var readers: Int
    /// The bytes of the map in use (pages up to the last used page).
    public var usedBytes: Int { (lastPageNumber + 1) * pageSizeBytes }
}

/// An LMDB environment: one database directory, memory-mapped, shared by every thread of the process.
///
/// Open one `Environment` per directory per process. Reads run concurrently on any thread; writes are
/// serialised by the environment (one write transaction at a time in this process, and LMDB's lock
/// across processes). A write that fills the map grows it and runs again.
public final class Environment: @unchecked Sendable {
    // Sendable: `handle` is only read after `mdb_env_open`; LMDB synchronises its own state, the gate
    // guards map resizes, `writeLock` serialises writers and the pools sit behind mutexes.
    let handle: OpaquePointer
    /// The directory holding `data.mdb` and `lock.mdb`.
    public let path: String
    /// The options the environment was opened with.
    public let options: EnvironmentOptions
    private let gate = ReaderWriterGate()
    private let writeLock = Mutex<Void>(())
    private let readPool = Mutex<[PooledTransaction]>([])
    private let databases = Mutex<[String: Database]>([:])
    private let writeQueue = DispatchQueue(label: "hindsight.lmdb.writer")
    private let isClosed = Atomic<Bool>(false)
    private let resizeCount = Atomic<Int>(0)

    /// How many times this process has remapped the environment. Pointers into the map taken
    /// before a remap are invalid after it, even for the same snapshot.
    package var mapGeneration: Int { resizeCount.load(ordering: .acquiring) }

    /// Opens (and, with `createIfMissing`, creates) the environment in the directory `path`.
    /// - Throws: ``LMDBError`` when the directory cannot be opened or is not an LMDB environment.
    public init(path: String, options: EnvironmentOptions = EnvironmentOptions()) throws {
        self.path = path
        self.options = options
        if !options.readOnly && options.createIfMissing { try Environment.makeDirectories(path) }
        var env: OpaquePointer?
        try check(mdb_env_create(&env))
        guard let env else { throw LMDBError(code: ENOMEM) }
        var flags = UInt32(MDB_NOTLS)
        if options.readOnly { flags |= UInt32(MDB_RDONLY) }
        switch options.durability {
        case .full: break
        case .noMetaSync: flags |= UInt32(MDB_NOMETASYNC)
        case .none: flags |= UInt32(MDB_NOSYNC)
        }
        do {
            try check(mdb_env_set_maxdbs(env, MDB_dbi(options.maxDatabases)))
            try check(mdb_env_set_maxreaders(env, UInt32(options.maxReaders)))
            try check(mdb_env_set_mapsize(env, max(options.mapSizeBytes, 1 << 16)))
            try check(mdb_env_open(env, path, flags, 0o644))
        } catch {
            mdb_env_close(env)
            throw LMDBError(code: error.code, context: path)
        }
        handle = env
        var dead: Int32 = 0
        _ = mdb_reader_check(env, &dead)  // free the slots of readers that died (a killed process)
        if let limit = options.maxMapSizeBytes, info.mapSizeBytes > limit {
            // An existing file larger than the limit: the limit cannot be honoured, say so now.
            close()
            throw LMDBError(code: MDB_MAP_FULL, context: "the database is larger than the map size limit of \(limit) bytes")
        }
    }

    deinit { close() }

    /// `mkdir -p`: creates `path` and any missing parents.
    private static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component + "/"
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw LMDBError(code: errno, context: path) }
        }
    }

    /// Closes the environment. Every transaction must have ended; later calls do nothing.
    public func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let pooled = readPool.withLock { pool in defer { pool.removeAll() }; return pool }
        for txn in pooled { mdb_txn_abort(txn.handle) }
        mdb_env_close(handle)
    }

    // MARK: - Named databases

    /// Opens the named database `name`, creating it when `create` is set (in a write transaction of
    /// its own). The handle stays valid until the environment closes.
    public func openDatabase(named name: String, flags: DatabaseFlags = [], create: Bool = true) throws -> Database {
        if let known = databases.withLock({ $0[name] }) { return known }
        // mdb_dbi_open must not run in two transactions of the process at once: hold the writer lock.
        return try writeLock.withLock { _ throws -> Database in
            if let known = databases.withLock({ $0[name] }) { return known }
            gate.lockShared()
            defer { gate.unlock() }
            var txn: OpaquePointer?
            let readOnly = options.readOnly || !create
            try check(mdb_txn_begin(handle, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn))
            var dbi: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, name, flags.rawValue | (readOnly ? 0 : UInt32(MDB_CREATE)), &dbi)
            guard rc == MDB_SUCCESS else { mdb_txn_abort(txn); throw LMDBError(code: rc, context: "database \(name)") }
            try check(mdb_txn_commit(txn))
            let database = Database(dbi: dbi, name: name)
            databases.withLock { $0[name] = database }
            return database
        }
    }

    /// Opens (creating them when missing) the named databases `names` and runs `initialize` in the
    /// same write transaction, so that another process sees either none of them or all of them with
    /// what `initialize` wrote. The handles are cached once the transaction commits.
    public func createDatabases(named names: [String],
                                initialize: (borrowing WriteTransaction, [String: Database]) throws -> Void) throws -> [String: Database] {
        let handles = try write { txn -> [String: Database] in
            var handles: [String: Database] = [:]
            for name in names {
                var dbi: MDB_dbi = 0
                let rc = mdb_dbi_open(txn.handle, name, UInt32(MDB_CREATE), &dbi)
                guard rc == MDB_SUCCESS else { throw LMDBError(code: rc, context: "database \(name)") }
                handles[name] = Database(dbi: dbi, name: name)
            }
            try initialize(txn, handles)
            return handles
        }
        databases.withLock { known in for (name, handle) in handles { known[name] = handle } }
        return handles
    }

    /// The named databases in the environment (the keys of its main database).
    public func databaseNames() throws -> [String] {
        try read { txn throws in
            var names: [String] = []
            try txn.withCursor(on: Database(dbi: 1, name: nil)) { cursor throws in
                var more = try cursor.first()
                while more {
                    cursor.withCurrent { key, _ in names.append(String(decoding: key, as: UTF8.self)) }
                    more = try cursor.next()
                }
            }
            return names
        }
    }

    // MARK: - Transactions

    /// Runs `body` in a read-only transaction: a consistent snapshot of the last commit.
    ///
    /// Many reads run at once, on any threads. Do not start a transaction inside `body`.
    public func read<R>(_ body: (borrowing ReadTransaction) throws -> R) throws -> R {
        precondition(!isClosed.load(ordering: .relaxed), "Environment used after close()")
        gate.lockShared()
        var txn: OpaquePointer
        do {
            txn = try beginRead()
        } catch let error as LMDBError where error.code == MDB_MAP_RESIZED {
            gate.unlock()
            try adoptMapSizeOfOtherProcess()
            gate.lockShared()
            do { txn = try beginRead() } catch { gate.unlock(); throw error }
        } catch {
            gate.unlock()
            throw error
        }
        defer {
            mdb_txn_reset(txn)
            let kept = readPool.withLock { pool -> Bool in
                guard pool.count < 64 else { return false }
                pool.append(PooledTransaction(handle: txn))
                return true
            }
            if !kept { mdb_txn_abort(txn) }
            gate.unlock()
        }
        return try body(ReadTransaction(handle: txn, writeState: nil))
    }

    private func beginRead() throws -> OpaquePointer {
        if let pooled = readPool.withLock({ $0.popLast() })?.handle {
            let rc = mdb_txn_renew(pooled)
            if rc == MDB_SUCCESS { return pooled }
            mdb_txn_abort(pooled)
            if rc == MDB_MAP_RESIZED { throw LMDBError.mapResized }
        }
        var txn: OpaquePointer?
        try check(mdb_txn_begin(handle, nil, UInt32(MDB_RDONLY), &txn))
        return txn!
    }

    /// Runs `body` in a write transaction: commits if it returns, aborts if it throws.
    ///
    /// `body` is synchronous on purpose: a write transaction must end on the thread that began it.
    /// When the map fills up, the transaction is aborted, the map grows (up to
    /// ``EnvironmentOptions/maxMapSizeBytes``) and `body` runs again from the start, so `body` must
    /// have no effects outside the transaction. Writers of this process wait for each other.
    /// - Throws: what `body` throws, or an ``LMDBError`` (``LMDBError/mapFull`` past the limit).
    public func write<R>(_ body: (borrowing WriteTransaction) throws -> R) throws -> R {
        precondition(!isClosed.load(ordering: .relaxed), "Environment used after close()")
        if options.readOnly { throw LMDBError.readOnly }
        return try writeLock.withLock { _ in
            while true {
                gate.lockShared()
                var raw: OpaquePointer?
                let begin = mdb_txn_begin(handle, nil, 0, &raw)
                if begin == MDB_MAP_RESIZED {
                    gate.unlock()
                    try adoptMapSizeOfOtherProcess()
                    continue
                }
                guard begin == MDB_SUCCESS, let txn = raw else {
                    gate.unlock()
                    throw LMDBError(code: begin)
                }
                let state = WriteState()
                let result: R
                do {
                    result = try body(WriteTransaction(handle: txn, writeState: state))
                } catch {
                    mdb_txn_abort(txn)
                    gate.unlock()
                    if state.mapFull { try growMap(); continue }
                    throw error
                }
                if state.mapFull {  // body swallowed the error: the transaction is unusable anyway
                    mdb_txn_abort(txn)
                    gate.unlock()
                    try growMap()
                    continue
                }
                let commit = mdb_txn_commit(txn)  // frees `txn`, even when it fails
                gate.unlock()
                if commit == MDB_MAP_FULL { try growMap(); continue }
                if commit != MDB_SUCCESS { throw committingError(commit) }
                return result
            }
        }
    }

    /// Runs `body` in a write transaction on the environment's writer queue, so that an async caller
    /// never blocks a cooperative thread on LMDB's writer lock. See ``write(_:)``.
    public func writeAsync<R: Sendable>(_ body: @escaping @Sendable (borrowing WriteTransaction) throws -> R) async throws -> R {
        try await writeQueue.run { try self.write(body) }
    }

    /// The error of a commit that failed. LMDB reports a write cut short by a full disk as `EIO`
    /// (a short `pwrite`); when the filesystem holding the database has (almost) no space left, the
    /// error says so, as `ENOSPC`. Either way the transaction was rolled back whole.
    func committingError(_ code: Int32) -> LMDBError {
        guard code == EIO || code == ENOSPC else { return LMDBError(code: code) }
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return LMDBError(code: code) }
        let free = UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
        guard code == ENOSPC || free < 4 << 20 else { return LMDBError(code: code) }
        return LMDBError(code: ENOSPC, context: "the filesystem holding \(path) has \(free) bytes free; "
                         + "free some space and retry; the transaction was rolled back, nothing of it was written")
    }

    // MARK: - Map size

    private func growMap() throws {
        let current = info.mapSizeBytes
        var next = current < (1 << 30) ? current * 2 : current + (1 << 30)
        if let limit = options.maxMapSizeBytes {
            guard current < limit else {
                throw LMDBError(code: MDB_MAP_FULL, context: "the map size limit of \(limit) bytes is reached")
            }
            next = min(next, limit)
        }
        try resizeMap(to: next)
    }

    /// Grows the map to at least `bytes`. Waits for every transaction of the process to end.
    public func resizeMap(to bytes: Int) throws {
        try gate.withExclusive { () throws in
            let pooled = readPool.withLock { pool in defer { pool.removeAll() }; return pool }
            for txn in pooled { mdb_txn_abort(txn.handle) }
            try check(mdb_env_set_mapsize(handle, bytes))
            resizeCount.add(1, ordering: .releasing)
        }
    }

    private func adoptMapSizeOfOtherProcess() throws {
        try resizeMap(to: 0)
    }

    // MARK: - Facts and maintenance

    /// The map size, page size, last page and transaction of the environment.
    public var info: EnvironmentInfo {
        var envInfo = MDB_envinfo()
        mdb_env_info(handle, &envInfo)
        var stat = MDB_stat()
        mdb_env_stat(handle, &stat)
        return EnvironmentInfo(mapSizeBytes: envInfo.me_mapsize, pageSizeBytes: Int(stat.ms_psize),
                               lastPageNumber: envInfo.me_last_pgno, lastTransactionID: envInfo.me_last_txnid,
                               maxReaders: Int(envInfo.me_maxreaders), readers: Int(envInfo.me_numreaders))
    }

    /// Writes a copy of the environment into the empty directory `directory` (`mdb_env_copy2`);
    /// with `compact`, free pages are left out and pages renumbered (`MDB_CP_COMPACT`).
    /// Runs beside readers and writers: the copy is a consistent snapshot.
    public func copy(to directory: String, compact: Bool) throws {
        gate.lockShared()
        defer { gate.unlock() }
        let rc = mdb_env_copy2(handle, directory, compact ? UInt32(MDB_CP_COMPACT) : 0)
        guard rc == MDB_SUCCESS else { throw LMDBError(code: rc, context: "copy to \(directory)") }
    }

    /// Flushes written data to disk (`mdb_env_sync` with force), for environments opened with
    /// relaxed durability.
    public func sync() throws {
        try check(mdb_env_sync(handle, 1))
    }

    /// Frees the reader slots of processes that died holding them; returns how many were freed.
    @discardableResult
    public func clearStaleReaders() -> Int {
        var dead: Int32 = 0
        _ = mdb_reader_check(handle, &dead)
        return Int(dead)
    }
}

/// A reset read transaction kept for reuse (`mdb_txn_renew`).
struct PooledTransaction: @unchecked Sendable {
    // Sendable: a reset transaction belongs to no thread; the pool hands it to one reader at a time.
    let handle: OpaquePointer
}

/// State a write transaction shares with ``Environment/write(_:)``: whether the map filled up.
final class WriteState {
    var mapFull = false
}
