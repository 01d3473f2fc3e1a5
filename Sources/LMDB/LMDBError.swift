internal import CLMDB

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// An error from an `mdb_*` call: an LMDB return code or an `errno` value, with LMDB's message.
public struct LMDBError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw return code of the failing call (an `MDB_*` code or an `errno` value).
    public let code: Int32
    /// What the wrapper was doing, when that helps the reader (for example the map-size limit).
    public let context: String?

    public init(code: Int32, context: String? = nil) {
        self.code = code
        self.context = context
    }

    /// LMDB's own text for ``code`` (`mdb_strerror`).
    public var message: String { String(cString: mdb_strerror(code)) }

    public var description: String {
        if let context { return "LMDB \(code): \(message) (\(context))" }
        return "LMDB \(code): \(message)"
    }

    public static func == (lhs: LMDBError, rhs: LMDBError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The key/data pair was not found (`MDB_NOTFOUND`).
    public static let notFound = LMDBError(code: MDB_NOTFOUND)
    /// The key already exists and `noOverwrite` was asked for (`MDB_KEYEXIST`).
    public static let keyExists = LMDBError(code: MDB_KEYEXIST)
    /// The memory map is full (`MDB_MAP_FULL`).
    public static let mapFull = LMDBError(code: MDB_MAP_FULL)
    /// Another process grew the map beyond this process's mapping (`MDB_MAP_RESIZED`).
    public static let mapResized = LMDBError(code: MDB_MAP_RESIZED)
    /// The file is not an LMDB data file (`MDB_INVALID`).
    public static let invalid = LMDBError(code: MDB_INVALID)
    /// The environment was written by an incompatible LMDB version (`MDB_VERSION_MISMATCH`).
    public static let versionMismatch = LMDBError(code: MDB_VERSION_MISMATCH)
    /// A page had the wrong type: the file is corrupt (`MDB_CORRUPTED`).
    public static let corrupted = LMDBError(code: MDB_CORRUPTED)
    /// The environment hit a fatal error and must be closed (`MDB_PANIC`).
    public static let panic = LMDBError(code: MDB_PANIC)
    /// The environment has more named databases than it was opened for (`MDB_DBS_FULL`).
    public static let databasesFull = LMDBError(code: MDB_DBS_FULL)
    /// The reader lock table is full (`MDB_READERS_FULL`).
    public static let readersFull = LMDBError(code: MDB_READERS_FULL)
    /// The transaction has too many dirty pages (`MDB_TXN_FULL`).
    public static let transactionFull = LMDBError(code: MDB_TXN_FULL)
    /// A value or key had an unsupported size (`MDB_BAD_VALSIZE`).
    public static let badValueSize = LMDBError(code: MDB_BAD_VALSIZE)
    /// The named database was opened with incompatible flags (`MDB_INCOMPATIBLE`).
    public static let incompatible = LMDBError(code: MDB_INCOMPATIBLE)
    /// A file or directory does not exist (`ENOENT`).
    public static let noSuchFile = LMDBError(code: ENOENT)
    /// The process may not access the file (`EACCES`).
    public static let permissionDenied = LMDBError(code: EACCES)
    /// The environment is read-only (`EACCES` on a write transaction of a read-only environment).
    public static let readOnly = LMDBError(code: EACCES, context: "the environment was opened read-only")
    /// No space is left on the device (`ENOSPC`).
    public static let noSpace = LMDBError(code: ENOSPC)
}

/// Turns an `mdb_*` return code into a thrown ``LMDBError``.
@inline(__always)
func check(_ rc: Int32) throws(LMDBError) {
    guard rc == MDB_SUCCESS else { throw LMDBError(code: rc) }
}
