import APIModels
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
                                              body: (some Encodable)? = Optional<String>.none, as: Response.Type) async throws -> Response {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        if !query.isEmpty { components.queryItems = query }
        var request = URLRequest(url: components.url!, timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONEncoder().encode(body)
        }
        let data: Data, response: URLResponse
        do { (data, response) = try await session.data(for: request) } catch {
            throw TransportError(description: "cannot reach \(baseURL.absoluteString): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw Self.error(status: status, data: data) }
        do { return try FastJSONDecoder().decode(Response.self, from: data) } catch {
            throw TransportError(description: "unexpected answer from \(path): \(RecordFormat.describe(error))")
        }
    }

    /// The server's error as the engine's error type.
    static func error(status: Int, data: Data) -> any Error {
        guard let body = try? JSONDecoder().decode(ErrorResponse.self, from: data) else {
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
        try await request("PUT", collectionPath(name), body: CreateCollectionRequest(name: nil, configuration: configuration),
                          as: CollectionResponse.self).info
    }

    public func collection(_ name: String) async throws -> CollectionInfo {
        try await request("GET", collectionPath(name), as: CollectionResponse.self).info
    }

    private struct IDs: Decodable { let ids: [UInt32] }
    private struct SingleID: Decodable { let id: UInt32 }
    private struct Deleted: Decodable { let deleted: Int }

    public func add(_ memories: [NewMemory], to collection: String, upsert: Bool) async throws -> [MemoryID] {
        let records = memories.map(Self.record)
        return try await request("POST", collectionPath(collection) + "/memories", body: AddMemoriesRequest(memories: records, upsert: upsert),
                                 as: IDs.self).ids.map(MemoryID.init(rawValue:))
    }

    public func recall(_ queries: [RecallQuery], in collection: String) async throws -> [[RecallResult]] {
        // Queries with the same options go in one request; different options, one request each.
        var results: [[RecallResult]] = []
        for query in queries {
            let response = try await request("POST", collectionPath(collection) + "/query", body: QueryRequest(query), as: QueryResponse.self)
            results.append(response.results.first?.map(Self.result) ?? [])
        }
        return results
    }

    public func recordDecision(_ decision: NewMemory, in collection: String) async throws -> MemoryID {
        MemoryID(rawValue: try await request("POST", collectionPath(collection) + "/decisions", body: Self.record(decision), as: SingleID.self).id)
    }

    public func resolve(_ id: MemoryID, in collection: String, outcome: Double?, reflection: String, knownAt: Date?,
                        quality: Double?) async throws -> Memory {
        try Self.memory(await request("POST", collectionPath(collection) + "/decisions/\(id.rawValue)/resolve",
                                      body: ResolveRequest(outcome: outcome, reflection: reflection, knownAt: knownAt, quality: quality),
                                      as: MemoryJSON.self))
    }

    public func update(_ id: MemoryID, in collection: String, _ update: MemoryUpdate) async throws -> Memory {
        try Self.memory(await request("PATCH", collectionPath(collection) + "/memories/\(id.rawValue)", body: UpdateRequest(update),
                                      as: MemoryJSON.self))
    }

    public func pendingDecisions(in collection: String) async throws -> [Memory] {
        try (await request("GET", collectionPath(collection) + "/decisions", as: MemoriesResponse.self).pending ?? []).map(Self.memory)
    }

    public func memoryID(callerID: String, in collection: String) async throws -> MemoryID? {
        do {
            let memory = try await request("GET", collectionPath(collection) + "/memories/\(Self.segment(callerID))", as: MemoryJSON.self)
            return memory.caller_id == callerID ? MemoryID(rawValue: memory.engine_id) : nil
        } catch TradingMemoryError.unknownMemory {
            return nil
        }
    }

    public func recentMemories(in collection: String, ticker: String?, excludingTicker: String?, limit: Int, asOf: Date?) async throws -> [Memory] {
        var query = [URLQueryItem(name: "limit", value: String(limit))]
        if let ticker { query.append(URLQueryItem(name: "ticker", value: ticker)) }
        if let excludingTicker { query.append(URLQueryItem(name: "exclude_ticker", value: excludingTicker)) }
        if let asOf { query.append(URLQueryItem(name: "as_of", value: RecordFormat.format(asOf))) }
        return try (await request("GET", collectionPath(collection) + "/memories", query: query, as: MemoriesResponse.self).memories ?? [])
            .map(Self.memory)
    }

    public func removeAllMemories(from collection: String) async throws -> Int {
        try await request("DELETE", collectionPath(collection) + "/memories", as: Deleted.self).deleted
    }

    // MARK: Conversions

    static func record(_ memory: NewMemory) -> MemoryRecordJSON {
        MemoryRecordJSON(id: memory.id, ticker: memory.ticker, time: memory.time, knownAt: memory.knownAt, situation: memory.situation,
                         reflection: memory.reflection, action: memory.action, outcome: memory.outcome, quality: memory.quality,
                         metadata: memory.metadata, vector: memory.vector)
    }

    static func memory(_ json: MemoryJSON) -> Memory {
        Memory(id: MemoryID(rawValue: json.engine_id), callerID: json.caller_id, ticker: json.ticker, time: json.time.date,
               knownAt: json.known_at.date, situation: json.situation, reflection: json.reflection, action: json.action,
               outcome: json.outcome, quality: json.quality, metadata: json.metadata, status: json.status, reinforcements: json.reinforcements)
    }

    static func result(_ json: RecallResultJSON) -> RecallResult {
        RecallResult(memory: memory(json.memory), similarity: json.similarity, score: json.score, layer: json.layer)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
