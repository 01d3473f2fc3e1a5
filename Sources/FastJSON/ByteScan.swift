/// The scan both the parser and the writer spend their time in on long texts: where, in a string's
/// UTF-8, is the next byte that JSON must escape (a quote, a backslash or a control character)?
/// Eight bytes at a time (SWAR), then byte by byte.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// True when some byte of `word` is zero (exact as a yes/no).
    @inline(__always) private static func hasZeroByte(_ word: UInt64) -> Bool {
        (word &- ones) & ~word & highs != 0
    }

    /// True when some byte of `word` is `"`, `\` or below 0x20.
    @inline(__always) static func hasSpecial(_ word: UInt64) -> Bool {
        hasZeroByte(word ^ (ones &* 0x22)) || hasZeroByte(word ^ (ones &* 0x5C)) || (word &- ones &* 0x20) & ~word & highs != 0
    }

    @inline(__always) static func isSpecial(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// The index of the first byte at or after `start` that must be escaped, or `bytes.count`.
    @inline(__always) static func firstSpecial(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var position = start
        while position + 8 <= bytes.count, !hasSpecial(bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)) {
            position += 8
        }
        while position < bytes.count, !isSpecial(bytes[position]) { position += 1 }
        return position
    }
}
