public import Foundation
import Dispatching
public import TradingMemory

/// What the agent client needs from the engine: the same calls in-process or over HTTP.
public protocol MemoryEngine: Sendable {
    func getOrCreateCollection(_ name: String, configuration: CollectionConfiguration) async throws -> CollectionInfo
    func collection(_ name: String) async throws -> CollectionInfo
    func add(_ memories: [NewMemory], to collection: String, upsert: Bool) async throws -> [MemoryID]
    func recall(_ queries: [RecallQuery], in collection: String) async throws -> [[RecallResult]]
    func recordDecision(_ decision: NewMemory, in collection: String) async throws -> MemoryID
    func resolve(_ id: MemoryID, in collection: String, outcome: Double?, reflection: String, knownAt: Date?,
                 quality: Double?) async throws -> Memory
    func update(_ id: MemoryID, in collection: String, _ update: MemoryUpdate) async throws -> Memory
    func pendingDecisions(in collection: String) async throws -> [Memory]
    func memoryID(callerID: String, in collection: String) async throws -> MemoryID?
    func recentMemories(in collection: String, ticker: String?, excludingTicker: String?, limit: Int, asOf: Date?) async throws -> [Memory]
    func removeAllMemories(from collection: String) async throws -> Int
}

/// The engine in this process: a ``TradingMemoryStore`` over a local database directory. Reads run
/// on a concurrent queue and writes on a serial one, so no cooperative thread waits on LMDB.
public final class LocalMemoryEngine: MemoryEngine {
    public let store: TradingMemoryStore
    private let reads = DispatchQueue(label: "hindsight.agent-memory.reads", attributes: .concurrent)
    private let writes = DispatchQueue(label: "hindsight.agent-memory.writes")

    public init(store: TradingMemoryStore) { self.store = store }

    /// Opens (or creates) the database in `path`.
    public convenience init(path: String) throws { self.init(store: try TradingMemoryStore(path: path)) }

    private func run<T: Sendable>(on queue: DispatchQueue, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await queue.run(body)
    }

    public func getOrCreateCollection(_ name: String, configuration: CollectionConfiguration) async throws -> CollectionInfo {
        try await run(on: writes) { [store] in try store.getOrCreateCollection(name, configuration: configuration) }
    }
    public func collection(_ name: String) async throws -> CollectionInfo {
        try await run(on: reads) { [store] in try store.collection(name) }
    }
    public func add(_ memories: [NewMemory], to collection: String, upsert: Bool) async throws -> [MemoryID] {
        try await run(on: writes) { [store] in try store.add(memories, to: collection, upsert: upsert) }
    }
    public func recall(_ queries: [RecallQuery], in collection: String) async throws -> [[RecallResult]] {
        try await run(on: reads) { [store] in try store.recall(queries, in: collection) }
    }
    public func recordDecision(_ decision: NewMemory, in collection: String) async throws -> MemoryID {
        try await run(on: writes) { [store] in try store.recordDecision(decision, in: collection) }
    }
    public func resolve(_ id: MemoryID, in collection: String, outcome: Double?, reflection: String, knownAt: Date?,
                        quality: Double?) async throws -> Memory {
        try await run(on: writes) { [store] in
            try store.resolve(id, in: collection, outcome: outcome, reflection: reflection, knownAt: knownAt, quality: quality)
        }
    }
    public func update(_ id: MemoryID, in collection: String, _ update: MemoryUpdate) async throws -> Memory {
        try await run(on: writes) { [store] in try store.update(id, in: collection, update) }
    }
    public func pendingDecisions(in collection: String) async throws -> [Memory] {
        try await run(on: reads) { [store] in try store.pendingDecisions(in: collection) }
    }
    public func memoryID(callerID: String, in collection: String) async throws -> MemoryID? {
        try await run(on: reads) { [store] in try store.memoryID(callerID: callerID, in: collection) }
    }
    public func recentMemories(in collection: String, ticker: String?, excludingTicker: String?, limit: Int,
                               asOf: Date?) async throws -> [Memory] {
        try await run(on: reads) { [store] in
            try store.recentMemories(in: collection, ticker: ticker, excludingTicker: excludingTicker, limit: limit, asOf: asOf)
        }
    }
    public func removeAllMemories(from collection: String) async throws -> Int {
        try await run(on: writes) { [store] in try store.removeAllMemories(from: collection) }
    }
}
