/// A deterministic bag-of-words embedder: each word (and each CJK character) is hashed into one
/// of `dimension` signed buckets. It needs no model and no network, so demos, examples and tests
/// run anywhere; texts sharing words get similar vectors, but it knows no synonyms — use a real
/// model (``BertEmbedder``) for meaning.
public struct HashingEmbedder: Embedder {
    public let dimension: Int
    public var model: String { "hashing-\(dimension)" }

    public init(dimension: Int = 384) {
        precondition(dimension > 0)
        self.dimension = dimension
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] { texts.map(vector) }

    /// The vector of one text (unit length; a text without words gets a fixed non-zero vector).
    public func vector(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimension)
        var word: [UInt8] = []
        func flush() {
            guard !word.isEmpty else { return }
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in word { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            vector[Int(hash % UInt64(dimension))] += (hash >> 63) == 0 ? 1 : -1
            word.removeAll(keepingCapacity: true)
        }
        for scalar in text.lowercased().unicodeScalars {
            if Self.isCJK(scalar) {
                flush()
                word.append(contentsOf: String(scalar).utf8)
                flush()
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                word.append(contentsOf: String(scalar).utf8)
            } else {
                flush()
            }
        }
        flush()
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0 else {
            vector[0] = 1
            return vector
        }
        return vector.map { $0 / norm }
    }

    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2EBEF, 0xF900...0xFAFF, 0x2F800...0x2FA1F,
             0x3040...0x30FF, 0xAC00...0xD7AF: return true
        default: return false
        }
    }
}
