public import Foundation
public import Embedding
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, Azure-style proxies, vLLM, Ollama,
/// LM Studio, text-embeddings-inference …).
public struct OpenAICompatibleEmbedder: Embedder {
    /// The base URL, e.g. `https://api.openai.com/v1` (the path `/embeddings` is appended).
    public let baseURL: URL
    public let model: String
    private let apiKey: String?
    /// Texts longer than this many characters are cut (between characters) before sending.
    public let maxInputCharacters: Int
    /// Texts per request.
    public let batchSize: Int
    private let timeout: TimeInterval

    public init(baseURL: URL, model: String, apiKey: String? = nil, maxInputCharacters: Int = 6_000, batchSize: Int = 64,
                timeout: TimeInterval = 60) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.maxInputCharacters = maxInputCharacters
        self.batchSize = max(1, batchSize)
        self.timeout = timeout
    }

    private struct Request: Encodable {
        let model: String
        let input: [String]
    }

    private struct Response: Decodable {
        struct Item: Decodable {
            let embedding: [Float]
            let index: Int?
        }
        let data: [Item]
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(texts.count)
        for start in stride(from: 0, to: texts.count, by: batchSize) {
            let batch = texts[start..<min(start + batchSize, texts.count)].map { TextTruncation.prefix($0, maxCharacters: maxInputCharacters) }
            vectors += try await request(batch)
        }
        return vectors
    }

    private func request(_ texts: [String]) async throws -> [[Float]] {
        var request = URLRequest(url: baseURL.appendingPathComponent("embeddings"), timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if let apiKey, !apiKey.isEmpty { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        request.httpBody = try JSONEncoder().encode(Request(model: model, input: texts))
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw EmbeddingError.unreachable("\(baseURL.absoluteString): \(error.localizedDescription)")
        }
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            let detail = String(decoding: data.prefix(300), as: UTF8.self)
            throw EmbeddingError.httpStatus(http.statusCode, detail)
        }
        let decoded: Response
        do { decoded = try JSONDecoder().decode(Response.self, from: data) } catch {
            throw EmbeddingError.malformedResponse("no data[].embedding array")
        }
        guard decoded.data.count == texts.count else {
            throw EmbeddingError.malformedResponse("\(decoded.data.count) embeddings for \(texts.count) inputs")
        }
        let ordered = decoded.data.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }
        let vectors = ordered.map(\.element.embedding)
        if let first = vectors.first?.count, let bad = vectors.first(where: { $0.count != first }) {
            throw EmbeddingError.dimensionMismatch(expected: first, actual: bad.count)
        }
        return vectors
    }
}
