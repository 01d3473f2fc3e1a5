internal import CLMDB

/// Size-checked typed values (in the spirit of heed's codecs): integers stored little-endian in
/// exactly their width, so that no caller reads a raw value of unchecked size.
extension Transaction {
    /// The integer stored under `key` (little-endian, exactly `T`'s width), or nil when absent.
    /// - Throws: ``LMDBError/corrupted`` (with the key's database in the context) when the stored
    ///   value has another size.
    public func integer<T: FixedWidthInteger, K: LMDBKey>(_: T.Type, for key: K, in db: Database) throws -> T? {
        try withValue(for: key, in: db) { bytes in
            guard let bytes else { return nil }
            return try Self.decodeInteger(T.self, from: bytes)
        }
    }

    /// Decodes a little-endian integer that must fill `bytes` exactly.
    public static func decodeInteger<T: FixedWidthInteger>(_: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        guard bytes.count == MemoryLayout<T>.size else {
            throw LMDBError(code: MDB_CORRUPTED, context: "a \(MemoryLayout<T>.size)-byte value is \(bytes.count) bytes")
        }
        return T(littleEndian: bytes.loadUnaligned(as: T.self))
    }
}

extension Transaction where Mode == ReadWrite {
    /// Stores `value` under `key`, little-endian in exactly `T`'s width.
    public func put<T: FixedWidthInteger, K: LMDBKey>(integer value: T, for key: K, in db: Database) throws {
        try withUnsafeBytes(of: value.littleEndian) { try put($0, for: key, in: db) }
    }
}
