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

    init(environment: Environment, create: Bool) throws {
        func open(_ name: String) throws -> Database { try environment.openDatabase(named: name, create: create) }
        collections = try open("collections")
        memories = try open("records")
        attributes = try open("attributes")
        time = try open("memory-time")
        callerIDs = try open("caller-ids")
        pending = try open("pending")
    }

    static let names = ["collections", "records", "attributes", "memory-time", "caller-ids", "pending"]
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

    /// Caller ids longer than this are refused (LMDB keys hold at most 511 bytes).
    static let maxCallerIDBytes = 400
}
