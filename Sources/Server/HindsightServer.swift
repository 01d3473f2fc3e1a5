public import Embedding
import WireFormat
public import MemoryAPI
import FastJSON
import Foundation
import Dispatching
public import Hummingbird
public import Logging
import NIOCore
public import TradingMemory

/// How the server runs.
public struct ServerConfiguration: Sendable {
    /// The address to bind; loopback unless told otherwise.
    public var host: String
    public var port: Int
    /// When set, every route but `/health` requires `Authorization: Bearer <token>`.
    public var token: String?
    /// The largest request body accepted (413 above).
    public var maxBodyBytes: Int
    /// Embeds texts sent without vectors (`texts` in queries, records without `vector`, `/v1/embed`).
    public var embedder: (any Embedder)?
    /// A connection that sends no request part for this long is closed: an idle keep-alive
    /// connection, and one whose request head (line and headers) has not fully arrived this long
    /// after it opened or after its last answer (a client trickling headers cannot hold it open).
    public var idleTimeoutSeconds: Double

    public init(host: String = "127.0.0.1", port: Int = 8765, token: String? = nil, maxBodyBytes: Int = 32 << 20,
                embedder: (any Embedder)? = nil, idleTimeoutSeconds: Double = 30) {
        self.host = host
        self.port = port
        self.token = token
        self.maxBodyBytes = maxBodyBytes
        self.embedder = embedder
        self.idleTimeoutSeconds = idleTimeoutSeconds
    }
}

/// The HTTP JSON API over a ``TradingMemoryStore`` (docs/http-api.md, docs/openapi.yaml): the
/// routes of ``MemoryService`` on Hummingbird, plus `/metrics`, the bearer token and the body limit.
public final class HindsightServer: Sendable {
    public let store: TradingMemoryStore
    public let configuration: ServerConfiguration
    /// What answers every route but `/metrics`.
    public let service: MemoryService
    let metrics = RequestMetrics()

    public init(store: TradingMemoryStore, configuration: ServerConfiguration) {
        self.store = store
        self.configuration = configuration
        service = MemoryService(store: store, embedder: configuration.embedder, maxBodyBytes: configuration.maxBodyBytes)
    }

    /// The application, ready to run (`runService()` handles SIGTERM and SIGINT gracefully:
    /// in-flight requests finish before it returns).
    public func application(logger: Logger? = nil,
                            onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(router: router(),
                    server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(configuration.idleTimeoutSeconds * 1000)))),
                    configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                            serverName: "hindsight"),
                    onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                    logger: logger ?? Logger(label: "hindsight.server"))
    }

    /// Every route as (method, path pattern), in registration order: what docs/openapi.yaml must list.
    public func routes() -> [(method: String, path: String)] {
        [("GET", "/metrics")] + MemoryService.routes.map { ($0.method, $0.path) }
    }

    /// Every route, with the error, metrics and (optional) token middleware.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        if let token = configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }

        router.get("/metrics") { _, _ in
            let collections = try await self.service.read { try self.store.collections() }
            var extra = ["# HELP hindsight_memories Live memories per collection.", "# TYPE hindsight_memories gauge"]
            extra += collections.map { "hindsight_memories{collection=\"\($0.name)\"} \($0.count)" }
            extra += ["# HELP hindsight_pending_decisions Pending decisions per collection.", "# TYPE hindsight_pending_decisions gauge"]
            extra += collections.map { "hindsight_pending_decisions{collection=\"\($0.name)\"} \($0.pending)" }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.render(extra: extra))))
        }
        for route in MemoryService.routes {
            router.on(RouterPath(route.path), method: HTTPRequest.Method(route.method)!) { request, context in
                let buffer = try await request.body.collect(upTo: self.configuration.maxBodyBytes)
                var parameters: [String: String] = [:]
                for name in route.parameterNames {
                    guard let raw = context.parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
                    parameters[name] = raw.removingPercentEncoding ?? raw
                }
                var query: [String: String] = [:]
                for (name, value) in request.uri.queryParameters where query[String(name)] == nil { query[String(name)] = String(value) }
                let answer = try await self.service.respond(to: route, APICall(parameters: parameters, query: query,
                                                                               body: Array(buffer.readableBytesView)))
                return Response(status: HTTPResponse.Status(code: answer.status), headers: [.contentType: answer.contentType],
                                body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
        }
        return router
    }
}
