import WireFormat
import FastJSON
public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
public import TradingMemory

/// The engine behind a `hindsight serve` process, over its HTTP JSON API: the same calls as
/// ``LocalMemoryEngine``, so an ``AgentMemory`` works the same in-process or remote. Server errors
/// come back as the same ``TradingMemoryError`` cases.
public final class RemoteMemoryEngine: MemoryEngine {
    /// The server, e.g. `http://127.0.0.1:8765`.
    public let baseURL: URL
    private let token: String?
    private let timeout: TimeInterval
    private let session: URLSession

    public init(baseURL: URL, token: String? = nil, timeout: TimeInterval = 30) {
        self.baseURL = baseURL
        self.token = token
        self.timeout = timeout
        session = URLSession(configuration: .ephemeral)
    }

    /// A transport-level failure: the server could not be reached or answered something unexpected.
    public struct TransportError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    private static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private func request<Response: Decodable>(_ method: String, _ path: String, query: [URLQueryItem] = [],
                                              body: Data? = nil, as: Response.Type) async throws -> Response {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        if !query.isEmpty { components.queryItems = query }
        var request = URLRequest(url: components.url!, timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = body
        }
        let data: Data, response: URLResponse
        do { (data, response) = try await session.data(for: request) } catch {
            throw TransportError(description: "cannot reach \(baseURL.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw Self.error(status: status, data: data) }
        do { return try FastJSONDecoder().decode(Response.self, from: data) } catch {
            throw TransportError(description: "unexpected answer from \(path): \(WireDecoding.describe(error))")
        }
    }

    /// A request body from a settings-sized shape (Foundation's encoder).
    private static func body(_ value: some Encodable) throws -> Data { try JSONEncoder().encode(value) }
    /// A request body from a shape that carries memories (the wire format's one writer for them).
    private static func body(_ value: some JSONWritable) -> Data { Data(value.jsonBytes(capacity: 4_096)) }

    /// The server's error as the engine's error type.
    static func error(status: Int, data: Data) -> any Error {
        guard let body = try? JSONDecoder().decode(WireError.self, from: data) else {
            return TransportError(description: "HTTP \(status)")
        }
        let message = body.error.message
        func quoted() -> String {  // the name between the first pair of single quotes
            let parts = message.split(separator: "'", omittingEmptySubsequences: false)
            return parts.count >= 3 ? String(parts[1]) : message
        }
        switch body.error.code {
        case "unknown_collection": return TradingMemoryError.unknownCollection(quoted())
        case "unknown_memory": return TradingMemoryError.unknownMemory(quoted())
        case "collection_exists": return TradingMemoryError.collectionExists(quoted())
        case "duplicate_id": return TradingMemoryError.duplicateID(quoted())
        case "not_pending": return TradingMemoryError.notPending(quoted())
        case "decision_resolved": return TradingMemoryError.decisionResolved(quoted())
        case "invalid_vector": return TradingMemoryError.invalidVector(message)
        case "dimension_mismatch", "embedding_model_mismatch", "invalid_argument", "bad_request":
            return RemoteError(status: status, code: body.error.code, message: message)
        default: return RemoteError(status: status, code: body.error.code, message: message)
        }
    }

    /// An error answered by the server that has no local equivalent with the same fields.
    public struct RemoteError: Error, CustomStringConvertible, Sendable, Hashable {
        public var status: Int
        public var code: String
        public var message: String
        public var description: String { "\(message) (HTTP \(status), \(code))" }
    }

    private func collectionPath(_ name: String) -> String { "/v1/collections/\(Self.segment(name))" }

    // MARK: MemoryEngine

    public func getOrCreateCollection(_ name: String, configuration: CollectionConfiguration) async throws -> CollectionInfo {
        try await request("PUT", collectionPath(name), body: try Self.body(WireCollectionSettings(name: nil, configuration: configuration)),
                          as: WireCollection.self).info
    }

    public func collection(_ name: String) async throws -> CollectionInfo {
        try await request("GET", collectionPath(name), as: WireCollection.self).info
    }


    public func add(_ memories: [NewMemory], to collection: String, upsert: Bool) async throws -> [MemoryID] {
        let records = memories.map(Self.record)
        return try await request("POST", collectionPath(collection) + "/memories", body: try Self.body(AddMemoriesRequest(memories: records, upsert: upsert)),
                                 as: WireIDs.self).ids.map(MemoryID.init(rawValue:))
    }

    public func recall(_ queries: [RecallQuery], in collection: String) async throws -> [[RecallResult]] {
        // Queries with the same options go in one request; different options, one request each.
        var results: [[RecallResult]] = []
        for query in queries {
            let response = try await request("POST", collectionPath(collection) + "/query", body: try Self.body(QueryRequest(query)), as: QueryResponse.self)
            results.append(response.results.first?.map(Self.result) ?? [])
        }
        return results
    }

    public func recordDecision(_ decision: NewMemory, in collection: String) async throws -> MemoryID {
        MemoryID(rawValue: try await request("POST", collectionPath(collection) + "/decisions", body: Self.body(Self.record(decision)), as: WireID.self).id)
    }

    public func resolve(_ id: MemoryID, in collection: String, outcome: Double?, reflection: String, knownAt: Date?,
                        quality: Double?) async throws -> Memory {
        try Self.memory(await request("POST", collectionPath(collection) + "/decisions/by-engine-id/\(id.rawValue)/resolve",
                                      body: try Self.body(ResolveRequest(outcome: outcome, reflection: reflection, knownAt: knownAt, quality: quality)),
                                      as: WireMemory.self))
    }

    public func update(_ id: MemoryID, in collection: String, _ update: MemoryUpdate) async throws -> Memory {
        try Self.memory(await request("PATCH", collectionPath(collection) + "/memories/by-engine-id/\(id.rawValue)", body: try Self.body(UpdateRequest(update)),
                                      as: WireMemory.self))
    }

    public func pendingDecisions(in collection: String) async throws -> [Memory] {
        try (await request("GET", collectionPath(collection) + "/decisions", as: MemoriesResponse.self).pending ?? []).map(Self.memory)
    }

    public func memoryID(callerID: String, in collection: String) async throws -> MemoryID? {
        do {
            let memory = try await request("GET", collectionPath(collection) + "/memories/\(Self.segment(callerID))", as: WireMemory.self)
            return memory.callerID == callerID ? MemoryID(rawValue: memory.engineID) : nil
        } catch TradingMemoryError.unknownMemory {
            return nil
        }
    }

    public func recentMemories(in collection: String, ticker: String?, excludingTicker: String?, limit: Int, asOf: Date?) async throws -> [Memory] {
        var query = [URLQueryItem(name: "limit", value: String(limit))]
        if let ticker { query.append(URLQueryItem(name: "ticker", value: ticker)) }
        if let excludingTicker { query.append(URLQueryItem(name: "exclude_ticker", value: excludingTicker)) }
        if let asOf { query.append(URLQueryItem(name: "as_of", value: WireTime.format(asOf))) }
        return try (await request("GET", collectionPath(collection) + "/memories", query: query, as: MemoriesResponse.self).memories ?? [])
            .map(Self.memory)
    }

    public func removeAllMemories(from collection: String) async throws -> Int {
        try await request("DELETE", collectionPath(collection) + "/memories", as: WireDeleted.self).deleted
    }

    // MARK: Conversions

    static func record(_ memory: NewMemory) -> WireNewMemory {
        WireNewMemory(callerID: memory.callerID, ticker: memory.ticker, time: memory.time, knownAt: memory.knownAt, situation: memory.situation,
                      reflection: memory.reflection, action: memory.action, outcome: memory.outcome, quality: memory.quality,
                      metadata: memory.metadata, vector: memory.vector)
    }

    static func memory(_ wire: WireMemory) -> Memory { wire.memory }

    static func result(_ wire: WireRecallResult) -> RecallResult { wire.result }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
