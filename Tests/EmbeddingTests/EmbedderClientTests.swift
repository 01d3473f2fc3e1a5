import Embedding
import RemoteEmbedding
import Foundation
import TestSupport
import Testing

/// An embedding a stub server computes from the text: deterministic, so tests know what to expect.
func stubVector(_ text: String, dimension: Int = 8) -> [Float] {
    var vector = [Float](repeating: 0.01, count: dimension)
    for (index, byte) in text.utf8.enumerated() { vector[(index + Int(byte)) % dimension] += Float(byte % 7 + 1) }
    return vector
}

/// A stub of an OpenAI-compatible `/v1/embeddings` endpoint.
func makeEmbeddingsServer(apiKey: String? = "secret") throws -> StubHTTPServer {
    try StubHTTPServer { request in
        guard request.method == "POST", request.path == "/v1/embeddings" else { return (404, Data(#"{"error":"not found"}"#.utf8)) }
        if let apiKey, request.headers["authorization"] != "Bearer \(apiKey)" { return (401, Data(#"{"error":"bad key"}"#.utf8)) }
        guard let json = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
              let inputs = json["input"] as? [String], json["model"] as? String == "stub-embed" else {
            return (400, Data(#"{"error":"bad request"}"#.utf8))
        }
        // Answer in reverse order with explicit indexes, as some servers do.
        let data = inputs.enumerated().reversed().map { ["object": "embedding", "index": $0.offset, "embedding": stubVector($0.element)] as [String: Any] }
        return (200, try! JSONSerialization.data(withJSONObject: ["object": "list", "data": data, "model": "stub-embed"]))
    }
}

@Suite struct EmbedderClientTests {
    @Test func openAICompatibleEndpointOverLoopback() async throws {
        let server = try makeEmbeddingsServer()
        defer { server.stop() }
        let embedder = OpenAICompatibleEmbedder(baseURL: server.url.appendingPathComponent("v1"), model: "stub-embed", apiKey: "secret", batchSize: 2)
        let texts = ["AAPL beat earnings", "市场情绪转弱", "Fed holds rates"]
        let vectors = try await embedder.embed(texts)
        #expect(vectors == texts.map { stubVector($0) })
        #expect(server.requests.count == 2, "three texts in batches of two")
        #expect(server.requests.allSatisfy { $0.headers["content-type"] == "application/json" })
    }

    @Test func errorsAreTyped() async throws {
        let server = try makeEmbeddingsServer()
        defer { server.stop() }
        let wrongKey = OpenAICompatibleEmbedder(baseURL: server.url.appendingPathComponent("v1"), model: "stub-embed", apiKey: "wrong")
        await #expect(throws: EmbeddingError.self) { try await wrongKey.embed(["x"]) }
        do {
            _ = try await wrongKey.embed(["x"])
        } catch let error as EmbeddingError {
            guard case .httpStatus(401, _) = error else { Issue.record("expected 401, got \(error)"); return }
        }
        server.stop()
        let gone = OpenAICompatibleEmbedder(baseURL: server.url.appendingPathComponent("v1"), model: "stub-embed", apiKey: "secret", timeout: 5)
        await #expect(throws: EmbeddingError.self) { try await gone.embed(["x"]) }
    }

    @Test func longTextIsCutBetweenCharacters() async throws {
        let server = try makeEmbeddingsServer()
        defer { server.stop() }
        let embedder = OpenAICompatibleEmbedder(baseURL: server.url.appendingPathComponent("v1"), model: "stub-embed", apiKey: "secret",
                                                maxInputCharacters: 5)
        _ = try await embedder.embed(["贵州茅台股价大涨👍🏽ok"])
        let sent = try JSONSerialization.jsonObject(with: server.requests[0].body) as! [String: Any]
        #expect((sent["input"] as! [String]) == ["贵州茅台股"])
    }

    @Test func truncationNeverSplitsACharacter() {
        let text = "Crude 油价上涨 e\u{301}🇯🇵 done"
        for limit in 0...text.utf8.count {
            let cut = TextTruncation.prefix(text, maxUTF8Bytes: limit)
            #expect(cut.utf8.count <= limit && text.hasPrefix(cut))
            #expect(cut.unicodeScalars.count == 0 || text.unicodeScalars.starts(with: cut.unicodeScalars))
        }
        #expect(TextTruncation.prefix("e\u{301}x", maxUTF8Bytes: 2) == "")  // the accent stays with its letter
        #expect(TextTruncation.prefix("市场情绪", maxCharacters: 2) == "市场")
    }

    @Test func cacheEmbedsEachDistinctTextOnce() async throws {
        let calls = CallCounter()
        let base = ClosureEmbedder(model: "counting") { texts in
            calls.add(texts.count)
            return texts.map { stubVector($0) }
        }
        let cache = CachingEmbedder(base, capacity: 2)
        _ = try await cache.embed(["a", "b", "a"])
        #expect(calls.value == 2)
        let again = try await cache.embed(["b", "a"])
        #expect(again == [stubVector("b"), stubVector("a")] && calls.value == 2)
        _ = try await cache.embed(["c"])  // evicts the least recently used ("b")
        _ = try await cache.embed(["a"])
        #expect(calls.value == 3)
        _ = try await cache.embed(["b"])
        #expect(calls.value == 4 && cache.count == 2)
    }

    @Test func sha256MatchesStandardVectors() {
        #expect(Embedding.sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Embedding.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Embedding.sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(Embedding.sha256Hex(String(repeating: "a", count: 1_000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}

final class CallCounter: @unchecked Sendable {
    // Sendable: `count` is only touched under `lock`.
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.withLock { count += n } }
    var value: Int { lock.withLock { count } }
}
