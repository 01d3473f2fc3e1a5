import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

private let vector8 = "[1,0,0,0,0,0,0,0]"

/// Requests that used to crash the server or delete more than asked: each is refused with a 400
/// that names the problem, and changes nothing.
@Suite struct HostileRequestTests {
    private func memory(_ id: String, time: String = "2024-01-02", vector: String = vector8) -> String {
        #"{"id":"\#(id)","ticker":"AAPL","time":"\#(time)","situation":"s \#(id)","reflection":"r","vector":\#(vector)}"#
    }

    private func count(_ client: any TestClientProtocol) async throws -> Int {
        let (_, body) = try await client.call(.get, "/v1/collections/c/count")
        return ((body as? [String: Any])?["count"] as? Int) ?? -1
    }

    private func message(_ body: Any?) -> String {
        (((body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String) ?? ""
    }

    @Test func timesOutsideYearsOneToNineThousandAreRefused() async throws {
        try await withServer { _, client in
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#).status == 201)
            #expect(try await client.call(.post, "/v1/collections/c/memories", #"{"memories":[\#(memory("a"))]}"#).status == 201)
            let refused: [(HTTPRequest.Method, String, String?, String)] = [
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"as_of":1e30}"#, "outside years 1 to 9999"),
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"as_of":1704153600000}"#, "milliseconds"),
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"as_of":1704153600000000000}"#, "nanoseconds"),
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"where":{"time_from":-1e30}}"#, "outside years"),
                (.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"as_of":"10000-01-01"}"#, "ISO 8601"),
                (.post, "/v1/collections/c/memories", #"{"memories":[\#(memory("b", time: "-99999999999"))]}"#, "outside years"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":1704153600000,"situation":"s","vector":\#(vector8)}]}"#, "milliseconds"),
                (.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","known_at":9.3e15,"situation":"s","vector":\#(vector8)}]}"#, "known_at"),
                (.get, "/v1/collections/c/memories?as_of=1e20", nil, "as_of"),
                (.post, "/v1/collections", #"{"name":"p","dimension":8,"capacity":{"max_age":1e300}}"#, "max_age"),
                (.post, "/v1/collections", #"{"name":"p","dimension":8,"decay":{"half_life":"99999999999999999d"}}"#, "half_life"),
                (.post, "/v1/collections", #"{"name":"p","dimension":8,"decay":{"shape":"exp","scale":1e300}}"#, "scale"),
            ]
            for (method, uri, body, expected) in refused {
                let (status, answer) = try await client.call(method, uri, body)
                #expect(status == 400, "\(uri) \(body ?? "") answered \(status)")
                #expect(message(answer).contains(expected), "\(message(answer))")
            }
            #expect(try await count(client) == 1)
            #expect(try await client.call(.get, "/v1/collections/p").status == 404, "no collection was made")
            // A decision resolved with a time in nanoseconds: refused, still pending.
            #expect(try await client.call(.post, "/v1/collections/c/decisions", memory("d", time: "2024-02-01")).status == 201)
            let resolve = try await client.call(.post, "/v1/collections/c/decisions/d/resolve", #"{"reflection":"r","known_at":1.7e18}"#)
            #expect(resolve.status == 400 && message(resolve.body).contains("nanoseconds"))
            let pending = try await client.call(.get, "/v1/collections/c/decisions")
            #expect(((pending.body as? [String: Any])?["pending"] as? [Any])?.count == 1)
        }
    }

    @Test func deletesSayWhatTheyDelete() async throws {
        try await withServer { _, client in
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#).status == 201)
            // Caller id "1" is engine id 0; "x" is engine id 1.
            #expect(try await client.call(.post, "/v1/collections/c/memories", #"{"memories":[\#(memory("1")),\#(memory("x")),\#(memory("y")),\#(memory("z"))]}"#).status == 201)
            let refused: [(String, String)] = [
                (#"{"where":{}}"#, "empty filter"),
                (#"{"where":{"ticker":"AAPL"}}"#, "'where.ticker': unknown field"),
                (#"{"where":{"bogus":1,"tickers":["AAPL"]}}"#, "'where.bogus'"),
                (#"{"ids":["x"]}"#, "'ids': unknown field"),
                (#"{"all":false}"#, "only true"),
                (#"{"caller_ids":["x"],"all":true}"#, "exactly one"),
                ("{}", "exactly one"),
            ]
            for (body, expected) in refused {
                let (status, answer) = try await client.call(.post, "/v1/collections/c/memories/delete", body)
                #expect(status == 400, "\(body) answered \(status)")
                #expect(message(answer).contains(expected), "\(body): \(message(answer))")
            }
            #expect(try await count(client) == 4, "nothing was deleted")
            // Caller ids and engine ids each have their own path.
            #expect(try await client.call(.delete, "/v1/collections/c/memories/1").status == 200)
            #expect(try await client.call(.get, "/v1/collections/c/memories/x").status == 200, "engine id 1 is still there")
            #expect(try await client.call(.delete, "/v1/collections/c/memories/by-engine-id/1").status == 200)
            #expect(try await client.call(.get, "/v1/collections/c/memories/x").status == 404)
            #expect(try await client.call(.get, "/v1/collections/c/memories/by-engine-id/abc").status == 400)
            let deleted = try await client.call(.post, "/v1/collections/c/memories/delete", #"{"engine_ids":[2,99]}"#)
            #expect((deleted.body as? [String: Any])?["deleted"] as? Int == 1)
            let all = try await client.call(.post, "/v1/collections/c/memories/delete", #"{"all":true}"#)
            #expect((all.body as? [String: Any])?["deleted"] as? Int == 1)
            #expect(try await count(client) == 0)
        }
    }

    @Test func unknownKeysAndInvalidUTF8AreRefused() async throws {
        try await withServer { _, client in
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"c","dimension":8}"#).status == 201)
            let query = try await client.call(.post, "/v1/collections/c/query", #"{"vectors":[\#(vector8)],"as-of":"2024-01-01"}"#)
            #expect(query.status == 400 && message(query.body).contains("'as-of': unknown field"))
            let create = try await client.call(.post, "/v1/collections", #"{"name":"d","dimension":8,"capacity":{"max_memory":3}}"#)
            #expect(create.status == 400 && message(create.body).contains("capacity.max_memory"))
            let add = try await client.call(.post, "/v1/collections/c/memories", #"{"memories":[{"time":"2024-01-01","situaton":"typo","vector":\#(vector8)}]}"#)
            #expect(add.status == 400)
            // Two ids that differ only in an invalid byte must not both become U+FFFD.
            var body = Data(#"{"memories":[{"id":"a"#.utf8)
            body.append(0xFF)
            body.append(contentsOf: #"","time":"2024-01-01","situation":"s","vector":\#(vector8)}]}"#.utf8)
            let invalid = try await client.execute(uri: "/v1/collections/c/memories", method: .post, headers: [.contentType: "application/json"],
                                                   body: ByteBuffer(bytes: body)) { $0.status.code }
            #expect(invalid == 400)
            #expect(try await count(client) == 0)
        }
    }
}
