/// The values of the lexical index's databases (see ``MemoryDatabases``), little-endian: encoded and
/// decoded here only.
struct LexicalPosting {
    static let bytes = 16
    var termFrequency: Int
    var length: Int
    var knownAtMs: Int64

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.bytes)
        withUnsafeBytes(of: UInt32(clamping: termFrequency).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(clamping: length).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: knownAtMs.littleEndian) { bytes += $0 }
        return bytes
    }

    /// Nil when `value` is not a posting.
    init?(_ value: UnsafeRawBufferPointer) {
        guard value.count == Self.bytes else { return nil }
        termFrequency = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        length = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        knownAtMs = Int64(littleEndian: value.loadUnaligned(fromByteOffset: 8, as: Int64.self))
    }

    init(termFrequency: Int, length: Int, knownAtMs: Int64) {
        self.termFrequency = termFrequency
        self.length = length
        self.knownAtMs = knownAtMs
    }
}

/// A live memory's row in `lexical-lengths`: its length in terms and when it became known.
struct LexicalLength {
    static let bytes = 12
    var length: Int
    var knownAtMs: Int64

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.bytes)
        withUnsafeBytes(of: UInt32(clamping: length).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: knownAtMs.littleEndian) { bytes += $0 }
        return bytes
    }

    init?(_ value: UnsafeRawBufferPointer) {
        guard value.count == Self.bytes else { return nil }
        length = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        knownAtMs = Int64(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: Int64.self))
    }

    init(length: Int, knownAtMs: Int64) {
        self.length = length
        self.knownAtMs = knownAtMs
    }
}
