internal import CLMDB

#if canImport(Glibc)
internal import Glibc
#endif

/// A position in a database, alive only inside ``Transaction/withCursor(on:_:)``.
///
/// Moves return `true` when the cursor rests on an entry and `false` when there is none.
public struct Cursor<Mode: TransactionMode>: ~Copyable {
    let handle: OpaquePointer
    let writeState: WriteState?
    private var key = MDB_val()
    private var value = MDB_val()

    init(handle: OpaquePointer, writeState: WriteState?) {
        self.handle = handle
        self.writeState = writeState
    }

    private mutating func move(_ op: MDB_cursor_op) throws -> Bool {
        let rc = mdb_cursor_get(handle, &key, &value, op)
        if rc == MDB_NOTFOUND { return false }
        if rc == EINVAL && op == MDB_GET_CURRENT { return false }  // not positioned
        guard rc == MDB_SUCCESS else { throw LMDBError(code: rc) }
        return true
    }

    /// Moves to the first entry (`MDB_FIRST`).
    public mutating func first() throws -> Bool { try move(MDB_FIRST) }
    /// Moves to the last entry (`MDB_LAST`).
    public mutating func last() throws -> Bool { try move(MDB_LAST) }
    /// Moves to the next entry (`MDB_NEXT`).
    public mutating func next() throws -> Bool { try move(MDB_NEXT) }
    /// Moves to the previous entry (`MDB_PREV`).
    public mutating func previous() throws -> Bool { try move(MDB_PREV) }
    /// Re-reads the entry under the cursor, `false` when it rests past the end (`MDB_GET_CURRENT`).
    public mutating func current() throws -> Bool { try move(MDB_GET_CURRENT) }

    /// Moves to the first entry whose key is not less than `target` (`MDB_SET_RANGE`).
    public mutating func seek<K: LMDBKey>(atLeast target: K) throws -> Bool {
        try target.withKeyBytes { (bytes) throws -> Bool in
            key = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            return try move(MDB_SET_RANGE)
        }
    }

    /// Moves to the entry whose key is exactly `target` (`MDB_SET_KEY`).
    public mutating func seek<K: LMDBKey>(exactly target: K) throws -> Bool {
        try target.withKeyBytes { (bytes) throws -> Bool in
            key = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            return try move(MDB_SET_KEY)
        }
    }

    /// Calls `body` with the key and value under the cursor (after a move that returned `true`).
    /// - Warning: The buffers point into the memory map and are valid only during `body`.
    public func withCurrent<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
                 UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// A copy of the key under the cursor.
    public var currentKey: [UInt8] { Array(UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size)) }
}

extension Cursor where Mode == ReadWrite {
    /// Deletes the entry under the cursor; the cursor then rests on the next entry, if any
    /// (check with ``current()``).
    public mutating func deleteCurrent() throws {
        let rc = mdb_cursor_del(handle, 0)
        guard rc == MDB_SUCCESS else {
            if rc == MDB_MAP_FULL { writeState?.mapFull = true }
            throw LMDBError(code: rc)
        }
    }
}
