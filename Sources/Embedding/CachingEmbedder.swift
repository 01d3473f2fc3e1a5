import Synchronization

/// Embeds each distinct text once: a bounded least-recently-used cache in front of another
/// embedder, keyed by the model's name and the SHA-256 of the text.
public final class CachingEmbedder: Embedder {
    private struct Key: Hashable {
        let digest: [UInt8]
    }

    private struct State {
        var vectors: [Key: [Float]] = [:]
        var order: [Key] = []  // least recently used first
        var hits = 0
        var misses = 0
    }

    /// The cache itself, shared by the variants of one caching embedder (keys include the model).
    private final class Storage: Sendable {
        let capacity: Int
        let state = Mutex(State())
        init(capacity: Int) { self.capacity = max(1, capacity) }
    }

    private let base: any Embedder
    private let storage: Storage

    public var model: String { base.model }

    /// Caches up to `capacity` vectors of `base`.
    public convenience init(_ base: any Embedder, capacity: Int = 10_000) {
        self.init(base, storage: Storage(capacity: capacity))
    }

    private init(_ base: any Embedder, storage: Storage) {
        self.base = base
        self.storage = storage
    }

    /// The base's variant for `model` (see ``Embedder/embedder(forModel:)``), in the same cache.
    public func embedder(forModel model: String) -> (any Embedder)? {
        guard let variant = base.embedder(forModel: model) else { return nil }
        return variant.model == base.model ? self : CachingEmbedder(variant, storage: storage)
    }

    /// Lookups answered from the cache, and lookups that called the model.
    public var statistics: (hits: Int, misses: Int) { storage.state.withLock { ($0.hits, $0.misses) } }

    /// The number of cached vectors.
    public var count: Int { storage.state.withLock { $0.vectors.count } }

    private func key(_ text: String) -> Key {
        Key(digest: SHA256.hash(Array(model.utf8) + [0] + Array(text.utf8)))
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        let keys = texts.map(key)
        var results = [[Float]?](repeating: nil, count: texts.count)
        var missing: [Int] = []
        storage.state.withLock { state in
            for (index, key) in keys.enumerated() {
                if let vector = state.vectors[key] {
                    results[index] = vector
                    state.hits += 1
                    Self.touch(key, in: &state)
                } else {
                    missing.append(index)
                }
            }
        }
        // Identical texts within one call are embedded once.
        var firstOfKey: [Key: Int] = [:]
        var toEmbed: [Int] = []
        for index in missing where firstOfKey[keys[index]] == nil {
            firstOfKey[keys[index]] = toEmbed.count
            toEmbed.append(index)
        }
        if !toEmbed.isEmpty {
            let vectors = try await base.embed(toEmbed.map { texts[$0] })
            guard vectors.count == toEmbed.count else {
                throw EmbeddingError.malformedResponse("\(vectors.count) vectors for \(toEmbed.count) texts")
            }
            let capacity = storage.capacity
            storage.state.withLock { state in
                state.misses += toEmbed.count
                state.hits += missing.count - toEmbed.count
                for (position, index) in toEmbed.enumerated() {
                    let key = keys[index]
                    if state.vectors[key] == nil { state.order.append(key) } else { Self.touch(key, in: &state) }
                    state.vectors[key] = vectors[position]
                }
                while state.vectors.count > capacity, !state.order.isEmpty {
                    state.vectors[state.order.removeFirst()] = nil
                }
            }
            for index in missing { results[index] = vectors[firstOfKey[keys[index]]!] }
        }
        return results.map { $0! }
    }

    private static func touch(_ key: Key, in state: inout State) {
        if let position = state.order.firstIndex(of: key) {
            state.order.remove(at: position)
            state.order.append(key)
        }
    }
}
