internal import CLMDB

/// A named database inside an ``Environment`` (an `MDB_dbi`). Valid until the environment closes.
public struct Database: Sendable, Hashable {
    let dbi: UInt32
    /// The database's name, or `nil` for the main database.
    public let name: String?
}

/// How a named database orders and stores its keys (flags of `mdb_dbi_open`).
public struct DatabaseFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Keys are native-endian `UInt32` or `UInt64` integers, compared as such (`MDB_INTEGERKEY`).
    public static let integerKey = DatabaseFlags(rawValue: UInt32(MDB_INTEGERKEY))
    /// Keys are compared from their last byte to their first (`MDB_REVERSEKEY`).
    public static let reverseKey = DatabaseFlags(rawValue: UInt32(MDB_REVERSEKEY))
}
