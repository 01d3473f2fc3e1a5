import Distance
import FastJSON
import Foundation
import LMDB
import VectorIndex

/// The trading-memory databases, beside the index's in the same environment
/// (see docs/trading-memory.md#storage).
struct MemoryDatabases: Sendable {
    /// `collections`: name → JSON ``CatalogEntry``.
    let collections: Database
    /// `records` (its name on disk): (collection u32, memory u32) → JSON ``StoredMemory``.
    let memories: Database
    /// `attributes`: (collection u32, chunk u32) → chunk of ``MemoryAttributes`` rows.
    let attributes: Database
    /// `memory-time`: (collection u32, ticker code u32 (0: every memory), time i64, memory u32) → empty,
    /// for live memories: eviction order and deletes by date.
    let time: Database
    /// `caller-ids`: (collection u32, caller id UTF-8) → memory u32.
    let callerIDs: Database
    /// `pending`: (collection u32, memory u32) → empty.
    let pending: Database
    /// `lexical-postings`: (collection u32, term length u8, term UTF-8, memory u32) → (term frequency
    /// u32, document length u32, knownAt ms i64), little-endian; live memories of collections with
    /// lexical recall. Nil in a database opened read-only that predates lexical recall.
    let lexicalPostings: Database?
    /// `lexical-lengths`: (collection u32, memory u32) → (document length u32, knownAt ms i64).
    let lexicalLengths: Database?
    /// `decision-shown`: (decision id UTF-8, 0, collection u32, memory u32) → JSON ``ShownRecord``:
    /// what a recall carrying a decision id returned (the first showing of each memory kept).
    let decisionShown: Database?
    /// `decision-outcomes`: decision id UTF-8 → JSON ``DecisionOutcomeRecord``: the outcome that
    /// credited the memories a decision was shown.
    let decisionOutcomes: Database?
    /// `memory-credit`: (collection u32, memory u32, knownAt ms ordered i64, decision id UTF-8) →
    /// credit f64 little-endian: one credit event per (memory, decision).
    let memoryCredit: Database?

    init(environment: Environment, create: Bool, present: Set<String>) throws {
        func open(_ name: String) throws -> Database { try environment.openDatabase(named: name, create: create) }
        collections = try open("collections")
        memories = try open("records")
        attributes = try open("attributes")
        time = try open("memory-time")
        callerIDs = try open("caller-ids")
        pending = try open("pending")
        lexicalPostings = present.contains("lexical-postings") ? try open("lexical-postings") : nil
        lexicalLengths = present.contains("lexical-lengths") ? try open("lexical-lengths") : nil
        decisionShown = present.contains("decision-shown") ? try open("decision-shown") : nil
        decisionOutcomes = present.contains("decision-outcomes") ? try open("decision-outcomes") : nil
        memoryCredit = present.contains("memory-credit") ? try open("memory-credit") : nil
    }

    /// The databases every version has.
    static let names = ["collections", "records", "attributes", "memory-time", "caller-ids", "pending"]
    /// The databases added with lexical recall (created when the database is opened for writing).
    static let lexicalNames = ["lexical-postings", "lexical-lengths"]
    /// The databases added with provenance and credit (created when the database is opened for writing).
    static let provenanceNames = ["decision-shown", "decision-outcomes", "memory-credit"]
}

/// Keys of the trading-memory databases.
enum Keys {
    static func memory(_ collection: UInt32, _ memory: MemoryID) -> Key { Key(collection, memory.rawValue) }

    static func time(_ collection: UInt32, ticker: UInt32, timeMs: Int64, memory: MemoryID) -> Key {
        var key = Key(collection, ticker)
        key.append(orderedSigned: timeMs)
        key.append(bigEndian: memory.rawValue)
        return key
    }

    static func callerID(_ collection: UInt32, _ id: String) -> [UInt8] {
        Key(collection).bytes + Array(id.utf8)
    }

    /// The posting of `term` (at most 255 UTF-8 bytes) for `memory`; without a memory, the prefix of the term's postings.
    static func posting(_ collection: UInt32, term: String, memory: MemoryID? = nil) -> [UInt8] {
        let bytes = Array(term.utf8)
        var key = Key(collection).bytes + [UInt8(bytes.count)] + bytes
        if let memory { key += Key(memory.rawValue).bytes }
        return key
    }

    /// The prefix of every showing recorded for `decision` (ids hold no NUL, so no id's prefix is
    /// another's). Byte arrays: a decision id may be longer than a ``Key`` holds.
    static func shown(_ decision: String) -> [UInt8] { Array(decision.utf8) + [0] }

    static func shown(_ decision: String, collection: UInt32, memory: UInt32) -> [UInt8] {
        shown(decision) + Key(collection, memory).bytes
    }

    /// A decision's outcome record.
    static func decisionOutcome(_ decision: String) -> [UInt8] { Array(decision.utf8) }

    /// A credit event of `memory` from `decision`, ordered by the time it became known.
    static func credit(_ collection: UInt32, _ memory: UInt32, knownAtMs: Int64, decision: String) -> [UInt8] {
        var key = Key(collection, memory)
        key.append(orderedSigned: knownAtMs)
        return key.bytes + Array(decision.utf8)
    }

    /// Caller ids longer than this are refused (LMDB keys hold at most 511 bytes).
    static let maxCallerIDBytes = 400
}
