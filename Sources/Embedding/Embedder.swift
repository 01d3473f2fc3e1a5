/// Turns texts into vectors. Implementations: a local model (``BertEmbedder``), an
/// OpenAI-compatible endpoint (``OpenAICompatibleEmbedder``), a closure, or ``CachingEmbedder``
/// around any of them.
public protocol Embedder: Sendable {
    /// The model's name, recorded with each collection: text embedded with another model is refused.
    var model: String { get }
    /// The vectors of `texts`, in order, each of the model's dimension.
    func embed(_ texts: [String]) async throws -> [[Float]]

    /// The embedder for a collection that recorded `model`: this one when the names are equal, a
    /// variant of it (the same weights with another long-text policy, see ``BertEmbedder``), or nil
    /// when `model` is another model.
    func embedder(forModel model: String) -> (any Embedder)?
}

extension Embedder {
    public func embedder(forModel model: String) -> (any Embedder)? { model == self.model ? self : nil }
}

/// Why embedding failed.
public enum EmbeddingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The endpoint answered with an HTTP error status.
    case httpStatus(Int, String)
    /// The endpoint could not be reached.
    case unreachable(String)
    /// The endpoint's answer was not the expected JSON.
    case malformedResponse(String)
    /// The vectors do not have the dimension expected.
    case dimensionMismatch(expected: Int, actual: Int)
    /// A model file is missing, partial or inconsistent.
    case modelFile(path: String, reason: String)
    /// An argument is invalid.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .httpStatus(let status, let detail): "the embedding endpoint answered HTTP \(status): \(detail)"
        case .unreachable(let detail): "the embedding endpoint cannot be reached: \(detail)"
        case .malformedResponse(let detail): "the embedding endpoint's answer is malformed: \(detail)"
        case .dimensionMismatch(let expected, let actual): "expected \(expected)-dimensional embeddings, got \(actual)"
        case .modelFile(let path, let reason): "model file \(path): \(reason)"
        case .invalidArgument(let detail): "invalid argument: \(detail)"
        }
    }
}

/// An embedder backed by a closure (tests, custom providers).
public struct ClosureEmbedder: Embedder {
    public let model: String
    private let body: @Sendable ([String]) async throws -> [[Float]]

    public init(model: String, _ body: @escaping @Sendable ([String]) async throws -> [[Float]]) {
        self.model = model
        self.body = body
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] { try await body(texts) }
}

/// Cutting text that is too long for a model.
public enum TextTruncation {
    /// The longest prefix of `text` with at most `maxCharacters` characters. The cut falls between
    /// extended grapheme clusters, so a CJK character, an emoji or a letter with its combining
    /// accents is never split.
    public static func prefix(_ text: String, maxCharacters: Int) -> String {
        guard maxCharacters > 0 else { return "" }
        guard text.count > maxCharacters else { return text }
        return String(text.prefix(maxCharacters))
    }

    /// The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, cut between characters.
    public static func prefix(_ text: String, maxUTF8Bytes maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var bytes = 0
        var end = text.startIndex
        for character in text {
            let size = character.utf8.count
            if bytes + size > maxBytes { break }
            bytes += size
            end = text.index(after: end)
        }
        return String(text[..<end])
    }
}

/// The SHA-256 of a string's UTF-8 bytes, in hexadecimal (the key of embedding caches).
public func sha256Hex(_ text: String) -> String { SHA256.hex(Array(text.utf8)) }
