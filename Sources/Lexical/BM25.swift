import Foundation

/// Okapi BM25 as Lucene scores it:
///
///     score(D, Q) = Σ_{t ∈ Q} idf(t) · tf(t, D) · (k1 + 1) / (tf(t, D) + k1 · (1 − b + b · |D| / avgdl))
///     idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
///
/// over the distinct terms of the query (a term repeated in the query counts once: a long situation
/// repeats its boilerplate, and that must not weigh more). `N`, `df` and `avgdl` are those of the
/// documents the query may see (for a point-in-time query: those known by then), so a score never
/// depends on what was added later.
public struct BM25: Hashable, Sendable, Codable {
    /// Term-frequency saturation.
    public var k1: Double
    /// Length normalisation (0: none, 1: full).
    public var b: Double

    public init(k1: Double = 1.2, b: Double = 0.75) {
        self.k1 = k1
        self.b = b
    }

    public static let standard = BM25()

    /// The inverse document frequency of a term in `df` of `documents` documents.
    @inline(__always)
    public func idf(documentFrequency df: Int, documents n: Int) -> Double {
        log(1 + (Double(n) - Double(df) + 0.5) / (Double(df) + 0.5))
    }

    /// One term's contribution to a document's score.
    @inline(__always)
    public func termScore(idf: Double, termFrequency tf: Int, documentLength length: Int, averageLength: Double) -> Double {
        let frequency = Double(tf)
        let norm = averageLength > 0 ? 1 - b + b * Double(length) / averageLength : 1
        return idf * frequency * (k1 + 1) / (frequency + k1 * norm)
    }
}
