public import Distance
public import LMDB

/// Errors of the vector index, with what a caller needs to act on them.
public enum IndexError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A vector of `actual` dimensions was given to a space of `expected`.
    case dimensionMismatch(expected: Int, actual: Int)
    /// A vector was refused: zero, NaN or infinite components.
    case invalidVector(VectorError)
    /// No space has this id.
    case unknownSpace(SpaceID)
    /// No graph has this id.
    case unknownGraph(GraphID)
    /// The space holds no vector with this id.
    case unknownVector(VectorID, SpaceID)
    /// The vector is already a node of the graph.
    case duplicateNode(VectorID, GraphID)
    /// The directory holds something other than a Hindsight database.
    case notAHindsightDatabase(path: String, reason: String)
    /// The database was written by a newer Hindsight whose format this version cannot read.
    case unsupportedFormatVersion(found: UInt32, supported: UInt32)
    /// Stored data failed a consistency check.
    case corrupt(String)
    /// A parameter is out of range.
    case invalidParameter(String)
    /// The storage layer failed (disk full, map full, I/O error).
    case storage(LMDBError)

    public var description: String {
        switch self {
        case .dimensionMismatch(let expected, let actual):
            "dimension mismatch: the space holds \(expected)-dimensional vectors, got \(actual)"
        case .invalidVector(let error): "invalid vector: \(error)"
        case .unknownSpace(let id): "unknown \(id)"
        case .unknownGraph(let id): "unknown \(id)"
        case .unknownVector(let vector, let space): "\(space) holds no vector \(vector)"
        case .duplicateNode(let vector, let graph): "vector \(vector) is already in \(graph)"
        case .notAHindsightDatabase(let path, let reason): "\(path) is not a Hindsight database: \(reason)"
        case .unsupportedFormatVersion(let found, let supported):
            "the database has format version \(found); this build reads versions up to \(supported). Upgrade Hindsight to open it."
        case .corrupt(let detail): "corrupt database: \(detail)"
        case .invalidParameter(let detail): "invalid parameter: \(detail)"
        case .storage(let error): "storage error: \(error)"
        }
    }
}

/// Runs `body`, turning an ``LMDBError`` into ``IndexError/storage(_:)``.
@inline(__always)
func storage<R>(_ body: () throws -> R) throws -> R {
    do { return try body() } catch let error as LMDBError { throw IndexError.storage(error) }
}
