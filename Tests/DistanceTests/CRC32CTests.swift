import CDistance
import Distance
import Testing
import VectorIndex

@Suite struct CRC32CTests {
    /// The check value of CRC-32C (RFC 3720, appendix B.4; "123456789" → 0xE3069283) and two of
    /// RFC 3720's test vectors (32 zero bytes, 32 bytes of 0xFF).
    @Test func knownAnswers() {
        func crc(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { crc32c($0) } }
        #expect(crc(Array("123456789".utf8)) == 0xE306_9283)
        #expect(crc([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(crc([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(crc([]) == 0)
    }

    /// The dispatched path (SSE4.2 on this CPU) and the table agree on every length and offset,
    /// and a checksum continued over two pieces equals the checksum of the whole.
    @Test func hardwareAndTablePathsAgree() {
        var generator = SplitMix64(seed: 32)
        let bytes = (0..<1_100).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        bytes.withUnsafeBytes { all in
            for offset in [0, 1, 2, 3, 7] {
                for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 255, 1_024] where offset + length <= all.count {
                    let piece = UnsafeRawBufferPointer(rebasing: all[offset..<offset + length])
                    let dispatched = hs_crc32c(0, piece.baseAddress, piece.count)
                    #expect(dispatched == hs_crc32c_portable(0, piece.baseAddress, piece.count), "offset \(offset), length \(length)")
                    let half = length / 2
                    let first = UnsafeRawBufferPointer(rebasing: piece[0..<half]), second = UnsafeRawBufferPointer(rebasing: piece[half...])
                    #expect(crc32c(second, continuing: crc32c(first)) == dispatched)
                }
            }
        }
    }
}
