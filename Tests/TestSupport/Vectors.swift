import VectorIndex
/// Seeded clustered unit vectors: `clusters` random centres, each vector a centre plus noise.
public func clusteredVectors(count: Int, dimension: Int, clusters: Int = 50, noise: Float = 0.35, seed: UInt64) -> [[Float]] {
    var rng = SplitMix64(seed: seed)
    let centres = (0..<clusters).map { _ in (0..<dimension).map { _ in rng.nextGaussian() } }
    return (0..<count).map { _ in
        let centre = centres[Int.random(in: 0..<clusters, using: &rng)]
        return unit(centre.map { $0 + noise * rng.nextGaussian() * Float(2).squareRoot() })
    }
}

/// `vector` scaled to unit length.
public func unit(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return vector.map { $0 / norm }
}

/// Cosine similarity by a plain loop in Double: the oracle.
public func referenceCosine(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, aa = 0.0, bb = 0.0
    for i in a.indices {
        dot += Double(a[i]) * Double(b[i])
        aa += Double(a[i]) * Double(a[i])
        bb += Double(b[i]) * Double(b[i])
    }
    return dot / (aa * bb).squareRoot()
}

/// The indices of the `k` vectors of `base` most similar to `query` (brute force), most similar
/// first, among the indices `eligible` accepts.
public func bruteForceNearest(_ query: [Float], in base: [[Float]], k: Int, eligible: (Int) -> Bool = { _ in true }) -> [Int] {
    var scored: [(index: Int, similarity: Double)] = []
    for index in base.indices where eligible(index) {
        scored.append((index, referenceCosine(query, base[index])))
    }
    scored.sort { (a, b) -> Bool in a.similarity > b.similarity || (a.similarity == b.similarity && a.index < b.index) }
    return scored.prefix(k).map { $0.index }
}

/// The fraction of `truth` found in `found`.
public func recall(_ found: [Int], _ truth: [Int]) -> Double {
    guard !truth.isEmpty else { return 1 }
    return Double(Set(found).intersection(truth).count) / Double(truth.count)
}
