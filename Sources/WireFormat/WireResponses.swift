// The small answers of the HTTP API and the CLI, one type each, shared by the server, the remote
// client and `--json` output.

/// `{"ids": [engine ids]}`: the memories an add created, in order.
public struct WireIDs: Codable, Hashable, Sendable {
    public var ids: [UInt32]
    public init(ids: [UInt32]) { self.ids = ids }
}

/// `{"id": engine id}`: the decision recorded.
public struct WireID: Codable, Hashable, Sendable {
    public var id: UInt32
    public init(id: UInt32) { self.id = id }
}

/// `{"deleted": n}`: how many memories a delete removed.
public struct WireDeleted: Codable, Hashable, Sendable {
    public var deleted: Int
    public init(deleted: Int) { self.deleted = deleted }
}

/// `{"dropped": name}`: the collection dropped.
public struct WireDropped: Codable, Hashable, Sendable {
    public var dropped: String
    public init(dropped: String) { self.dropped = dropped }
}

/// `{"count": live, "pending": pending}` of a collection.
public struct WireCount: Codable, Hashable, Sendable {
    public var count: Int
    public var pending: Int
    public init(count: Int, pending: Int) {
        self.count = count
        self.pending = pending
    }
}

/// `{"collections": [Collection]}`.
public struct WireCollections: Codable, Hashable, Sendable {
    public var collections: [WireCollection]
    public init(collections: [WireCollection]) { self.collections = collections }
}

/// `{"status": "ok", "version": …}` of `GET /health`.
public struct WireHealth: Codable, Hashable, Sendable {
    public var status: String
    public var version: String
    public init(status: String, version: String) {
        self.status = status
        self.version = version
    }
}

/// A local model directory, as `hindsight model info --json` prints it.
public struct WireModelInfo: Codable, Hashable, Sendable {
    public var path: String
    public var name: String
    public var dimension: Int
    public var layers: Int
    public var attentionHeads: Int
    public var intermediateSize: Int
    public var vocabulary: Int
    public var pooling: String
    public var maxSequenceLength: Int

    enum CodingKeys: String, CodingKey {
        case path, name, dimension, layers, attentionHeads = "attention_heads", intermediateSize = "intermediate_size", vocabulary, pooling,
             maxSequenceLength = "max_sequence_length"
    }

    public init(path: String, name: String, dimension: Int, layers: Int, attentionHeads: Int, intermediateSize: Int, vocabulary: Int,
                pooling: String, maxSequenceLength: Int) {
        self.path = path
        self.name = name
        self.dimension = dimension
        self.layers = layers
        self.attentionHeads = attentionHeads
        self.intermediateSize = intermediateSize
        self.vocabulary = vocabulary
        self.pooling = pooling
        self.maxSequenceLength = maxSequenceLength
    }
}
