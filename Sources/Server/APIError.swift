import WireFormat
import Embedding
import Foundation
public import Hummingbird
import Logging
import TradingMemory
import VectorIndex

/// An error answered as `{"error": {"code": …, "message": …}}` with its HTTP status. Messages name
/// what was wrong and never include stack traces or memory text.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    /// A stable, machine-readable code (`unknown_collection`, `dimension_mismatch`, …).
    public let code: String
    public let message: String

    public init(_ status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(WireError(error: .init(code: code, message: message)))
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, code: "bad_request", message: message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message: message) }

    /// Maps any error to the status and code a client should see. Storage failures become 500
    /// with a generic message; their detail goes to the log.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as TradingMemoryError:
            switch error {
            case .unknownCollection: return APIError(.notFound, code: "unknown_collection", message: error.description)
            case .unknownMemory: return APIError(.notFound, code: "unknown_memory", message: error.description)
            case .collectionExists: return APIError(.conflict, code: "collection_exists", message: error.description)
            case .duplicateID, .duplicateIDInBatch: return APIError(.conflict, code: "duplicate_id", message: error.description)
            case .notPending: return APIError(.conflict, code: "not_pending", message: error.description)
            case .dimensionMismatch: return APIError(.unprocessableContent, code: "dimension_mismatch", message: error.description)
            case .embeddingModelMismatch: return APIError(.unprocessableContent, code: "embedding_model_mismatch", message: error.description)
            case .invalidVector: return APIError(.badRequest, code: "invalid_vector", message: error.description)
            case .invalidArgument: return APIError(.badRequest, code: "invalid_argument", message: error.description)
            case .storage: return APIError(.internalServerError, code: "storage", message: "the storage failed; see the server log")
            }
        case let error as IndexError:
            switch error {
            case .dimensionMismatch: return APIError(.unprocessableContent, code: "dimension_mismatch", message: error.description)
            case .invalidVector, .invalidParameter: return APIError(.badRequest, code: "invalid_argument", message: error.description)
            default: return APIError(.internalServerError, code: "storage", message: "the storage failed; see the server log")
            }
        case let error as EmbeddingError:
            return APIError(.badGateway, code: "embedding_failed", message: error.description)
        case let error as JSONLinesError:
            return APIError.badRequest(error.description)
        case let error as DecodingError:
            return APIError.badRequest("malformed JSON body: \(WireDecoding.describe(error))")
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, code: "no_route", message: "no such route")
            case .methodNotAllowed: return APIError(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed on this route")
            case .contentTooLarge: return APIError(.contentTooLarge, code: "body_too_large", message: "the request body is too large")
            default: return APIError(error.status, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
            }
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return APIError(.contentTooLarge, code: "body_too_large", message: "the request body is too large")
        default:
            return APIError(.internalServerError, code: "internal", message: "internal error; see the server log")
        }
    }
}

/// Turns every error below it into an ``APIError`` JSON response, logging server-side failures.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status.code >= 500 {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(String(describing: error))")
            }
            throw apiError
        }
    }
}

/// Requires `Authorization: Bearer <token>` on every route but `/health`.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        let expected = Array("Bearer \(token)".utf8)
        let given = Array((request.headers[.authorization] ?? "").utf8)
        // Compare in constant time over the expected length.
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices { difference |= expected[index] ^ (index < given.count ? given[index] : 0) }
        guard difference == 0 else {
            throw APIError(.unauthorized, code: "unauthorized", message: "missing or wrong bearer token")
        }
        return try await next(request, context)
    }
}
