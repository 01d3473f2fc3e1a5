internal import CLMDB

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The kind of a transaction: ``ReadOnly`` or ``ReadWrite``.
public protocol TransactionMode {}
/// A transaction that only reads.
public enum ReadOnly: TransactionMode {}
/// A transaction that reads and writes.
public enum ReadWrite: TransactionMode {}

/// A read-only transaction: a consistent snapshot, alive only inside ``Environment/read(_:)``.
public typealias ReadTransaction = Transaction<ReadOnly>
/// A write transaction, alive only inside ``Environment/write(_:)``.
public typealias WriteTransaction = Transaction<ReadWrite>

/// An LMDB transaction. It exists only inside the closure that received it: `~Copyable` and
/// borrowed, it cannot escape, and it is never `Sendable` (a transaction belongs to one thread).
public struct Transaction<Mode: TransactionMode>: ~Copyable {
    let handle: OpaquePointer
    let writeState: WriteState?

    init(handle: OpaquePointer, writeState: WriteState?) {
        self.handle = handle
        self.writeState = writeState
    }

    /// A second handle on the same transaction, for wrappers in this package that hold one inside
    /// their own scoped, non-copyable type. It must not outlive `other`'s closure.
    package init(aliasing other: borrowing Transaction<Mode>) {
        self.init(handle: other.handle, writeState: other.writeState)
    }

    /// The transaction's id: the number of the snapshot it reads (`mdb_txn_id`). Two read
    /// transactions with the same id see exactly the same data.
    public var id: Int { mdb_txn_id(handle) }

    /// Turns a return code into an error, remembering a full map so the environment can grow it.
    @inline(__always)
    func checked(_ rc: Int32) throws {
        guard rc == MDB_SUCCESS else {
            if rc == MDB_MAP_FULL { writeState?.mapFull = true }
            throw LMDBError(code: rc)
        }
    }

    // MARK: Reading

    /// Calls `body` with the bytes stored under `key`, or `nil` if there are none.
    /// - Warning: The buffer points into the memory map. It is valid only during `body` and is only
    ///   2-byte aligned: copy out what you keep, and read numbers with `loadUnaligned`.
    public func withValue<K: LMDBKey, R>(for key: K, in db: Database,
                                                   _ body: (UnsafeRawBufferPointer?) throws -> R) throws -> R {
        var data = MDB_val()
        let rc = key.withKeyBytes { keyBytes -> Int32 in
            var mdbKey = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(handle, db.dbi, &mdbKey, &data)
        }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try checked(rc)
        return try body(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    /// A copy of the bytes stored under `key`, or `nil`.
    public func value<K: LMDBKey>(for key: K, in db: Database) throws -> [UInt8]? {
        try withValue(for: key, in: db) { $0.map { Array($0) } }
    }

    /// Whether `key` has a value in `db`.
    public func contains<K: LMDBKey>(_ key: K, in db: Database) throws -> Bool {
        try withValue(for: key, in: db) { $0 != nil }
    }

    /// The number of entries in `db` (`mdb_stat`).
    public func count(of db: Database) throws -> Int {
        var stat = MDB_stat()
        try checked(mdb_stat(handle, db.dbi, &stat))
        return Int(stat.ms_entries)
    }

    /// Page counts of `db` (`mdb_stat`): branch, leaf and overflow pages.
    public func pageCounts(of db: Database) throws -> DatabasePageCounts {
        var stat = MDB_stat()
        try checked(mdb_stat(handle, db.dbi, &stat))
        return DatabasePageCounts(branch: Int(stat.ms_branch_pages), leaf: Int(stat.ms_leaf_pages),
                                  overflow: Int(stat.ms_overflow_pages), entries: Int(stat.ms_entries),
                                  depth: Int(stat.ms_depth), pageSizeBytes: Int(stat.ms_psize))
    }

    /// Runs `body` with a cursor on `db`; the cursor is closed when `body` returns.
    public func withCursor<R>(on db: Database, _ body: (inout Cursor<Mode>) throws -> R) throws -> R {
        var raw: OpaquePointer?
        try checked(mdb_cursor_open(handle, db.dbi, &raw))
        var cursor = Cursor<Mode>(handle: raw!, writeState: writeState)
        defer { mdb_cursor_close(raw) }
        return try body(&cursor)
    }

    /// Calls `body` with each key and value of `db` in key order, starting at the first key that is
    /// not less than `start` (or at the first key), until `body` returns `false`.
    /// - Warning: The buffers point into the memory map and are valid only during the call.
    public func forEach(in db: Database, from start: (any LMDBKey)? = nil,
                                  _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try withCursor(on: db) { cursor in
            var more = try start.map { try cursor.seek(atLeast: $0) } ?? cursor.first()
            while more {
                guard try cursor.withCurrent(body) else { return }
                more = try cursor.next()
            }
        }
    }

    /// Calls `body` for each entry whose key starts with `prefix`, in key order, until it returns `false`.
    public func forEach(in db: Database, prefix: Key,
                                  _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try prefix.withKeyBytes { prefixBytes in
            try forEach(in: db, from: prefix) { key, value throws -> Bool in
                guard key.count >= prefixBytes.count,
                      memcmp(key.baseAddress!, prefixBytes.baseAddress!, prefixBytes.count) == 0 else { return false }
                return try body(key, value)
            }
        }
    }
}

/// Page counts of one database, from `mdb_stat`.
public struct DatabasePageCounts: Sendable, Equatable {
    public var branch: Int
    public var leaf: Int
    public var overflow: Int
    public var entries: Int
    public var depth: Int
    public var pageSizeBytes: Int
    /// Every page of the database, in bytes.
    public var bytes: Int { (branch + leaf + overflow) * pageSizeBytes }
}

extension Transaction where Mode == ReadWrite {
    /// Stores `value` under `key`, replacing any value there unless `noOverwrite` is set
    /// (then an existing key throws ``LMDBError/keyExists``).
    public func put<K: LMDBKey>(_ value: UnsafeRawBufferPointer, for key: K, in db: Database, noOverwrite: Bool = false) throws {
        let rc = key.withKeyBytes { keyBytes -> Int32 in
            var mdbKey = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var data = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
            return mdb_put(handle, db.dbi, &mdbKey, &data, noOverwrite ? UInt32(MDB_NOOVERWRITE) : 0)
        }
        try checked(rc)
    }

    /// Stores `bytes` under `key`. See ``put(_:for:in:noOverwrite:)-(UnsafeRawBufferPointer,_,_,_)``.
    public func put<K: LMDBKey>(_ bytes: [UInt8], for key: K, in db: Database, noOverwrite: Bool = false) throws {
        try bytes.withUnsafeBytes { (raw) throws in try put(raw, for: key, in: db, noOverwrite: noOverwrite) }
    }

    /// Reserves `count` bytes under `key` and lets `fill` write them in place, saving a copy
    /// (`MDB_RESERVE`). `fill` must write every byte.
    public func put<K: LMDBKey>(reservingCount count: Int, for key: K, in db: Database,
                                          _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        var data = MDB_val(mv_size: count, mv_data: nil)
        let rc = key.withKeyBytes { keyBytes -> Int32 in
            var mdbKey = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_put(handle, db.dbi, &mdbKey, &data, UInt32(MDB_RESERVE))
        }
        try checked(rc)
        try fill(UnsafeMutableRawBufferPointer(start: data.mv_data, count: count))
    }

    /// Deletes the value under `key`; returns whether there was one.
    @discardableResult
    public func delete<K: LMDBKey>(_ key: K, in db: Database) throws -> Bool {
        let rc = key.withKeyBytes { keyBytes -> Int32 in
            var mdbKey = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(handle, db.dbi, &mdbKey, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try checked(rc)
        return true
    }

    /// Deletes every entry whose key starts with `prefix`; returns how many were deleted.
    @discardableResult
    public func deleteAll(in db: Database, prefix: Key) throws -> Int {
        var deleted = 0
        try prefix.withKeyBytes { prefixBytes in
            try withCursor(on: db) { cursor in
                var more = try cursor.seek(atLeast: prefix)
                while more {
                    let matches = cursor.withCurrent { key, _ in
                        key.count >= prefixBytes.count && memcmp(key.baseAddress!, prefixBytes.baseAddress!, prefixBytes.count) == 0
                    }
                    guard matches else { break }
                    try cursor.deleteCurrent()
                    deleted += 1
                    more = try cursor.current()
                }
            }
        }
        return deleted
    }

    /// Removes every entry of `db`, keeping the database (`mdb_drop` with `del = 0`).
    public func removeAll(in db: Database) throws {
        try checked(mdb_drop(handle, db.dbi, 0))
    }
}

@available(*, unavailable, message: "an LMDB transaction belongs to one thread")
extension Transaction: Sendable {}
