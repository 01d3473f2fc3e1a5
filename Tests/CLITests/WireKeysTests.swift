import Foundation
import Hummingbird
import HummingbirdTesting
import LMDB
import Server
import TestSupport
import Testing
import TradingMemory

/// The CLI's `--json`, the HTTP API and exports describe the same things with the same keys and
/// values: each reads the database the CLI wrote, and the answers are compared object by object.
@Suite struct WireKeysTests {
    private static func object(_ text: String) -> NSDictionary? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSDictionary
    }

    @Test func cliHTTPAndExportsAgree() async throws {
        try await withTemporaryDirectory { path in
            let db = ["--db", path + "/db"]
            #expect(try CLI.run(["collection", "create", "c", "--dim", "3", "--half-life", "30d", "--max-per-ticker", "5", "--walk", "int8"] + db).status == 0)
            // A walk the engine does not have is a clear error and creates nothing.
            let badWalk = try CLI.run(["collection", "create", "d", "--dim", "3", "--walk", "int4"] + db)
            #expect(badWalk.status != 0 && badWalk.error.contains("walk"), "\(badWalk.error)")
            let records = """
            {"id":"AAPL-1","ticker":"AAPL","time":"2024-01-02","known_at":"2024-01-09","situation":"demand strong","reflection":"buy beats","action":"BUY","outcome":0.04,"quality":0.5,"metadata":{"regime":"bull","n":2,"ok":true},"vector":[1,0.1,0]}
            {"id":"茅台-1","ticker":"600519.SH","time":"2024-01-03","situation":"白酒需求回升","reflection":"持有","action":"HOLD","vector":[0.9,0.3,0]}
            {"ticker":"BRK.B","time":1704326400,"situation":"no caller id","vector":[0.5,0.5,0.1]}
            {"id":"D-1","ticker":"AAPL","time":"2024-02-01","situation":"pending one","action":"SELL","vector":[1,0,0],"status":"pending"}
            """
            try records.write(toFile: path + "/records.jsonl", atomically: true, encoding: .utf8)
            #expect(try CLI.run(["add", "--collection", "c", "--jsonl", path + "/records.jsonl"] + db).status == 0)

            let cliCollections = Self.object(try CLI.run(["collection", "list", "--json"] + db).output)
            let cliQuery = Self.object(try CLI.run(["query", "--collection", "c", "--vector", "[1,0,0]", "--k", "5", "--as-of", "2024-03-01",
                                                    "--json"] + db).output)
            let cliPending = Self.object(try CLI.run(["pending", "--collection", "c", "--json"] + db).output)
            #expect(try CLI.run(["export", "--jsonl", path + "/export.jsonl"] + db).status == 0)
            let exportLines = try String(contentsOfFile: path + "/export.jsonl", encoding: .utf8).split(separator: "\n").compactMap { Self.object(String($0)) }

            let store = try TradingMemoryStore(path: path + "/db")
            defer { store.close() }
            let server = HindsightServer(store: store, configuration: ServerConfiguration())
            let (httpCollections, httpQuery, httpPending) = try await Application(router: server.router()).test(.router) { client in
                func get(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil) async throws -> NSDictionary? {
                    try await client.execute(uri: uri, method: method, headers: body == nil ? [:] : [.contentType: "application/json"],
                                             body: body.map { ByteBuffer(string: $0) }) { response in
                        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? NSDictionary
                    }
                }
                let refused = try await client.execute(uri: "/v1/collections", method: .post, headers: [.contentType: "application/json"],
                                                       body: ByteBuffer(string: #"{"name":"e","dimension":3,"walk":"int4"}"#)) { $0.status }
                #expect(refused == .badRequest)
                return (try await get(.get, "/v1/collections"),
                        try await get(.post, "/v1/collections/c/query", #"{"vectors":[[1,0,0]],"k":5,"as_of":"2024-03-01"}"#),
                        try await get(.get, "/v1/collections/c/decisions"))
            }
            #expect(cliCollections != nil && cliCollections == httpCollections)
            #expect(cliQuery != nil && cliQuery == httpQuery)
            #expect(cliPending != nil && cliPending == httpPending)
            let results = ((httpQuery?["results"] as? [[NSDictionary]])?.first) ?? []
            #expect(results.count == 3)

            // Exports: a collection line carries the HTTP collection's settings, a memory line the
            // HTTP memory's fields under the same keys (its `id` is the caller id, as in a record to add).
            let collectionLine = exportLines.first { $0["type"] as? String == "collection" }
            let httpCollection = (httpCollections?["collections"] as? [NSDictionary])?.first
            #expect(collectionLine?["walk"] as? String == "int8")
            #expect((httpCollections?["collections"] as? [NSDictionary])?.map { $0["name"] as? String } == ["c"], "nothing else was created")
            for key in ["name", "dimension", "decay", "capacity", "m", "ef_construction", "search_ef", "walk", "created"] {
                #expect(collectionLine?[key] != nil && collectionLine?[key] as? NSObject == httpCollection?[key] as? NSObject, "\(key)")
            }
            let httpMemories = results.map(\.self) + ((httpPending?["pending"] as? [NSDictionary]) ?? [])
            let memoryLines = exportLines.filter { $0["type"] as? String == "memory" }
            #expect(memoryLines.count == 4)
            for line in memoryLines {
                guard let memory = httpMemories.first(where: { $0["engine_id"] as? Int == line["engine_id"] as? Int }) else {
                    Issue.record("no HTTP memory for export line \(line)")
                    continue
                }
                #expect(line["id"] as? String == memory["caller_id"] as? String)
                let shared = Set((line.allKeys as? [String]) ?? []).subtracting(["type", "collection", "engine_id", "id", "vector"])
                #expect(shared.isSuperset(of: ["ticker", "time", "known_at", "situation", "status", "reinforcements"]))
                for key in shared { #expect(line[key] as? NSObject == memory[key] as? NSObject, "\(key)") }
            }
        }
    }
}
