internal import Distance

/// The numbers a graph walk compares: the stored float32 vectors, or a compressed copy of each
/// node's vector kept after the node's entry in the graph's node table.
///
/// With a compressed walk every distance of the descent and the level-0 beam search is computed
/// on the copies (a 384-d vector is 6 cache lines in int8 instead of 24, read in one record with
/// the node's slot number), and the final candidates (the `ef` list, and at least `2k` nodes) are
/// then re-ranked with the float32 vectors: the similarities returned are exact, only the route
/// differs. Construction always uses float32, so the graph is the same for every precision.
public enum WalkPrecision: String, Sendable, Hashable, Codable, CaseIterable {
    /// The float32 vectors themselves (format version 1's only walk).
    case f32
    /// Symmetric int8 with one scale per vector (``Int8Codes``), u8·s8 dot products (AVX-512 VNNI,
    /// AVX2 or portable).
    case int8
    /// BF16 copies (the top 16 bits of each float32, rounded to nearest even): bf16·bf16 dot products
    /// with AVX512-BF16 `vdpbf16ps` (the query rounded too), else float32·bf16 ones (AVX-512F, AVX2 or
    /// portable); half the bytes of float32, 8 significant bits per component.
    case bf16

    /// Bytes of one node's compressed copy in its node record, for `dimension`-dimensional vectors.
    func codeBytes(dimension: Int) -> Int {
        switch self {
        case .f32: 0
        case .int8: dimension + 4  // u8 codes, then the float32 scale
        case .bf16: 2 * dimension  // little-endian u16 codes
        }
    }

    /// The byte stored in a graph header.
    var code: UInt8 {
        switch self {
        case .f32: 0
        case .int8: 1
        case .bf16: 2
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .f32
        case 1: self = .int8
        case 2: self = .bf16
        default: return nil
        }
    }
}

/// The compressed copy of a vector, as stored after the slot number of a node record.
enum WalkCodes {
    /// Writes the copy of the unit vector at `vector` (`dimension` float32 values) to `destination`.
    static func write(_ vector: UnsafeRawPointer, dimension: Int, precision: WalkPrecision, to destination: UnsafeMutableRawPointer) {
        switch precision {
        case .f32:
            return
        case .int8:
            // Vectors in the map are only 2-byte aligned: quantise from an aligned copy.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { aligned in
                UnsafeMutableRawPointer(aligned.baseAddress!).copyMemory(from: vector, byteCount: dimension * 4)
                let scale = Int8Codes.encodeStored(aligned.baseAddress!, count: dimension,
                                                   into: destination.assumingMemoryBound(to: UInt8.self))
                destination.storeBytes(of: scale.bitPattern.littleEndian, toByteOffset: dimension, as: UInt32.self)
            }
        case .bf16:
            BF16Codes.encode(vector, count: dimension, into: destination)
        }
    }

    /// The scale of an int8 copy.
    @inline(__always)
    static func int8Scale(_ codes: UnsafeRawPointer, dimension: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: codes.loadUnaligned(fromByteOffset: dimension, as: UInt32.self)))
    }
}
