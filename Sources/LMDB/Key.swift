/// Something that can be used as an LMDB key: it lends its bytes for the duration of a call.
public protocol LMDBKey {
    /// Calls `body` with the key's bytes; the buffer is valid only during `body`.
    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: LMDBKey where Element == UInt8 {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension String: LMDBKey {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

extension UnsafeRawBufferPointer: LMDBKey {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}

/// A short composite key built in place, without allocating: big-endian integers and bytes appended
/// in order, so that LMDB's default byte-wise comparison sorts keys by their fields.
///
/// Holds at most ``capacity`` bytes; appending past it is a programmer error and traps.
public struct Key: LMDBKey, Hashable, Sendable, CustomStringConvertible {
    /// The largest key this type holds, in bytes.
    public static let capacity = 40
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
    /// The number of bytes in the key.
    public private(set) var count: Int = 0

    /// An empty key.
    public init() {}

    /// A key holding `bytes`.
    public init(bytes: some Sequence<UInt8>) {
        for byte in bytes { append(byte) }
    }

    /// A key made of big-endian 32-bit fields.
    public init(_ fields: UInt32...) {
        for field in fields { append(bigEndian: field) }
    }

    /// Appends one byte.
    public mutating func append(_ byte: UInt8) {
        precondition(count < Key.capacity, "Key longer than \(Key.capacity) bytes")
        withUnsafeMutableBytes(of: &storage) { $0[count] = byte }
        count += 1
    }

    /// Appends a 16-bit integer in big-endian byte order.
    public mutating func append(bigEndian value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8)); append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends a 32-bit integer in big-endian byte order.
    public mutating func append(bigEndian value: UInt32) {
        for shift in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// Appends a 64-bit integer in big-endian byte order.
    public mutating func append(bigEndian value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// Appends a signed 64-bit integer so that byte order matches numeric order (sign bit flipped).
    public mutating func append(orderedSigned value: Int64) {
        append(bigEndian: UInt64(bitPattern: value) ^ (1 << 63))
    }

    /// Appends raw bytes.
    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        for byte in bytes { append(byte) }
    }

    /// The key's bytes as an array.
    public var bytes: [UInt8] { withKeyBytes { Array($0) } }

    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = storage
        let count = self.count
        return try withUnsafeBytes(of: &copy) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
    }

    public static func == (lhs: Key, rhs: Key) -> Bool { lhs.bytes == rhs.bytes }
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
    public var description: String { bytes.map { String($0, radix: 16) }.joined(separator: " ") }
}

/// Reads big-endian integers from key bytes handed out by a cursor.
public struct KeyReader {
    private let bytes: UnsafeRawBufferPointer
    /// The offset of the next field.
    public private(set) var offset = 0

    /// A reader over `bytes`, valid as long as `bytes` is.
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The number of bytes not read yet.
    public var remaining: Int { bytes.count - offset }

    /// Reads one byte, or `nil` past the end.
    public mutating func readByte() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a big-endian 32-bit integer, or `nil` past the end.
    public mutating func readUInt32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return value
    }

    /// Reads a big-endian 64-bit integer, or `nil` past the end.
    public mutating func readUInt64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return value
    }

    /// Reads a signed 64-bit integer written by ``Key/append(orderedSigned:)``.
    public mutating func readOrderedSigned() -> Int64? {
        readUInt64().map { Int64(bitPattern: $0 ^ (1 << 63)) }
    }

    /// The bytes not read yet.
    public var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[offset...]) }
}
