/// A vector space: a dense, append-only array of unit vectors of one dimension.
public struct SpaceID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "space \(rawValue)" }
}

/// An HNSW graph over the vectors of one space.
public struct GraphID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "graph \(rawValue)" }
}

/// A vector's position in its space, assigned at insert, dense and never reused.
public struct VectorID: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: Int) { rawValue = UInt32(value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "#\(rawValue)" }
    /// The largest id a space hands out: the top bit of a node entry marks a tombstone.
    public static let maximum = VectorID(rawValue: (1 << 31) - 2)
}

/// A search hit: a vector and its cosine similarity to the query.
public struct Neighbor: Hashable, Sendable, CustomStringConvertible {
    /// The vector found.
    public var id: VectorID
    /// Its cosine similarity to the query, in [-1, 1].
    public var similarity: Float
    public init(id: VectorID, similarity: Float) {
        self.id = id
        self.similarity = similarity
    }
    public var description: String { "\(id) (\(similarity))" }
}
