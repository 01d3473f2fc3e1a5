import Distance
import FastJSON
import Foundation
import LMDB
import VectorIndex

/// The fixed-size row of a memory that filters and scores read during a search, stored in
/// chunks indexed by memory id (40 bytes, little-endian):
/// `i64 time ms, i64 knownAt ms, f64 outcome (NaN: none), f32 quality (NaN: none), u32 ticker code
/// (0: none), u32 action code (0: none), u32 flags (bits 0-7: 1 live, 2 pending, 4 deleted; bits 8-15:
/// the kind code, 0 for none — rows written before kinds hold 0 there)`.
struct MemoryAttributes: Hashable {
    static let bytes = 40
    static let live: UInt32 = 1, pending: UInt32 = 2, deleted: UInt32 = 4
    static let statusMask: UInt32 = 0xFF, kindShift: UInt32 = 8

    /// The kind code kept in the flags.
    var kindCode: UInt32 { (flags >> Self.kindShift) & 0xFF }

    /// Flags for a status and a kind code.
    static func flags(status: UInt32, kindCode: UInt32) -> UInt32 { status | (kindCode & 0xFF) << kindShift }

    /// This row's flags with another status, its kind kept.
    func flags(status: UInt32) -> UInt32 { Self.flags(status: status, kindCode: kindCode) }

    var timeMs: Int64
    var knownAtMs: Int64
    var outcome: Double
    var quality: Float
    var tickerCode: UInt32
    var actionCode: UInt32
    var flags: UInt32

    init(timeMs: Int64, knownAtMs: Int64, outcome: Double, quality: Float, tickerCode: UInt32, actionCode: UInt32, flags: UInt32) {
        self.timeMs = timeMs
        self.knownAtMs = knownAtMs
        self.outcome = outcome
        self.quality = quality
        self.tickerCode = tickerCode
        self.actionCode = actionCode
        self.flags = flags
    }

    init(_ row: UnsafeRawPointer) {
        timeMs = Int64(littleEndian: row.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        knownAtMs = Int64(littleEndian: row.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        outcome = Double(bitPattern: UInt64(littleEndian: row.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        quality = Float(bitPattern: UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        tickerCode = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        actionCode = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
        flags = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
    }

    func write(to row: UnsafeMutableRawPointer) {
        row.storeBytes(of: timeMs.littleEndian, toByteOffset: 0, as: Int64.self)
        row.storeBytes(of: knownAtMs.littleEndian, toByteOffset: 8, as: Int64.self)
        row.storeBytes(of: outcome.bitPattern.littleEndian, toByteOffset: 16, as: UInt64.self)
        row.storeBytes(of: quality.bitPattern.littleEndian, toByteOffset: 24, as: UInt32.self)
        row.storeBytes(of: tickerCode.littleEndian, toByteOffset: 28, as: UInt32.self)
        row.storeBytes(of: actionCode.littleEndian, toByteOffset: 32, as: UInt32.self)
        row.storeBytes(of: flags.littleEndian, toByteOffset: 36, as: UInt32.self)
    }

    /// Reads only the flags of the row at `row`.
    @inline(__always)
    static func flags(_ row: UnsafeRawPointer) -> UInt32 { UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 36, as: UInt32.self)) }
    @inline(__always)
    static func knownAtMs(_ row: UnsafeRawPointer) -> Int64 { Int64(littleEndian: row.loadUnaligned(fromByteOffset: 8, as: Int64.self)) }

    static let layout = ChunkLayout(elementBytes: bytes, headerBytes: ChunkHeader.bytes, elementsPerChunk: 1_022)
}
