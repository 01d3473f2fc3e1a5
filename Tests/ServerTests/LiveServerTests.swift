import AgentMemory
import Embedding
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import LMDB
import Logging
import ServiceLifecycle
import Server
import Synchronization
import TestSupport
import Testing
import TradingMemory

/// Runs a real server on a free loopback port for the duration of `body`, then stops it gracefully.
func withLiveServer(token: String? = nil, idleTimeoutSeconds: Double = 30, _ body: @escaping @Sendable (URL) async throws -> Void) async throws {
    try await withTemporaryDirectory { path in
        let store = try TradingMemoryStore(path: path, options: EnvironmentOptions(durability: .none))
        let server = HindsightServer(store: store, configuration: ServerConfiguration(port: 0, token: token, embedder: HashingEmbedder(dimension: 64),
                                                                                      idleTimeoutSeconds: idleTimeoutSeconds))
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = server.application { port in continuation.yield(port) }
        // Stopped gracefully, as SIGTERM stops `hindsight serve`: cancelling a server task while it
        // still holds accepted connections traps in NIO (swift-server/swift-http-server#137).
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do { try await body(URL(string: "http://127.0.0.1:\(port)")!) } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        store.close()
    }
}

@Suite struct LiveServerTests {
    @Test func agentMemoryOverTheRemoteTransport() async throws {
        try await withLiveServer(token: "t0k") { url in
            let engine = RemoteMemoryEngine(baseURL: url, token: "t0k")
            let memory = AgentMemory(collection: "run1.trader_memory", engine: engine, embedder: HashingEmbedder(dimension: 64))
            #expect(try await memory.count() == 0)
            try await memory.addSituations([(situation: "rates rising banks rally", recommendation: "Favor banks when rates rise."),
                                            (situation: "oil spike airlines fall", recommendation: "Avoid airlines on oil spikes.")],
                                           ticker: "JPM", date: Date(timeIntervalSince1970: 1_704_153_600))
            let matches = try await memory.getMemories("banks rally as rates rise", nMatches: 1, ticker: "JPM")
            #expect(matches.first?.recommendation == "Favor banks when rates rise.")
            let day = Date(timeIntervalSince1970: 1_706_745_600)
            try await memory.storeDecision(ticker: "JPM", date: day, decision: "BUY JPM", situation: "rates rising banks rally again")
            #expect(try await memory.pendingDecisions().count == 1)
            let resolved = try await memory.updateWithOutcome(ticker: "JPM", date: day, rawReturn: 0.03, alphaReturn: 0.01, holdingDays: 5,
                                                              reflection: "Banks did rally.")
            #expect(resolved.status == .live && resolved.metadata["alpha_return"] == .number(0.01))
            let context = try await memory.pastContext(ticker: "JPM", nSame: 5, nCross: 5)
            #expect(context.sameTicker.count == 3)
            await #expect(throws: TradingMemoryError.unknownMemory("decision:AAPL:2024-02-01")) {
                try await memory.updateWithOutcome(ticker: "AAPL", date: day, rawReturn: 0, reflection: "none")
            }
            let unauthorized = AgentMemory(collection: "run1.trader_memory", engine: RemoteMemoryEngine(baseURL: url, token: "nope"),
                                           embedder: HashingEmbedder(dimension: 64))
            await #expect(throws: RemoteMemoryEngine.RemoteError.self) { try await unauthorized.count() }
            #expect(try await memory.clear() == 3)
        }
    }

    @Test func serverAnswersOverASocketAndStopsGracefully() async throws {
        try await withLiveServer { url in
            let (data, response) = try await URLSession.shared.data(from: url.appendingPathComponent("health"))
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            #expect(String(decoding: data, as: UTF8.self).contains("ok"))
            var request = URLRequest(url: url.appendingPathComponent("v1/embed"))
            request.httpMethod = "POST"
            request.httpBody = Data(#"{"texts":["市场 情绪"]}"#.utf8)
            let (embedded, _) = try await URLSession.shared.data(for: request)
            let json = try JSONSerialization.jsonObject(with: embedded) as! [String: Any]
            #expect(json["model"] as? String == "hashing-64" && (json["embeddings"] as? [[Double]])?.first?.count == 64)
        }
    }

    /// A client that opens a connection and trickles half a request head, or sends nothing, is cut
    /// off after the idle timeout. (That complete requests are answered is what every other live test
    /// shows; it is not timed here, where a loaded machine could delay a read past so short a timeout.)
    @Test func slowAndIdleConnectionsAreClosed() async throws {
        try await withLiveServer(idleTimeoutSeconds: 1.5) { url in
            let port = UInt16(url.port!)
            for partial in ["", "GET /health HTTP/1.1\r\nHost: x\r\n"] {
                let socket = try LoopbackSocket(port: port)
                defer { socket.close() }
                try socket.send(partial)
                let start = ContinuousClock.now
                let answer = try socket.readUntilClosed(limit: .seconds(20))
                let waited = ContinuousClock.now - start
                #expect(answer.isEmpty, "no answer to an incomplete request: \(answer)")
                #expect(waited < .seconds(15), "closed by the server after the idle timeout, not by the test's limit (\(waited))")
            }
        }
    }
}
