import WireFormat
import Embedding
import FastJSON
import Foundation
import TradingMemory
import VectorIndex

/// An error answered as `{"error": {"code": …, "message": …}}` with its HTTP status, by the server
/// and by the C API alike. Messages name what was wrong and never include stack traces or memory text.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status (400, 404, 409, 413, 422, 500, 502, …).
    public let status: Int
    /// A stable, machine-readable code (`unknown_collection`, `dimension_mismatch`, …).
    public let code: String
    public let message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The error's JSON body.
    public var body: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(WireError(error: .init(code: code, message: message)))) ?? Data())
    }

    /// The error as a response.
    public var response: APIResponse { APIResponse(status: status, body: body) }

    public static func badRequest(_ message: String) -> APIError { APIError(status: 400, code: "bad_request", message: message) }
    public static func notFound(_ message: String) -> APIError { APIError(status: 404, code: "not_found", message: message) }
    public static let noRoute = APIError(status: 404, code: "no_route", message: "no such route")
    public static let methodNotAllowed = APIError(status: 405, code: "method_not_allowed", message: "method not allowed on this route")
    public static let bodyTooLarge = APIError(status: 413, code: "body_too_large", message: "the request body is too large")

    /// Maps any error of the engine to the status and code a client should see. Storage failures
    /// become 500 with a generic message; their detail is for the log.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as TradingMemoryError:
            switch error {
            case .unknownCollection: return APIError(status: 404, code: "unknown_collection", message: error.description)
            case .unknownMemory: return APIError(status: 404, code: "unknown_memory", message: error.description)
            case .collectionExists: return APIError(status: 409, code: "collection_exists", message: error.description)
            case .duplicateID, .duplicateIDInBatch: return APIError(status: 409, code: "duplicate_id", message: error.description)
            case .notPending: return APIError(status: 409, code: "not_pending", message: error.description)
            case .decisionResolved: return APIError(status: 409, code: "decision_resolved", message: error.description)
            case .dimensionMismatch: return APIError(status: 422, code: "dimension_mismatch", message: error.description)
            case .embeddingModelMismatch: return APIError(status: 422, code: "embedding_model_mismatch", message: error.description)
            case .invalidVector: return APIError(status: 400, code: "invalid_vector", message: error.description)
            case .invalidArgument: return APIError(status: 400, code: "invalid_argument", message: error.description)
            case .storage: return APIError(status: 500, code: "storage", message: "the storage failed; see the server log")
            }
        case let error as IndexError:
            switch error {
            case .dimensionMismatch: return APIError(status: 422, code: "dimension_mismatch", message: error.description)
            case .invalidVector, .invalidParameter: return APIError(status: 400, code: "invalid_argument", message: error.description)
            default: return APIError(status: 500, code: "storage", message: "the storage failed; see the server log")
            }
        case let error as EmbeddingError:
            return APIError(status: 502, code: "embedding_failed", message: error.description)
        case let error as JSONLinesError:
            return APIError.badRequest(error.description)
        case let error as DecodingError:
            return APIError.badRequest("malformed JSON body: \(WireDecoding.describe(error))")
        default:
            return APIError(status: 500, code: "internal", message: "internal error; see the server log")
        }
    }
}
