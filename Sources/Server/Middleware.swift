import Foundation
import Hummingbird
import MemoryAPI
import Logging

extension APIError {
    /// Hummingbird's own errors (no route, wrong method, body too large) in the API's terms; any
    /// other error as the engine maps it.
    static func fromHTTP(_ error: any Error) -> APIError {
        switch error {
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .noRoute
            case .methodNotAllowed: return .methodNotAllowed
            case .contentTooLarge: return .bodyTooLarge
            default: return APIError(status: error.status.code, code: "http_\(error.status.code)", message: error.body ?? error.status.reasonPhrase)
            }
        case let error as any HTTPResponseError where error.status == .contentTooLarge:
            return .bodyTooLarge
        default:
            return APIError.from(error)
        }
    }
}

/// Turns every error below it into an ``APIError`` JSON response, logging server-side failures.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.fromHTTP(error)
            if apiError.status >= 500 {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(String(describing: error))")
            }
            return Response(status: HTTPResponse.Status(code: apiError.status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: apiError.body)))
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
            throw APIError(status: 401, code: "unauthorized", message: "missing or wrong bearer token")
        }
        return try await next(request, context)
    }
}
