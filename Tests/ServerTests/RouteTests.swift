import WireFormat
import Embedding
import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import TestSupport
import Testing
import TradingMemory

private let vector8 = "[1,0,0,0,0,0,0,0]"

private func record(_ id: String, ticker: String = "AAPL", time: String = "2024-01-02", vector: String = vector8, extra: String = "") -> String {
    #"{"id":"\#(id)","ticker":"\#(ticker)","time":"\#(time)","situation":"situation \#(id)","reflection":"lesson \#(id)","action":"BUY","vector":\#(vector)\#(extra)}"#
}

@Suite struct RouteTests {
    /// Every operation of docs/openapi.yaml is served, answers one of its documented statuses, and
    /// every served route is documented.
    @Test func everyDocumentedRouteAnswersAsDescribed() async throws {
        let yaml = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml"),
                              encoding: .utf8)
        let documented = documentedOperations(yaml)
        #expect(documented.count >= 20)
        try await withServer { server, client in
            let served = Set(server.routes().map { "\($0.method) \($0.path)" })
            #expect(Set(documented.map { "\($0.method) \($0.path)" }) == served)
            try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#)
            try await client.call(.post, "/v1/collections/c/memories", #"{"memories":[\#(record("m1")),\#(record("m2", ticker: "MSFT"))]}"#)
            try await client.call(.post, "/v1/collections/c/decisions", record("d1", time: "2024-02-01"))
            // A request per operation, the status it must answer, and the path with its parameters filled in.
            let requests: [String: (uri: String, body: String?, status: Int)] = [
                "GET /health": ("/health", nil, 200),
                "GET /metrics": ("/metrics", nil, 200),
                "GET /v1/embedder": ("/v1/embedder", nil, 200),
                "POST /v1/embed": ("/v1/embed", #"{"texts":["a b","c"]}"#, 200),
                "GET /v1/collections": ("/v1/collections", nil, 200),
                "POST /v1/collections": ("/v1/collections", #"{"name":"new","dimension":8,"decay":{"half_life":"30d"},"capacity":{"max_memories":100}}"#, 201),
                "GET /v1/collections/{name}": ("/v1/collections/c", nil, 200),
                "PUT /v1/collections/{name}": ("/v1/collections/put-made", #"{"dimension":8}"#, 200),
                "DELETE /v1/collections/{name}": ("/v1/collections/new", nil, 200),
                "GET /v1/collections/{name}/count": ("/v1/collections/c/count", nil, 200),
                "POST /v1/collections/{name}/memories": ("/v1/collections/c/memories", #"{"memories":[\#(record("m3"))]}"#, 201),
                "GET /v1/collections/{name}/memories": ("/v1/collections/c/memories?ticker=AAPL&limit=5&as_of=2024-06-01", nil, 200),
                "POST /v1/collections/{name}/query": ("/v1/collections/c/query", #"{"vectors":[\#(vector8)],"k":2,"ticker":"AAPL","mode":"ticker_then_global","as_of":"2024-06-01","decay":{"half_life":"90d"},"where":{"actions":["BUY"]}}"#, 200),
                "GET /v1/collections/{name}/memories/{id}": ("/v1/collections/c/memories/m1", nil, 200),
                "PATCH /v1/collections/{name}/memories/{id}": ("/v1/collections/c/memories/m1", #"{"outcome":0.02,"metadata":{"reviewed":true}}"#, 200),
                "GET /v1/collections/{name}/decisions": ("/v1/collections/c/decisions", nil, 200),
                "POST /v1/collections/{name}/decisions": ("/v1/collections/c/decisions", record("d2", time: "2024-02-02"), 201),
                "POST /v1/collections/{name}/decisions/{id}/resolve": ("/v1/collections/c/decisions/d1/resolve", #"{"outcome":-0.01,"reflection":"too early","known_at":"2024-02-08"}"#, 200),
                "POST /v1/collections/{name}/memories/delete": ("/v1/collections/c/memories/delete", #"{"caller_ids":["m3"]}"#, 200),
                // Engine ids: m1 is 0, m2 1, d1 2, m3 3, d2 4.
                "GET /v1/collections/{name}/memories/by-engine-id/{engine_id}": ("/v1/collections/c/memories/by-engine-id/0", nil, 200),
                "PATCH /v1/collections/{name}/memories/by-engine-id/{engine_id}": ("/v1/collections/c/memories/by-engine-id/0", #"{"quality":0.5}"#, 200),
                "POST /v1/collections/{name}/decisions/by-engine-id/{engine_id}/resolve": ("/v1/collections/c/decisions/by-engine-id/4/resolve", #"{"reflection":"later"}"#, 200),
                "DELETE /v1/collections/{name}/memories/by-engine-id/{engine_id}": ("/v1/collections/c/memories/by-engine-id/0", nil, 200),
                "DELETE /v1/collections/{name}/memories/{id}": ("/v1/collections/c/memories/m2", nil, 200),
                "DELETE /v1/collections/{name}/memories": ("/v1/collections/put-made/memories", nil, 200),
                "POST /v1/decisions/{decision_id}/credit": ("/v1/decisions/NVDA%402024-05-10/credit", #"{"outcome":0.03,"action":"SELL","known_at":"2024-05-20"}"#, 200),
                "GET /v1/decisions/{decision_id}/provenance": ("/v1/decisions/NVDA%402024-05-10/provenance?as_of=2024-06-01", nil, 200),
            ]
            let order = ["GET /health", "GET /metrics", "GET /v1/embedder", "POST /v1/embed", "GET /v1/collections", "POST /v1/collections",
                         "GET /v1/collections/{name}", "PUT /v1/collections/{name}", "DELETE /v1/collections/{name}",
                         "GET /v1/collections/{name}/count", "POST /v1/collections/{name}/memories", "GET /v1/collections/{name}/memories",
                         "POST /v1/collections/{name}/query", "GET /v1/collections/{name}/memories/{id}",
                         "PATCH /v1/collections/{name}/memories/{id}", "GET /v1/collections/{name}/decisions",
                         "POST /v1/collections/{name}/decisions", "POST /v1/collections/{name}/decisions/{id}/resolve",
                         "POST /v1/collections/{name}/decisions/by-engine-id/{engine_id}/resolve",
                         "GET /v1/collections/{name}/memories/by-engine-id/{engine_id}", "PATCH /v1/collections/{name}/memories/by-engine-id/{engine_id}",
                         "POST /v1/collections/{name}/memories/delete", "DELETE /v1/collections/{name}/memories/{id}",
                         "DELETE /v1/collections/{name}/memories/by-engine-id/{engine_id}", "DELETE /v1/collections/{name}/memories",
                         "POST /v1/decisions/{decision_id}/credit", "GET /v1/decisions/{decision_id}/provenance"]
            #expect(Set(order) == Set(requests.keys) && Set(order) == served, "every route has a request")
            for key in order {
                let operation = try #require(documented.first { "\($0.method) \($0.path)" == key })
                let (uri, body, expected) = requests[key]!
                let (status, json) = try await client.call(HTTPRequest.Method(operation.method)!, uri, body)
                #expect(status == expected, "\(key) answered \(status)")
                #expect(operation.statuses.contains(status), "\(key): \(status) is not documented")
                if key != "GET /metrics" { #expect(json is [String: Any], "\(key) answered no JSON object") }
            }
            // Documented error statuses are answered with the error shape.
            let (status, json) = try await client.call(.get, "/v1/collections/absent")
            #expect(status == 404)
            let error = (json as? [String: Any])?["error"] as? [String: String]
            #expect(error?["code"] == "unknown_collection" && error?["message"]?.contains("absent") == true)
        }
    }

    @Test func queriesSeeTickersAsOfAndDecay() async throws {
        try await withServer { _, client in
            try await client.call(.post, "/v1/collections", #"{"name":"trader","dimension":8}"#)
            let memories = [record("old", time: "2024-01-01", extra: #","known_at":"2024-01-05""#),
                            record("new", time: "2024-03-01", vector: "[1,0.2,0,0,0,0,0,0]"),
                            record("msft", ticker: "MSFT", time: "2024-03-01")]
            #expect(try await client.call(.post, "/v1/collections/trader/memories", #"{"memories":[\#(memories.joined(separator: ","))]}"#).status == 201)
            func ids(_ body: String) async throws -> [[String]] {
                let (status, json) = try await client.call(.post, "/v1/collections/trader/query", body)
                #expect(status == 200)
                return ((json as! [String: Any])["results"] as! [[[String: Any]]]).map { $0.map { $0["id"] as! String } }
            }
            #expect(try await ids(#"{"vectors":[\#(vector8)],"k":5,"ticker":"AAPL","mode":"ticker"}"#) == [["old", "new"]])
            #expect(try await ids(#"{"vectors":[\#(vector8)],"k":5,"as_of":"2024-02-01"}"#) == [["old"]])
            #expect(try await ids(#"{"vectors":[\#(vector8)],"k":1,"as_of":"2024-03-02","decay":{"half_life":"10d"},"where":{"tickers":["AAPL"]}}"#) == [["new"]])
            #expect(try await ids(#"{"vectors":[\#(vector8),[0,1,0,0,0,0,0,0]],"k":1,"mode":"global"}"#).count == 2)
            #expect(try await ids(#"{"texts":["situation old"],"k":1}"#).count == 1)
        }
    }

    /// Texts for a collection are embedded with the variant of the server's model that the
    /// collection recorded (e.g. windowed long texts); another model's collection refuses texts.
    @Test func textsUseTheCollectionsRecordedVariant() async throws {
        struct Variant: Embedder {
            let suffix: String
            var model: String { "base" + suffix }
            func embed(_ texts: [String]) async throws -> [[Float]] {
                // The variant shows in the vector, so the test can tell which one embedded.
                texts.map { _ in [suffix.isEmpty ? 1 : 0, suffix.isEmpty ? 0 : 1, 0, 0, 0, 0, 0, 0] }
            }
            func embedder(forModel model: String) -> (any Embedder)? { model.hasPrefix("base") ? Variant(suffix: String(model.dropFirst(4))) : nil }
        }
        try await withServer(embedder: Variant(suffix: "")) { _, client in
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"w","dimension":8,"embedding_model":"base+windows(overlap:8)"}"#).status == 201)
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"o","dimension":8,"embedding_model":"other"}"#).status == 201)
            let added = try await client.call(.post, "/v1/collections/w/memories", #"{"memories":[{"id":"x","time":"2024-01-01","situation":"s","reflection":"r"}]}"#)
            #expect(added.status == 201)
            let (_, json) = try await client.call(.post, "/v1/collections/w/query", #"{"vectors":[[0,1,0,0,0,0,0,0]],"k":1}"#)
            let best = ((json as? [String: Any])?["results"] as? [[[String: Any]]])?.first?.first
            #expect((best?["similarity"] as? Double).map { $0 > 0.999 } == true, "the windowed variant embedded the situation")
            let refused = try await client.call(.post, "/v1/collections/o/memories", #"{"memories":[{"time":"2024-01-01","situation":"s"}]}"#)
            #expect(refused.status == 422)
        }
    }

    @Test func tokenIsRequiredOnEveryRouteButHealth() async throws {
        try await withServer(token: "s3cret") { server, client in
            #expect(try await client.call(.get, "/health").status == 200)
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#, token: "s3cret").status == 201)
            for route in server.routes() where route.path != "/health" {
                let uri = route.path.replacingOccurrences(of: "{name}", with: "c").replacingOccurrences(of: "{id}", with: "x")
                let method = HTTPRequest.Method(route.method)!
                for token in [nil, "wrong", "s3cret-but-longer", ""] as [String?] {
                    let (status, json) = try await client.call(method, uri, route.method == "GET" || route.method == "DELETE" ? nil : "{}", token: token)
                    #expect(status == 401, "\(route.method) \(route.path) with \(token ?? "no token")")
                    #expect(((json as? [String: Any])?["error"] as? [String: String])?["code"] == "unauthorized")
                }
            }
            // Nothing was touched: the collection is still there and empty.
            let (_, json) = try await client.call(.get, "/v1/collections/c/count", token: "s3cret")
            #expect((json as? [String: Int]) == ["count": 0, "pending": 0])
        }
    }

    @Test func badInputNeverWritesAndGetsTheRightStatus() async throws {
        try await withServer(maxBodyBytes: 4_096) { _, client in
            try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#)
            try await client.call(.post, "/v1/collections/c/memories", #"{"memories":[\#(record("keep"))]}"#)
            let cases: [(HTTPRequest.Method, String, String?, Int, String)] = [
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situation":"x","vector":[1,2,3]}]}"#, 422, "dimension_mismatch"),
                (.post, "/v1/collections/c/memories", #"{"memories":[\#(record("keep"))]}"#, 409, "duplicate_id"),
                (.post, "/v1/collections/c/memories", #"{"memories":[\#(record("x1")),\#(record("x1"))]}"#, 409, "duplicate_id"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situation":"x","vector":[0,0,0,0,0,0,0,0]}]}"#, 400, "invalid_vector"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situation":"x","vector":[NaN,0,0,0,0,0,0,0]}]}"#, 400, "bad_request"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situation":"x","vector":[1e39,0,0,0,0,0,0,0]}]}"#, 400, "bad_request"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"yesterday","situation":"x","vector":\#(vector8)}]}"#, 400, "bad_request"),
                (.post, "/v1/collections/c/memories", #"{"memories":"not a list"}"#, 400, "bad_request"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situation":"x","quality":3,"vector":\#(vector8)}]}"#, 400, "invalid_argument"),
                (.post, "/v1/collections/c/memories", "{not json", 400, "bad_request"),
                (.post, "/v1/collections/c/memories", nil, 400, "bad_request"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situation":"\#(String(repeating: "x", count: 5_000))","vector":\#(vector8)}]}"#, 413, "body_too_large"),
                (.post, "/v1/collections/absent/memories", #"{"memories":[\#(record("y"))]}"#, 404, "unknown_collection"),
                (.post, "/v1/collections/c/query", #"{"vectors":[[1,0]]}"#, 422, "dimension_mismatch"),
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"mode":"sideways"}"#, 400, "invalid_argument"),
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"mode":"ticker"}"#, 400, "invalid_argument"),
                (.post, "/v1/collections/c/query", #"{"k":3}"#, 400, "bad_request"),
                (.post, "/v1/collections/c/decisions/keep/resolve", #"{"reflection":"r"}"#, 409, "not_pending"),
                (.get, "/v1/collections/c/memories/absent", nil, 404, "unknown_memory"),
                (.post, "/v1/collections", #"{"name":"c","dimension":8}"#, 409, "collection_exists"),
                (.post, "/v1/collections", #"{"name":"bad name","dimension":8}"#, 400, "invalid_argument"),
                (.post, "/v1/collections", #"{"name":"z","dimension":"eight"}"#, 400, "bad_request"),
                (.put, "/v1/collections/c", #"{"dimension":16}"#, 422, "dimension_mismatch"),
                (.get, "/v1/nowhere", nil, 404, "no_route"),
            ]
            for (method, uri, body, status, code) in cases {
                let (answered, json) = try await client.call(method, uri, body)
                #expect(answered == status, "\(method) \(uri): \(answered)")
                let error = (json as? [String: Any])?["error"] as? [String: String]
                #expect(error?["code"] == code, "\(method) \(uri): \(String(describing: error))")
                #expect(error?["message"]?.contains("situation x") != true, "no memory text in errors")
            }
            // Unknown fields are refused, naming the field.
            let surprise = try await client.call(.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"surprise":{"deep":[1,2]}}"#)
            #expect(surprise.status == 400)
            #expect((((surprise.body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String)?.contains("'surprise': unknown field") == true)
            let (_, json) = try await client.call(.get, "/v1/collections/c/count")
            #expect((json as? [String: Int]) == ["count": 1, "pending": 0], "no bad request wrote anything")
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"hindsight_http_requests_total{method="POST",route="/v1/collections/{name}/memories",status="409"} 2"#))
            #expect(metrics.contains(#"hindsight_memories{collection="c"} 1"#))
            #expect(metrics.contains("hindsight_http_request_duration_seconds_bucket"))
        }
    }

    @Test func concurrentReadersAndWritersSeeWholeBatches() async throws {
        try await withServer { _, client in
            try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for batch in 0..<20 {
                        let memories = (0..<10).map { record("b\(batch)-\($0)", time: "2024-01-02", vector: "[1,\(batch),\($0),0,0,0,0,1]") }
                        let status = try await client.call(.post, "/v1/collections/c/memories", #"{"memories":[\#(memories.joined(separator: ","))]}"#).status
                        #expect(status == 201)
                    }
                }
                for _ in 0..<3 {
                    group.addTask {
                        for _ in 0..<30 {
                            let (_, json) = try await client.call(.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"k":1000}"#)
                            let results = ((json as? [String: Any])?["results"] as? [[Any]])?.first ?? []
                            #expect(results.count % 10 == 0, "a query saw \(results.count) memories: a half-applied batch")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
