import LMDB
import VectorIndex

/// Errors of the trading memory, each saying what to fix. Messages never include memory text.
public enum TradingMemoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No collection has this name.
    case unknownCollection(String)
    /// A collection with this name exists with another configuration.
    case collectionExists(String)
    /// A vector has the wrong dimension for the collection.
    case dimensionMismatch(collection: String, expected: Int, actual: Int)
    /// A vector has a zero, NaN or infinite component.
    case invalidVector(String)
    /// The caller id is already used in the collection (and upsert was not asked).
    case duplicateID(String)
    /// The caller id appears twice in one batch (upsert or not).
    case duplicateIDInBatch(String)
    /// No memory has this id.
    case unknownMemory(String)
    /// The memory is not a pending decision.
    case notPending(String)
    /// The decision was already credited with its outcome: it takes no more recalls or credit.
    case decisionResolved(String)
    /// An argument is out of range or malformed.
    case invalidArgument(String)
    /// Text embedded with one model was sent to a collection of another.
    case embeddingModelMismatch(collection: String, expected: String, actual: String)
    /// The storage failed (disk or map full, I/O, corruption).
    case storage(String)

    public var description: String {
        switch self {
        case .unknownCollection(let name): "unknown collection '\(name)'"
        case .collectionExists(let name): "collection '\(name)' already exists with a different configuration"
        case .dimensionMismatch(let collection, let expected, let actual):
            "dimension mismatch: collection '\(collection)' holds \(expected)-dimensional vectors, got \(actual)"
        case .invalidVector(let detail): "invalid vector: \(detail)"
        case .duplicateID(let id): "a memory with id '\(id)' already exists (use upsert to replace it)"
        case .duplicateIDInBatch(let id): "id '\(id)' appears more than once in the batch"
        case .unknownMemory(let id): "no memory with id '\(id)'"
        case .notPending(let id): "memory '\(id)' is not a pending decision"
        case .decisionResolved(let id): "decision '\(id.prefix(80))' is already resolved: its provenance is closed"
        case .invalidArgument(let detail): "invalid argument: \(detail)"
        case .embeddingModelMismatch(let collection, let expected, let actual):
            "collection '\(collection)' holds embeddings of '\(expected)', not '\(actual)'"
        case .storage(let detail): "storage error: \(detail)"
        }
    }

    /// Maps errors of the layers below to trading-memory errors.
    static func wrapping(_ error: any Error, collection: String? = nil) -> any Error {
        switch error {
        case let error as TradingMemoryError: return error
        case let error as IndexError:
            switch error {
            case .dimensionMismatch(let expected, let actual):
                return TradingMemoryError.dimensionMismatch(collection: collection ?? "?", expected: expected, actual: actual)
            case .invalidVector(let detail): return TradingMemoryError.invalidVector("\(detail)")
            case .invalidParameter(let detail): return TradingMemoryError.invalidArgument(detail)
            case .storage(let lmdb): return TradingMemoryError.storage(lmdb.description)
            default: return error
            }
        case let error as LMDBError: return TradingMemoryError.storage(error.description)
        default: return error
        }
    }
}
