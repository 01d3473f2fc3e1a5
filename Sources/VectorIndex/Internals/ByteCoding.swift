/// Appends little-endian fields to a byte array: the encoding of every fixed header on disk.
package struct ByteWriter {
    package private(set) var bytes: [UInt8] = []
    package init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    package mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    package mutating func write(_ value: Double) { write(value.bitPattern) }
    package mutating func write(_ value: Float) { write(value.bitPattern) }
    package mutating func write(bytes more: some Collection<UInt8>) { bytes.append(contentsOf: more) }
    /// A length-prefixed (u32) UTF-8 string.
    package mutating func write(string: String) {
        let utf8 = Array(string.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

/// Reads little-endian fields from bytes, failing with ``IndexError/corrupt(_:)`` past the end.
package struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private let what: String
    package private(set) var offset = 0

    /// A reader over `bytes` (valid as long as they are); `what` names the record in errors.
    package init(_ bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.what = what
    }

    package var remaining: Int { bytes.count - offset }

    package mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw IndexError.corrupt("\(what) is truncated at byte \(offset)") }
        defer { offset += size }
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
    package mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }
    package mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    package mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, remaining >= count else { throw IndexError.corrupt("\(what) is truncated at byte \(offset)") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }
    package mutating func readString() throws -> String {
        let count = Int(try read(UInt32.self))
        return String(decoding: try readBytes(count), as: UTF8.self)
    }
}
