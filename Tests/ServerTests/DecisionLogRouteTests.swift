import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing

/// What a decision log (the Python `TradingMemoryLog`) needs of the HTTP API: every memory in the
/// order it was added, pending ones too, page by page; and a resolution with its metadata in one step.
@Suite struct DecisionLogRouteTests {
    private func record(_ id: String, ticker: String = "NVDA", time: String) -> String {
        #"{"id":"\#(id)","ticker":"\#(ticker)","time":"\#(time)","situation":"decision \#(id)","metadata":{"decision":"Rating: Buy"}}"#
    }

    private func memories(_ body: Any?) -> [[String: Any]] {
        ((body as? [String: Any])?["memories"] as? [[String: Any]]) ?? []
    }

    @Test func listsEveryMemoryInTheOrderAddedPageByPage() async throws {
        try await withServer { _, client in
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"log","dimension":8}"#).status == 201)
            // Added out of time order, pending and live mixed; one resolved after later ones were added.
            #expect(try await client.call(.post, "/v1/collections/log/decisions", record("d1", time: "2026-01-10")).status == 201)
            #expect(try await client.call(.post, "/v1/collections/log/memories", #"{"memories":[\#(record("m2", ticker: "AAPL", time: "2026-01-02"))]}"#).status == 201)
            #expect(try await client.call(.post, "/v1/collections/log/decisions", record("d3", time: "2026-01-05")).status == 201)
            #expect(try await client.call(.post, "/v1/collections/log/decisions", record("d4", ticker: "600519.SH", time: "2026-01-06")).status == 201)
            #expect(try await client.call(.post, "/v1/collections/log/decisions/d1/resolve", #"{"reflection":"ok","outcome":0.05}"#).status == 200)

            let all = try await client.call(.get, "/v1/collections/log/memories?order=id&limit=100")
            #expect(all.status == 200)
            #expect(memories(all.body).map { $0["caller_id"] as? String } == ["d1", "m2", "d3", "d4"])
            #expect(memories(all.body).map { $0["status"] as? String } == ["live", "live", "pending", "pending"])

            var seen: [String] = []
            var after: Int?
            while true {
                let page = try await client.call(.get, "/v1/collections/log/memories?order=id&limit=3" + (after.map { "&after=\($0)" } ?? ""))
                let rows = memories(page.body)
                seen += rows.compactMap { $0["caller_id"] as? String }
                guard rows.count == 3, let last = rows.last?["engine_id"] as? Int else { break }
                after = last
            }
            #expect(seen == ["d1", "m2", "d3", "d4"])

            let nvda = try await client.call(.get, "/v1/collections/log/memories?order=id&ticker=NVDA&limit=100")
            #expect(memories(nvda.body).map { $0["caller_id"] as? String } == ["d1", "d3"])
            let beyond = try await client.call(.get, "/v1/collections/log/memories?order=id&after=4294967295")
            #expect(beyond.status == 200 && memories(beyond.body).isEmpty)

            // The default order stays what it was: live memories, newest first.
            let recent = try await client.call(.get, "/v1/collections/log/memories?limit=10")
            #expect(memories(recent.body).map { $0["caller_id"] as? String } == ["d1", "m2"])

            for (uri, expected) in [("order=id&as_of=2026-01-01", "order=recent only"), ("order=id&exclude_ticker=NVDA", "order=recent only"),
                                    ("order=id&after=-1", "engine id"), ("order=id&after=x", "engine id"), ("after=3", "order=id only"),
                                    ("order=time", "order must be")] {
                let (status, body) = try await client.call(.get, "/v1/collections/log/memories?" + uri)
                let message = (((body as? [String: Any])?["error"] as? [String: Any])?["message"] as? String) ?? ""
                #expect(status == 400 && message.contains(expected), "\(uri): \(status) \(message)")
            }
        }
    }

    @Test func aResolutionWithBadMetadataLeavesTheDecisionPending() async throws {
        try await withServer { _, client in
            #expect(try await client.call(.post, "/v1/collections", #"{"name":"log","dimension":8}"#).status == 201)
            #expect(try await client.call(.post, "/v1/collections/log/decisions", record("d1", time: "2026-01-10")).status == 201)
            let refused = try await client.call(.post, "/v1/collections/log/decisions/d1/resolve", #"{"reflection":"r","outcome":0.05,"metadata":{"":1}}"#)
            #expect(refused.status == 400)
            let pending = try await client.call(.get, "/v1/collections/log/decisions")
            #expect(((pending.body as? [String: Any])?["pending"] as? [Any])?.count == 1, "the refused resolution changed nothing")

            let resolved = try await client.call(.post, "/v1/collections/log/decisions/d1/resolve",
                                                 #"{"reflection":"r","outcome":0.05,"metadata":{"raw_return":0.05,"holding":"5d"}}"#)
            #expect(resolved.status == 200)
            let memory = resolved.body as? [String: Any]
            let metadata = memory?["metadata"] as? [String: Any]
            #expect(memory?["status"] as? String == "live")
            #expect(metadata?["decision"] as? String == "Rating: Buy", "merged, not replaced")
            #expect(metadata?["raw_return"] as? Double == 0.05 && metadata?["holding"] as? String == "5d")
        }
    }
}
