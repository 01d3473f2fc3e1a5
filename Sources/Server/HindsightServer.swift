public import Embedding
import WireFormat
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

/// The HTTP JSON API over a ``TradingMemoryStore`` (docs/http-api.md, docs/openapi.yaml).
///
/// Reads run concurrently on a concurrent queue, writes one at a time on a serial queue, so no
/// event-loop or cooperative thread ever waits on LMDB; a query sees only committed batches.
public final class HindsightServer: Sendable {
    public let store: TradingMemoryStore
    public let configuration: ServerConfiguration
    let metrics = RequestMetrics()
    private let reads = DispatchQueue(label: "hindsight.server.reads", attributes: .concurrent)
    private let writes = DispatchQueue(label: "hindsight.server.writes")

    public init(store: TradingMemoryStore, configuration: ServerConfiguration) {
        self.store = store
        self.configuration = configuration
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

    // MARK: Blocking work off the event loop

    private func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await reads.run(body)
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await writes.run(body)
    }

    // MARK: Request and response helpers

    private func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request needs a JSON body") }
        do {
            return try FastJSONDecoder(rejectsUnknownKeys: true).decode(type, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError.badRequest("malformed JSON body: \(WireDecoding.describe(error))")
        }
    }

    /// A response written by ``JSONWriter`` (the hot paths).
    private func fastJSON(_ value: some JSONWritable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes(capacity: 4_096))))
    }

    private func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    private static func parameter(_ name: String, _ context: BasicRequestContext) throws -> String {
        guard let raw = context.parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        return raw.removingPercentEncoding ?? raw
    }

    /// The memory whose caller id is `text`.
    private func memoryID(callerID text: String, in collection: String) throws -> MemoryID {
        guard let id = try store.memoryID(callerID: text, in: collection) else { throw TradingMemoryError.unknownMemory(text) }
        return id
    }

    /// The memory whose engine id is `id`.
    private func memoryID(engineID id: UInt32, in collection: String) throws -> MemoryID {
        guard try store.memory(MemoryID(rawValue: id), in: collection) != nil else { throw TradingMemoryError.unknownMemory("engine id \(id)") }
        return MemoryID(rawValue: id)
    }

    /// How a route names one memory: `{id}`, its caller id, or `by-engine-id/{engine_id}`, its engine id.
    private enum Address: Sendable {
        case callerID, engineID
    }

    /// The memory the route's path names in collection `name`.
    private func memoryID(_ address: Address, _ context: BasicRequestContext, in name: String) throws -> MemoryID {
        switch address {
        case .callerID:
            return try memoryID(callerID: try Self.parameter("id", context), in: name)
        case .engineID:
            let text = try Self.parameter("engine_id", context)
            guard let id = UInt32(text) else { throw APIError.badRequest("engine ids are whole numbers, not '\(text.prefix(32))'") }
            return try memoryID(engineID: id, in: name)
        }
    }

    /// Vectors for texts, with the server's embedder, checked against the collection's model.
    private func embed(_ texts: [String], for collection: CollectionInfo?) async throws -> [[Float]] {
        guard let embedder = configuration.embedder else {
            throw APIError(.badRequest, code: "no_embedder", message: "this server has no embedder: send vectors")
        }
        // The collection's recorded model picks the variant (e.g. windowed long texts) of the same weights.
        var chosen = embedder
        if let collection, let model = collection.configuration.embeddingModel {
            guard let variant = embedder.embedder(forModel: model) else {
                throw TradingMemoryError.embeddingModelMismatch(collection: collection.name, expected: model, actual: embedder.model)
            }
            chosen = variant
        }
        let vectors = try await chosen.embed(texts)
        if let collection, let first = vectors.first, first.count != collection.configuration.dimension {
            throw TradingMemoryError.dimensionMismatch(collection: collection.name, expected: collection.configuration.dimension, actual: first.count)
        }
        return vectors
    }

    // MARK: Routes

    /// Every route as (method, path pattern), in registration order: what docs/openapi.yaml must list.
    public func routes() -> [(method: String, path: String)] { makeRouter().routes }

    /// Every route, with the error, metrics and (optional) token middleware.
    public func router() -> Router<BasicRequestContext> { makeRouter().router }

    private func makeRouter() -> (router: Router<BasicRequestContext>, routes: [(method: String, path: String)]) {
        let router = Router()
        var table: [(method: String, path: String)] = []
        func add(_ method: HTTPRequest.Method, _ path: String,
                 _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
            router.on(RouterPath(path), method: method, use: handler)
            table.append((method.rawValue, path))
        }
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        if let token = configuration.token { router.add(middleware: BearerTokenMiddleware(token: token)) }

        add(.get, "/health") { _, _ in
            try self.json(WireHealth(status: "ok", version: "0.1.0"))
        }
        add(.get, "/metrics") { _, _ in
            let collections = try await self.read { try self.store.collections() }
            var extra = ["# HELP hindsight_memories Live memories per collection.", "# TYPE hindsight_memories gauge"]
            extra += collections.map { "hindsight_memories{collection=\"\($0.name)\"} \($0.count)" }
            extra += ["# HELP hindsight_pending_decisions Pending decisions per collection.", "# TYPE hindsight_pending_decisions gauge"]
            extra += collections.map { "hindsight_pending_decisions{collection=\"\($0.name)\"} \($0.pending)" }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: self.metrics.render(extra: extra))))
        }

        add(.get, "/v1/embedder") { _, _ in
            guard let embedder = self.configuration.embedder else { throw APIError.notFound("this server has no embedder") }
            let dimension = try await embedder.embed(["dimension probe"]).first?.count ?? 0
            return try self.json(EmbedderResponse(model: embedder.model, dimension: dimension))
        }
        add(.post, "/v1/embed") { request, _ in
            let body = try await self.decode(EmbedRequest.self, from: request)
            guard body.texts.count <= 1_024 else { throw APIError.badRequest("at most 1024 texts per request") }
            let vectors = try await self.embed(body.texts, for: nil)
            return try self.json(EmbedResponse(model: self.configuration.embedder!.model, embeddings: vectors))
        }

        // Collections
        add(.get, "/v1/collections") { _, _ in
            let collections = try await self.read { try self.store.collections() }
            return try self.json(WireCollections(collections: collections.map(WireCollection.init)))
        }
        add(.post, "/v1/collections") { request, _ in
            let body = try await self.decode(WireCollectionSettings.self, from: request)
            guard let name = body.name else { throw APIError.badRequest("missing field 'name'") }
            let configuration = try body.configuration()
            if body.getOrCreate == true {
                let existed = (try? await self.read { try self.store.collection(name) }) != nil
                let info = try await self.write { try self.store.getOrCreateCollection(name, configuration: configuration) }
                return try self.json(WireCollection(info), status: existed ? .ok : .created)
            }
            let info = try await self.write { try self.store.createCollection(name, configuration: configuration) }
            return try self.json(WireCollection(info), status: .created)
        }
        add(.get, "/v1/collections/{name}") { _, context in
            let name = try Self.parameter("name", context)
            return try self.json(WireCollection(try await self.read { try self.store.collection(name) }))
        }
        add(.put, "/v1/collections/{name}") { request, context in
            let name = try Self.parameter("name", context)
            let configuration = try await self.decode(WireCollectionSettings.self, from: request).configuration()
            let info = try await self.write { try self.store.getOrCreateCollection(name, configuration: configuration) }
            return try self.json(WireCollection(info))
        }
        add(.delete, "/v1/collections/{name}") { _, context in
            let name = try Self.parameter("name", context)
            try await self.write { try self.store.dropCollection(name) }
            return try self.json(WireDropped(dropped: name))
        }
        add(.get, "/v1/collections/{name}/count") { _, context in
            let name = try Self.parameter("name", context)
            let info = try await self.read { try self.store.collection(name) }
            return try self.json(WireCount(count: info.count, pending: info.pending))
        }

        // Memories
        add(.post, "/v1/collections/{name}/memories") { request, context in
            let name = try Self.parameter("name", context)
            let body = try await self.decode(AddMemoriesRequest.self, from: request)
            let memories = try await self.newMemories(body.memories, collection: name)
            let live = memories.filter { $0.status != .pending }.map(\.memory)
            let pending = memories.filter { $0.status == .pending }.map(\.memory)
            let ids = try await self.write { () throws -> [MemoryID] in
                // One transaction for the live batch; pending decisions follow (each is all or nothing).
                var ids = try self.store.add(live, to: name, upsert: body.upsert ?? false)
                for decision in pending { ids.append(try self.store.recordDecision(decision, in: name)) }
                return ids
            }
            return try self.json(WireIDs(ids: ids.map(\.rawValue)), status: .created)
        }
        add(.get, "/v1/collections/{name}/memories") { request, context in
            let name = try Self.parameter("name", context)
            let query = request.uri.queryParameters
            let limit = Int(query.get("limit") ?? "10") ?? 10
            guard (0...10_000).contains(limit) else { throw APIError.badRequest("limit must be between 0 and 10000") }
            let asOf: Date?
            do { asOf = try query.get("as_of").map { (text) throws(WireTimeError) in try WireTime.parseChecked(text) } } catch {
                throw APIError.badRequest("as_of: \(error)")
            }
            let ticker = query.get("ticker"), excluding = query.get("exclude_ticker")
            let memories: [Memory]
            switch query.get("order") ?? "recent" {
            case "recent":
                guard query.get("after") == nil else { throw APIError.badRequest("after is for order=id only") }
                memories = try await self.read {
                    try self.store.recentMemories(in: name, ticker: ticker, excludingTicker: excluding, limit: limit, asOf: asOf)
                }
            case "id":
                // Every memory, pending ones too, in the order they were added: a log read page by page.
                guard excluding == nil, asOf == nil else { throw APIError.badRequest("exclude_ticker and as_of are for order=recent only") }
                let after = try query.get("after").map { (text) throws(APIError) -> MemoryID in
                    guard let raw = UInt32(text) else { throw APIError.badRequest("after must be an engine id (0 to 4294967295)") }
                    return MemoryID(rawValue: raw)
                }
                memories = try await self.read { try self.store.memories(in: name, after: after, limit: limit, ticker: ticker) }
            case let other:
                throw APIError.badRequest("order must be recent or id, not '\(other)'")
            }
            return self.fastJSON(MemoriesResponse(memories: memories.map(WireMemory.init)))
        }
        add(.delete, "/v1/collections/{name}/memories") { _, context in
            let name = try Self.parameter("name", context)
            let deleted = try await self.write { try self.store.removeAllMemories(from: name) }
            return try self.json(WireDeleted(deleted: deleted))
        }
        add(.post, "/v1/collections/{name}/memories/delete") { request, context in
            let name = try Self.parameter("name", context)
            let body = try await self.decode(DeleteRequest.self, from: request)
            let selection = try body.selection()
            let deleted = try await self.write { () throws -> Int in
                switch selection {
                case .callerIDs(let ids): return try self.store.delete(callerIDs: ids, from: name)
                case .engineIDs(let ids): return try self.store.delete(ids.map(MemoryID.init(rawValue:)), from: name)  // unknown ones are skipped
                case .matching(let filter): return try self.store.delete(matching: filter, from: name)
                case .all: return try self.store.removeAllMemories(from: name)
                }
            }
            return try self.json(WireDeleted(deleted: deleted))
        }
        // One memory, addressed by its caller id (`{id}`) or by its engine id (`by-engine-id/{engine_id}`).
        for (path, address) in [("/v1/collections/{name}/memories/{id}", Address.callerID),
                                ("/v1/collections/{name}/memories/by-engine-id/{engine_id}", Address.engineID)] {
            add(.get, path) { _, context in
                let name = try Self.parameter("name", context)
                let memory = try await self.read { () throws -> Memory in
                    let id = try self.memoryID(address, context, in: name)
                    guard let memory = try self.store.memory(id, in: name) else { throw TradingMemoryError.unknownMemory(id.description) }
                    return memory
                }
                return self.fastJSON(WireMemory(memory))
            }
            add(.patch, path) { request, context in
                let name = try Self.parameter("name", context)
                let update = try await self.decode(UpdateRequest.self, from: request).update
                let memory = try await self.write { try self.store.update(try self.memoryID(address, context, in: name), in: name, update) }
                return self.fastJSON(WireMemory(memory))
            }
            add(.delete, path) { _, context in
                let name = try Self.parameter("name", context)
                let deleted = try await self.write { try self.store.delete([try self.memoryID(address, context, in: name)], from: name) }
                return try self.json(WireDeleted(deleted: deleted))
            }
        }

        // Queries
        add(.post, "/v1/collections/{name}/query") { request, context in
            let name = try Self.parameter("name", context)
            let body = try await self.decode(QueryRequest.self, from: request)
            guard body.vectors != nil || body.texts != nil else { throw APIError.badRequest("give vectors, texts, or both") }
            let count = body.vectors?.count ?? body.texts!.count
            guard (1...256).contains(count) else { throw APIError.badRequest("send 1 to 256 query vectors or texts") }
            if let texts = body.texts, let vectors = body.vectors, texts.count != vectors.count {
                throw APIError.badRequest("with both, texts[i] is the text of vectors[i]: send as many of each")
            }
            var vectors = body.vectors ?? []
            if body.vectors == nil, let texts = body.texts {
                // Texts alone are embedded; with vectors they are for lexical recall only.
                let info = try await self.read { try self.store.collection(name) }
                vectors = try await self.embed(texts, for: info)
            }
            let queries = try body.recallQueries(vectors: vectors)
            let answers = try await self.read {
                try self.store.recall(queries, analogues: body.analogues ?? 0, weighted: body.analoguesWeighted ?? false, in: name)
            }
            return self.fastJSON(QueryResponse(results: answers.map { $0.results.map(WireRecallResult.init) },
                                               analogues: (body.analogues ?? 0) > 0 ? answers.map { WireAnalogues($0.analogues!) } : nil))
        }

        // Pending decisions
        add(.post, "/v1/collections/{name}/decisions") { request, context in
            let name = try Self.parameter("name", context)
            let record = try await self.decode(WireNewMemory.self, from: request)
            let decision = try await self.newMemories([record], collection: name)[0].memory
            let id = try await self.write { try self.store.recordDecision(decision, in: name) }
            return try self.json(WireID(id: id.rawValue), status: .created)
        }
        add(.get, "/v1/collections/{name}/decisions") { _, context in
            let name = try Self.parameter("name", context)
            let pending = try await self.read { try self.store.pendingDecisions(in: name) }
            return self.fastJSON(MemoriesResponse(pending: pending.map(WireMemory.init)))
        }
        for (path, address) in [("/v1/collections/{name}/decisions/{id}/resolve", Address.callerID),
                                ("/v1/collections/{name}/decisions/by-engine-id/{engine_id}/resolve", Address.engineID)] {
            add(.post, path) { request, context in
                let name = try Self.parameter("name", context)
                let body = try await self.decode(ResolveRequest.self, from: request)
                let memory = try await self.write { () throws -> Memory in
                    let memoryID = try self.memoryID(address, context, in: name)
                    // One transaction: a bad metadata value leaves the decision pending.
                    return try self.store.resolve(memoryID, in: name, outcome: body.outcome, reflection: body.reflection,
                                                  knownAt: body.knownAt?.date, quality: body.quality, metadata: body.metadata)
                }
                return self.fastJSON(WireMemory(memory))
            }
        }
        return (router, table)
    }

    /// Records of a request as memories: vectors checked, missing ones embedded by the server.
    private func newMemories(_ records: [WireNewMemory], collection name: String) async throws -> [(memory: NewMemory, status: Memory.Status)] {
        guard records.count <= 100_000 else { throw APIError.badRequest("at most 100000 memories per request") }
        let info = try await read { try self.store.collection(name) }
        let missing = records.indices.filter { records[$0].vector == nil }
        var vectors = records.map { $0.vector ?? [] }
        if !missing.isEmpty {
            let embedded = try await embed(missing.map { records[$0].situation }, for: info)
            for (index, vector) in zip(missing, embedded) { vectors[index] = vector }
        }
        return zip(records, vectors).map { ($0.newMemory(vector: $1), $0.status ?? .live) }
    }
}
