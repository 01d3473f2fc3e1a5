import Embedding
import Foundation
import Hummingbird
import HummingbirdTesting
import MemoryAPI
import Server
import LMDB
import TestSupport
import Testing
import TradingMemory

/// The memory API answers the same through the HTTP router and in-process (the C API's path):
/// one route table, one set of handlers, one wire format.
@Suite struct MemoryServiceTests {
    @Test func targetsSplitAndDecodeAsAnHTTPServerDoes() throws {
        let request = try #require(APIRequest(method: "get", target: "/v1/collections/a%2Fb/memories/%E4%B8%AD?limit=5&ticker=BRK.B&as_of=2025-01-02T00%3A00%3A00Z&limit=9"))
        #expect(request.method == "GET" && request.segments == ["v1", "collections", "a/b", "memories", "中"])
        #expect(request.query == ["limit": "5", "ticker": "BRK.B", "as_of": "2025-01-02T00:00:00Z"])
        #expect(APIRequest(method: "GET", target: "v1/collections") == nil)
        #expect(APIRequest(method: "GET", target: "/v1/collections/%zz") == nil)
        #expect(APIRequest(method: "GET", target: "/v1/collections/%FF") == nil)  // not UTF-8
    }

    @Test func inProcessAnswersEqualTheServersByteForByte() async throws {
        // A live server (real HTTP: percent-encoded slashes reach the router as they are sent).
        try await withTemporaryDirectory { path in
            let store = try TradingMemoryStore(path: path, options: EnvironmentOptions(durability: .none))
            defer { store.close() }
            let server = HindsightServer(store: store, configuration: ServerConfiguration(port: 0, embedder: HashingEmbedder(dimension: 8)))
            try await Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            let inline = MemoryService(store: server.store, embedder: HashingEmbedder(dimension: 8), blockingWork: .inline)
            func both(_ method: String, _ target: String, _ body: String? = nil) async throws -> (Int, String) {
                let viaHTTP = try await client.execute(uri: target, method: HTTPRequest.Method(method)!, headers: [.contentType: "application/json"],
                                                       body: body.map { ByteBuffer(string: $0) }) { response in
                    (response.status.code, String(decoding: response.body.readableBytesView, as: UTF8.self))
                }
                let request = try #require(APIRequest(method: method, target: target, body: Array((body ?? "").utf8)))
                let answer = await inline.respond(to: request)
                let inProcess = (answer.status, String(decoding: answer.body, as: UTF8.self))
                #expect(viaHTTP == inProcess, "\(method) \(target)")
                return inProcess
            }
            // Writes once (in-process), then every read both ways.
            func write(_ method: String, _ target: String, _ body: String) async throws -> Int {
                await inline.respond(to: try #require(APIRequest(method: method, target: target, body: Array(body.utf8)))).status
            }
            #expect(try await write("POST", "/v1/collections", #"{"name": "agents.bull", "dimension": 8, "embedding_model": "hashing-8"}"#) == 201)
            let created = try await write("POST", "/v1/collections/agents.bull/memories", #"""
            {"memories": [{"id": "600519.SH/2025-03-03", "situation": "贵州茅台 放量突破", "reflection": "持有", "ticker": "600519.SH",
                           "time": "2025-03-03T00:00:00Z"},
                          {"id": "delete", "situation": "BRK.B buyback", "reflection": "add", "ticker": "BRK.B", "time": "2025-03-05T00:00:00Z"}]}
            """#)
            #expect(created == 201)
            // A decision id with a slash and Chinese: recorded by a query, credited, then read both ways.
            #expect(try await write("POST", "/v1/collections/agents.bull/query",
                                    #"{"texts": ["茅台 突破"], "k": 2, "as_of": "2025-03-10", "decision_id": "600519.SH/2025-03-10 买入"}"#) == 200)
            let decisionPath = "/v1/decisions/600519.SH%2F2025-03-10%20%E4%B9%B0%E5%85%A5"
            #expect(try await write("POST", decisionPath + "/credit", #"{"outcome": 0.03, "action": "BUY", "known_at": "2025-03-17"}"#) == 200)
            let (status, provenance) = try await both("GET", decisionPath + "/provenance?as_of=2025-03-20")
            #expect(status == 200 && provenance.contains(#""decision_id":"600519.SH/2025-03-10 买入""#) && provenance.contains(#""memories_credited":2"#))
            for (method, target, body) in [
                ("GET", "/v1/collections/agents.bull", nil), ("GET", "/v1/collections", nil),
                ("GET", "/v1/collections/agents.bull/memories/600519.SH%2F2025-03-03", nil),
                ("GET", "/v1/collections/agents.bull/memories/delete", nil),       // a literal beats a parameter: no GET route there
                ("POST", "/v1/collections/agents.bull/memories", #"{"memories": [{"id": "delete", "situation": "again", "reflection": "", "time": 1}]}"#),
                ("POST", "/v1/collections/agents.bull/memories/delete", "{}"),      // the literal route: an empty filter is refused
                ("GET", "/v1/collections/agents.bull/memories/by-engine-id/1", nil),
                ("GET", "/v1/collections/agents.bull/memories?order=id&limit=1&after=0", nil),
                ("GET", "/v1/collections/agents.bull/memories?ticker=BRK.B&as_of=2025-03-04T00%3A00%3A00Z", nil),
                ("POST", "/v1/collections/agents.bull/query", #"{"texts": ["茅台 突破"], "k": 2, "as_of": "2025-03-06", "analogues": 2}"#),
                ("POST", "/v1/collections/agents.bull/query", #"{"vectors": ["AACAPwAAgD8AAIA/AACAPwAAgD8AAIA/AACAPwAAgD8="], "k": 1}"#),
                ("POST", "/v1/collections/agents.bull/query", #"{"vectors": ["AACAPw=="], "k": 1}"#),  // wrong dimension
                ("POST", "/v1/collections/agents.bull/query", #"{"vectors": [[1,2,3,4,5,6,7,8]], "k": 1, "nonsense": 1}"#),
                ("GET", "/v1/collections/missing/count", nil), ("PATCH", "/v1/collections", nil), ("GET", "/v2/nothing", nil),
                ("GET", "/v1/embedder", nil), ("POST", "/v1/embed", #"{"texts": ["rates up"]}"#), ("GET", "/health", nil),
                ("GET", decisionPath + "/provenance?as_of=2025-03-16", nil), ("GET", "/v1/decisions/none/provenance", nil),
                ("POST", decisionPath + "/credit", #"{"outcome": 0.01}"#),                                // closed: 409
                ("POST", "/v1/collections/agents.bull/query", #"{"texts": ["x"], "decision_id": "600519.SH/2025-03-10 买入"}"#),
                ("POST", "/v1/decisions/x/credit", #"{"outcome": "up"}"#),
            ] as [(String, String, String?)] {
                _ = try await both(method, target, body)
            }
            }
        }
    }
}
