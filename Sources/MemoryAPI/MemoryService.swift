public import Embedding
import WireFormat
import FastJSON
import Foundation
import Dispatching
public import TradingMemory

/// The memory API over a ``TradingMemoryStore``, independent of transport: the HTTP server and the
/// C API hand it the same requests and send back the same JSON (docs/http-api.md, docs/openapi.yaml).
///
/// With ``BlockingWork/queues`` (the server) reads run concurrently on a concurrent queue and
/// writes one at a time on a serial queue, so no event-loop or cooperative thread ever waits on
/// LMDB; with ``BlockingWork/inline`` (the C API, whose callers' threads are their own) they run
/// where the handler runs. A query sees only committed batches either way.
public final class MemoryService: Sendable {
    /// Where LMDB transactions run.
    public enum BlockingWork: Sendable {
        /// On the service's dispatch queues, awaited.
        case queues
        /// On the thread that runs the handler (LMDB serialises writers itself).
        case inline
    }

    public let blockingWork: BlockingWork
    public let store: TradingMemoryStore
    /// Embeds texts sent without vectors (`texts` in queries, records without `vector`, `/v1/embed`).
    public let embedder: (any Embedder)?
    /// The largest request body accepted (413 above).
    public let maxBodyBytes: Int
    private let reads = DispatchQueue(label: "hindsight.api.reads", attributes: .concurrent)
    private let writes = DispatchQueue(label: "hindsight.api.writes")

    public init(store: TradingMemoryStore, embedder: (any Embedder)?, maxBodyBytes: Int = 32 << 20, blockingWork: BlockingWork = .queues) {
        self.blockingWork = blockingWork
        self.store = store
        self.embedder = embedder
        self.maxBodyBytes = maxBodyBytes
    }

    /// Every route, in registration order (what docs/openapi.yaml must list).
    public static let routes: [Route] = makeRoutes()

    /// Answers the call of one route (the HTTP server, which matched the route itself).
    public func respond(to route: Route, _ call: APICall) async throws -> APIResponse {
        try await route.handler(self, call)
    }

    /// Answers a request; every failure is an error response, never a thrown error.
    public func respond(to request: APIRequest) async -> APIResponse {
        do {
            guard request.body.count <= maxBodyBytes else { throw APIError.bodyTooLarge }
            let (route, parameters) = try Self.routes.route(for: request)
            return try await route.handler(self, APICall(parameters: parameters, query: request.query, body: request.body))
        } catch {
            return APIError.from(error).response
        }
    }

    // MARK: Blocking work off the caller's thread

    /// Runs blocking read work (LMDB reads) on the service's concurrent read queue.
    public func read<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        switch blockingWork {
        case .queues: try await reads.run(body)
        case .inline: try body()
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        switch blockingWork {
        case .queues: try await writes.run(body)
        case .inline: try body()
        }
    }

    // MARK: Request and response helpers

    private func decode<T: Decodable>(_ type: T.Type, from call: APICall) throws -> T {
        guard !call.body.isEmpty else { throw APIError.badRequest("the request needs a JSON body") }
        do {
            return try FastJSONDecoder(rejectsUnknownKeys: true).decode(type, from: Data(call.body))
        } catch let error as DecodingError {
            throw APIError.badRequest("malformed JSON body: \(WireDecoding.describe(error))")
        }
    }

    /// A response written by ``JSONWriter`` (the hot paths).
    private func fastJSON(_ value: some JSONWritable, status: Int = 200) -> APIResponse {
        APIResponse(status: status, body: value.jsonBytes(capacity: 4_096))
    }

    private func json<T: Encodable>(_ value: T, status: Int = 200) throws -> APIResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return APIResponse(status: status, body: Array(try encoder.encode(value)))
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
    private func memoryID(_ address: Address, _ call: APICall, in name: String) throws -> MemoryID {
        switch address {
        case .callerID:
            return try memoryID(callerID: try call.parameter("id"), in: name)
        case .engineID:
            let text = try call.parameter("engine_id")
            guard let id = UInt32(text) else { throw APIError.badRequest("engine ids are whole numbers, not '\(text.prefix(32))'") }
            return try memoryID(engineID: id, in: name)
        }
    }

    /// Vectors for texts, with the service's embedder, checked against the collection's model.
    private func embed(_ texts: [String], for collection: CollectionInfo?) async throws -> [[Float]] {
        guard let embedder else {
            throw APIError(status: 400, code: "no_embedder", message: "this server has no embedder: send vectors")
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

    private static func makeRoutes() -> [Route] {
        var routes: [Route] = []
        func add(_ method: String, _ path: String, _ handler: @escaping @Sendable (MemoryService, APICall) async throws -> APIResponse) {
            routes.append(Route(method, path, handler))
        }

        add("GET", "/health") { service, _ in
            try service.json(WireHealth(status: "ok", version: "0.1.0"))
        }
        add("GET", "/v1/embedder") { service, _ in
            guard let embedder = service.embedder else { throw APIError.notFound("this server has no embedder") }
            let dimension = try await embedder.embed(["dimension probe"]).first?.count ?? 0
            return try service.json(EmbedderResponse(model: embedder.model, dimension: dimension))
        }
        add("POST", "/v1/embed") { service, call in
            let body = try service.decode(EmbedRequest.self, from: call)
            guard body.texts.count <= 1_024 else { throw APIError.badRequest("at most 1024 texts per request") }
            let vectors = try await service.embed(body.texts, for: nil)
            return try service.json(EmbedResponse(model: service.embedder!.model, embeddings: vectors))
        }

        // Collections
        add("GET", "/v1/collections") { service, _ in
            let collections = try await service.read { try service.store.collections() }
            return try service.json(WireCollections(collections: collections.map(WireCollection.init)))
        }
        add("POST", "/v1/collections") { service, call in
            let body = try service.decode(WireCollectionSettings.self, from: call)
            guard let name = body.name else { throw APIError.badRequest("missing field 'name'") }
            let configuration = try body.configuration()
            if body.getOrCreate == true {
                let existed = (try? await service.read { try service.store.collection(name) }) != nil
                let info = try await service.write { try service.store.getOrCreateCollection(name, configuration: configuration) }
                return try service.json(WireCollection(info), status: existed ? 200 : 201)
            }
            let info = try await service.write { try service.store.createCollection(name, configuration: configuration) }
            return try service.json(WireCollection(info), status: 201)
        }
        add("GET", "/v1/collections/{name}") { service, call in
            let name = try call.parameter("name")
            return try service.json(WireCollection(try await service.read { try service.store.collection(name) }))
        }
        add("PUT", "/v1/collections/{name}") { service, call in
            let name = try call.parameter("name")
            let configuration = try service.decode(WireCollectionSettings.self, from: call).configuration()
            let info = try await service.write { try service.store.getOrCreateCollection(name, configuration: configuration) }
            return try service.json(WireCollection(info))
        }
        add("DELETE", "/v1/collections/{name}") { service, call in
            let name = try call.parameter("name")
            try await service.write { try service.store.dropCollection(name) }
            return try service.json(WireDropped(dropped: name))
        }
        add("GET", "/v1/collections/{name}/count") { service, call in
            let name = try call.parameter("name")
            let info = try await service.read { try service.store.collection(name) }
            return try service.json(WireCount(count: info.count, pending: info.pending))
        }

        // Memories
        add("POST", "/v1/collections/{name}/memories") { service, call in
            let name = try call.parameter("name")
            let body = try service.decode(AddMemoriesRequest.self, from: call)
            let memories = try await service.newMemories(body.memories, collection: name)
            let live = memories.filter { $0.status != .pending }.map(\.memory)
            let pending = memories.filter { $0.status == .pending }.map(\.memory)
            let ids = try await service.write { () throws -> [MemoryID] in
                // One transaction for the live batch; pending decisions follow (each is all or nothing).
                var ids = try service.store.add(live, to: name, upsert: body.upsert ?? false)
                for decision in pending { ids.append(try service.store.recordDecision(decision, in: name)) }
                return ids
            }
            return try service.json(WireIDs(ids: ids.map(\.rawValue)), status: 201)
        }
        add("GET", "/v1/collections/{name}/memories") { service, call in
            let name = try call.parameter("name")
            let query = call.query
            let limit = Int(query["limit"] ?? "10") ?? 10
            guard (0...10_000).contains(limit) else { throw APIError.badRequest("limit must be between 0 and 10000") }
            let asOf: Date?
            do { asOf = try query["as_of"].map { (text) throws(WireTimeError) in try WireTime.parseChecked(text) } } catch {
                throw APIError.badRequest("as_of: \(error)")
            }
            let ticker = query["ticker"], excluding = query["exclude_ticker"]
            let memories: [Memory]
            switch query["order"] ?? "recent" {
            case "recent":
                guard query["after"] == nil else { throw APIError.badRequest("after is for order=id only") }
                memories = try await service.read {
                    try service.store.recentMemories(in: name, ticker: ticker, excludingTicker: excluding, limit: limit, asOf: asOf)
                }
            case "id":
                // Every memory, pending ones too, in the order they were added: a log read page by page.
                guard excluding == nil, asOf == nil else { throw APIError.badRequest("exclude_ticker and as_of are for order=recent only") }
                let after = try query["after"].map { (text) throws(APIError) -> MemoryID in
                    guard let raw = UInt32(text) else { throw APIError.badRequest("after must be an engine id (0 to 4294967295)") }
                    return MemoryID(rawValue: raw)
                }
                memories = try await service.read { try service.store.memories(in: name, after: after, limit: limit, ticker: ticker) }
            case let other:
                throw APIError.badRequest("order must be recent or id, not '\(other)'")
            }
            return service.fastJSON(MemoriesResponse(memories: memories.map(WireMemory.init)))
        }
        add("DELETE", "/v1/collections/{name}/memories") { service, call in
            let name = try call.parameter("name")
            let deleted = try await service.write { try service.store.removeAllMemories(from: name) }
            return try service.json(WireDeleted(deleted: deleted))
        }
        add("POST", "/v1/collections/{name}/memories/delete") { service, call in
            let name = try call.parameter("name")
            let selection = try service.decode(DeleteRequest.self, from: call).selection()
            let deleted = try await service.write { () throws -> Int in
                switch selection {
                case .callerIDs(let ids): return try service.store.delete(callerIDs: ids, from: name)
                case .engineIDs(let ids): return try service.store.delete(ids.map(MemoryID.init(rawValue:)), from: name)  // unknown ones are skipped
                case .matching(let filter): return try service.store.delete(matching: filter, from: name)
                case .all: return try service.store.removeAllMemories(from: name)
                }
            }
            return try service.json(WireDeleted(deleted: deleted))
        }
        // One memory, addressed by its caller id (`{id}`) or by its engine id (`by-engine-id/{engine_id}`).
        for (path, address) in [("/v1/collections/{name}/memories/{id}", Address.callerID),
                                ("/v1/collections/{name}/memories/by-engine-id/{engine_id}", Address.engineID)] {
            add("GET", path) { service, call in
                let name = try call.parameter("name")
                let memory = try await service.read { () throws -> Memory in
                    let id = try service.memoryID(address, call, in: name)
                    guard let memory = try service.store.memory(id, in: name) else { throw TradingMemoryError.unknownMemory(id.description) }
                    return memory
                }
                return service.fastJSON(WireMemory(memory))
            }
            add("PATCH", path) { service, call in
                let name = try call.parameter("name")
                let update = try service.decode(UpdateRequest.self, from: call).update
                let memory = try await service.write { try service.store.update(try service.memoryID(address, call, in: name), in: name, update) }
                return service.fastJSON(WireMemory(memory))
            }
            add("DELETE", path) { service, call in
                let name = try call.parameter("name")
                let deleted = try await service.write { try service.store.delete([try service.memoryID(address, call, in: name)], from: name) }
                return try service.json(WireDeleted(deleted: deleted))
            }
        }

        // Queries
        add("POST", "/v1/collections/{name}/query") { service, call in
            let name = try call.parameter("name")
            let body = try service.decode(QueryRequest.self, from: call)
            guard body.vectors != nil || body.texts != nil else { throw APIError.badRequest("give vectors, texts, or both") }
            let count = body.vectors?.count ?? body.texts!.count
            guard (1...256).contains(count) else { throw APIError.badRequest("send 1 to 256 query vectors or texts") }
            if let texts = body.texts, let vectors = body.vectors, texts.count != vectors.count {
                throw APIError.badRequest("with both, texts[i] is the text of vectors[i]: send as many of each")
            }
            var vectors = body.vectors ?? []
            if body.vectors == nil, let texts = body.texts {
                // Texts alone are embedded; with vectors they are for lexical recall only.
                let info = try await service.read { try service.store.collection(name) }
                vectors = try await service.embed(texts, for: info)
            }
            let queries = try body.recallQueries(vectors: vectors)
            let recall: @Sendable () throws -> [(results: [RecallResult], analogues: AnalogueStatistics?)] = {
                try service.store.recall(queries, analogues: body.analogues ?? 0, weighted: body.analoguesWeighted ?? false, in: name)
            }
            // A query for a decision records what it returned: a write.
            let answers = body.decisionID == nil ? try await service.read(recall) : try await service.write(recall)
            return service.fastJSON(QueryResponse(results: answers.map { $0.results.map(WireRecallResult.init) },
                                               analogues: (body.analogues ?? 0) > 0 ? answers.map { WireAnalogues($0.analogues!) } : nil))
        }

        // Pending decisions
        add("POST", "/v1/collections/{name}/decisions") { service, call in
            let name = try call.parameter("name")
            let record = try service.decode(WireNewMemory.self, from: call)
            let decision = try await service.newMemories([record], collection: name)[0].memory
            let id = try await service.write { try service.store.recordDecision(decision, in: name) }
            return try service.json(WireID(id: id.rawValue), status: 201)
        }
        add("GET", "/v1/collections/{name}/decisions") { service, call in
            let name = try call.parameter("name")
            let pending = try await service.read { try service.store.pendingDecisions(in: name) }
            return service.fastJSON(MemoriesResponse(pending: pending.map(WireMemory.init)))
        }
        for (path, address) in [("/v1/collections/{name}/decisions/{id}/resolve", Address.callerID),
                                ("/v1/collections/{name}/decisions/by-engine-id/{engine_id}/resolve", Address.engineID)] {
            add("POST", path) { service, call in
                let name = try call.parameter("name")
                let body = try service.decode(ResolveRequest.self, from: call)
                let memory = try await service.write { () throws -> Memory in
                    let memoryID = try service.memoryID(address, call, in: name)
                    // One transaction: a bad metadata value leaves the decision pending.
                    return try service.store.resolve(memoryID, in: name, outcome: body.outcome, reflection: body.reflection,
                                                  knownAt: body.knownAt?.date, quality: body.quality, metadata: body.metadata)
                }
                return service.fastJSON(WireMemory(memory))
            }
        }

        // Provenance and credit
        add("GET", "/v1/decisions/{decision_id}/provenance") { service, call in
            let decision = try call.parameter("decision_id")
            let asOf: Date?
            do { asOf = try call.query["as_of"].map { (text) throws(WireTimeError) in try WireTime.parseChecked(text) } } catch {
                throw APIError.badRequest("as_of: \(error)")
            }
            guard let provenance = try await service.read({ try service.store.provenance(decisionID: decision, asOf: asOf) }) else {
                throw APIError(status: 404, code: "unknown_decision", message: "no recall recorded decision '\(decision.prefix(80))' and it was never credited")
            }
            return service.fastJSON(WireProvenance(provenance))
        }
        add("POST", "/v1/decisions/{decision_id}/credit") { service, call in
            let decision = try call.parameter("decision_id")
            let body = try service.decode(CreditRequest.self, from: call)
            let resolution = try await service.write {
                try service.store.creditDecision(decision, outcome: body.outcome, action: body.action, credit: body.credit, knownAt: body.knownAt?.date)
            }
            return service.fastJSON(WireDecisionResolution(resolution))
        }
        return routes
    }

    /// Records of a request as memories: vectors checked, missing ones embedded by the service.
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
