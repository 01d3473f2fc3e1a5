import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import TestSupport
import Testing
import TradingMemory
import VectorIndex
import WireFormat

private let vector8: J = .array([.raw("1"), .raw("0.5"), .raw("0"), .raw("0"), .raw("0"), .raw("0"), .raw("0"), .raw("0.25")])
private let filter: J = .object([("tickers", .array([.string("AAPL")])), ("time_from", .string("2024-01-01")), ("outcome_min", .raw("-1")),
                                 ("metadata", .array([.object([("key", .string("regime")), ("op", .string("eq")), ("value", .string("bull"))])]))])
private func record(_ id: String) -> J {
    .object([("id", .string(id)), ("ticker", .string("600519.SH")), ("time", .string("2024-01-02")), ("known_at", .raw("1704758400")),
             ("situation", .string("## 市场报告\n\nRSI 61")), ("reflection", .string("hold")), ("action", .string("BUY")), ("outcome", .raw("0.02")),
             ("quality", .raw("0.5")), ("metadata", .object([("regime", .string("bull"))])), ("vector", vector8)])
}

/// Every route with a valid request (method, path, body): the seeds the fuzzer mutates.
private let seeds: [(HTTPRequest.Method, String, J?)] = [
    (.get, "/health", nil), (.get, "/metrics", nil), (.get, "/v1/embedder", nil),
    (.post, "/v1/embed", .object([("texts", .array([.string("a b"), .string("市场")]))])),
    (.get, "/v1/collections", nil),
    (.post, "/v1/collections", .object([("name", .string("n")), ("dimension", .raw("8")), ("decay", .object([("half_life", .string("30d"))])),
                                        ("capacity", .object([("max_memories", .raw("50")), ("max_age", .string("365d")), ("eviction", .string("oldest-first"))])),
                                        ("m", .raw("8")), ("ef_construction", .raw("40")), ("search_ef", .raw("32"))])),
    (.get, "/v1/collections/c", nil),
    (.put, "/v1/collections/p", .object([("dimension", .raw("8")), ("decay", .object([("shape", .string("gauss")), ("scale", .string("30d")), ("midpoint", .raw("0.5")), ("offset", .string("1d"))]))])),
    (.get, "/v1/collections/c/count", nil),
    (.post, "/v1/collections/c/memories", .object([("memories", .array([record("f1"), record("f2")])), ("upsert", .bool(true))])),
    (.get, "/v1/collections/c/memories?limit=3&ticker=AAPL&as_of=2024-06-01", nil),
    (.post, "/v1/collections/c/query", .object([("vectors", .array([vector8])), ("k", .raw("3")), ("ticker", .string("AAPL")), ("mode", .string("merged")),
                                                ("ticker_boost", .raw("1.5")), ("as_of", .string("2024-06-01")), ("decay", .object([("half_life", .raw("86400"))])),
                                                ("min_similarity", .raw("0.1")), ("weight_by_quality", .bool(true)), ("where", filter), ("ef", .raw("16"))])),
    (.post, "/v1/collections/c/query", .object([("texts", .array([.string("RSI rising")])), ("k", .raw("2"))])),
    (.get, "/v1/collections/c/memories/a", nil),
    (.get, "/v1/collections/c/memories/by-engine-id/0", nil),
    (.patch, "/v1/collections/c/memories/a", .object([("reflection", .string("r2")), ("quality", .raw("0.9")), ("metadata", .object([("k", .bool(true))])),
                                                      ("remove_metadata_keys", .array([.string("regime")]))])),
    (.post, "/v1/collections/c/decisions", .object([("id", .string("dx")), ("time", .string("2024-02-01")), ("situation", .string("s")), ("vector", vector8)])),
    (.get, "/v1/collections/c/decisions", nil),
    (.post, "/v1/collections/c/decisions/d/resolve", .object([("outcome", .raw("0.01")), ("reflection", .string("r")), ("known_at", .string("2024-02-08")),
                                                              ("quality", .raw("0.3")), ("metadata", .object([("alpha", .raw("0.004"))]))])),
    (.post, "/v1/collections/c/memories/delete", .object([("where", filter)])),
    (.post, "/v1/collections/c/memories/delete", .object([("caller_ids", .array([.string("zz")]))])),
    (.delete, "/v1/collections/c/memories/by-engine-id/99", nil),
    (.delete, "/v1/collections/c/memories/zz", nil),
    (.patch, "/v1/collections/c/memories/by-engine-id/1", .object([("outcome", .raw("-0.02"))])),
    (.post, "/v1/collections/c/decisions/by-engine-id/2/resolve", .object([("reflection", .string("r"))])),
    (.delete, "/v1/collections/p/memories", nil),
    (.delete, "/v1/collections/p", nil),
    (.post, "/v1/collections/c/query", .object([("vectors", .array([vector8])), ("k", .raw("2")), ("decision_id", .string("AAPL@2024-06-01")),
                                                ("as_of", .string("2024-06-01")), ("credit", .bool(false))])),
    (.post, "/v1/decisions/AAPL%402024-06-01/credit", .object([("outcome", .raw("-0.02")), ("action", .string("SELL")), ("known_at", .string("2024-06-08"))])),
    (.get, "/v1/decisions/AAPL%402024-06-01/provenance?as_of=2024-06-10", nil),
]

/// The route pattern a seed path exercises (`{name}`, `{id}`, `{engine_id}` for the concrete segments).
private func pattern(_ path: String) -> String {
    var segments = path.split(separator: "?")[0].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    if segments.count > 3, segments[1] == "v1", segments[2] == "collections" { segments[3] = "{name}" }
    if segments.count > 3, segments[1] == "v1", segments[2] == "decisions" { segments[3] = "{decision_id}" }
    for index in segments.indices.dropFirst(4) where segments[index - 1] == "memories" || segments[index - 1] == "decisions" {
        if !["delete", "by-engine-id"].contains(segments[index]) { segments[index] = "{id}" }
    }
    for index in segments.indices.dropFirst() where segments[index - 1] == "by-engine-id" { segments[index] = "{engine_id}" }
    return segments.joined(separator: "/")
}


private let hostileSegments = ["..", "%2e%2e", "%00", "%FF", String(repeating: "n", count: 300), "a%2Fb", "-1", "4294967296", "c?x", "%F0%9F%99%82"]

/// Seeded fuzzing of every route: valid requests mutated with hostile values, unknown keys, missing
/// keys, deep nesting, truncation and invalid UTF-8. The server must never answer 5xx or die, and a
/// refused request must leave the database exactly as it was.
@Suite struct FuzzTests {
    /// The database's content (an export without its header's timestamp).
    private static func fingerprint(_ store: TradingMemoryStore) throws -> Data {
        var data = Data()
        try JSONLines.export(store, write: { data.append($0) })
        return Data(data.split(separator: UInt8(ascii: "\n")).dropFirst().joined(separator: [UInt8(ascii: "\n")]))
    }

    @Test(arguments: [2026, 168, 600519])
    func hostileRequestsNeverCrashNorChangeAnything(seed: UInt64) async throws {
        try await withServer { server, client in
            // Every route the server has is among the seeds.
            let seeded = Set(seeds.map { "\($0.0.rawValue) \(pattern($0.1))" })
            for route in server.routes() { #expect(seeded.contains("\(route.method) \(route.path)"), "no seed for \(route.method) \(route.path)") }
            let setup: [(HTTPRequest.Method, String, String)] = [
                (.post, "/v1/collections", #"{"name":"c","dimension":8,"decay":{"half_life":"30d"}}"#),
                (.post, "/v1/collections/c/memories", J.object([("memories", .array([record("a"), record("b")]))]).text),
                (.post, "/v1/collections/c/decisions", #"{"id":"d","ticker":"AAPL","time":"2024-02-01","situation":"pending","vector":[0,1,0,0,0,0,0,0]}"#),
            ]
            for (method, uri, body) in setup { #expect(try await client.call(method, uri, body).status < 300) }
            var generator = SplitMix64(seed: seed)
            var baseline = try Self.fingerprint(server.store)
            var statuses: [Int: Int] = [:]
            for round in 0..<500 {
                let (method, seedPath, seedBody) = seeds[Int(generator.next() % UInt64(seeds.count))]
                var path = seedPath
                if generator.next() % 8 == 0 {  // a hostile path segment in place of a name or an id
                    var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                    if segments.count > 3 { segments[3 + Int(generator.next() % UInt64(segments.count - 3))] = hostileSegments[Int(generator.next() % UInt64(hostileSegments.count))] }
                    path = segments.joined(separator: "/")
                }
                var bytes = seedBody.map { Array(HostileJSON.mutate($0, &generator).text.utf8) }
                switch generator.next() % 12 {
                case 0: bytes = bytes.map { Array($0.prefix(Int(generator.next() % UInt64(max($0.count, 1))))) }  // truncated
                case 1: bytes = bytes.map { $0.isEmpty ? $0 : Array($0[..<($0.count / 2)]) + [0xC3, 0x28] + Array($0[($0.count / 2)...]) }  // invalid UTF-8
                case 2: bytes = Array((String(repeating: "[", count: 400) + String(repeating: "]", count: 400)).utf8)  // deep nesting
                default: break
                }
                let status = try await client.execute(uri: path, method: method,
                                                      headers: bytes == nil ? [:] : [.contentType: "application/json"],
                                                      body: bytes.map { ByteBuffer(bytes: $0) }) { $0.status.code }
                statuses[status, default: 0] += 1
                #expect(status < 500, "round \(round): \(method) \(path) \(bytes.map { String(decoding: $0.prefix(300), as: UTF8.self) } ?? "") answered \(status)")
                let now = try Self.fingerprint(server.store)
                if status >= 400 {
                    #expect(now == baseline, "round \(round): a refused \(method) \(path) changed the database")
                }
                baseline = now
            }
            #expect(try server.store.verify().clean)
            // The fuzzer reached both sides of the checks.
            #expect(statuses.filter { $0.key < 300 }.values.reduce(0, +) > 20 && statuses.filter { $0.key >= 400 }.values.reduce(0, +) > 100,
                    "\(statuses)")
        }
    }
}
