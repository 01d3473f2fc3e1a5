/// SplitMix64 (Steele, Lea and Flood): a small, fast, seedable generator. It draws the levels of
/// HNSW nodes (so the same seed and inserts give the same graph), and serves the tools and tests
/// that need reproducible randomness.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state: a graph header stores it between inserts.
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
