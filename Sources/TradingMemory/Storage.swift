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

/// A collection as stored in the catalog.
struct CatalogEntry: Codable, Hashable, Sendable {
    struct TickerLayer: Codable, Hashable, Sendable {
        var code: UInt32
        var graph: UInt32
        var live: Int
    }

    var name: String
    var id: UInt32
    var configuration: CollectionConfiguration
    var created: Date
    var space: UInt32
    var globalGraph: UInt32
    var tickers: [String: TickerLayer]
    var actions: [String: UInt32]
    var live: Int
    var pending: Int
    /// The latest `knownAt` of any memory ever made live (never lowered): a query as of this time
    /// or later has no memory to hide.
    var maxKnownAtMs: Int64?

    var spaceID: SpaceID { SpaceID(rawValue: space) }
    var globalGraphID: GraphID { GraphID(rawValue: globalGraph) }

    func tickerName(code: UInt32) -> String? { tickers.first { $0.value.code == code }?.key }

    var info: CollectionInfo {
        CollectionInfo(name: name, configuration: configuration, created: created, count: live, pending: pending,
                       tickers: tickers.mapValues(\.live))
    }

    static let standardActions: [String: UInt32] = ["BUY": 1, "SELL": 2, "HOLD": 3]
}

/// A memory as stored in the `records` database (times in milliseconds since 1970).
struct StoredMemory: Codable, Hashable {
    var callerID: String?
    var ticker: String?
    var timeMs: Int64
    var knownAtMs: Int64
    var situation: String
    var reflection: String
    var action: String?
    var outcome: Double?
    var quality: Double?
    var metadata: [String: MetadataValue]
    var status: Memory.Status
    var reinforcements: Int

    func memory(id: MemoryID) -> Memory {
        Memory(id: id, callerID: callerID, ticker: ticker, time: Date(milliseconds: timeMs), knownAt: Date(milliseconds: knownAtMs),
               situation: situation, reflection: reflection, action: action, outcome: outcome, quality: quality,
               metadata: metadata, status: status, reinforcements: reinforcements)
    }
}

extension Date {
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }
}

/// The fixed-size row of a memory that filters and scores read during a search, stored in
/// chunks indexed by memory id (40 bytes, little-endian):
/// `i64 time ms, i64 knownAt ms, f64 outcome (NaN: none), f32 quality (NaN: none), u32 ticker code
/// (0: none), u32 action code (0: none), u32 flags (1 live, 2 pending, 4 deleted)`.
struct MemoryAttributes: Hashable {
    static let bytes = 40
    static let live: UInt32 = 1, pending: UInt32 = 2, deleted: UInt32 = 4

    var timeMs: Int64
    var knownAtMs: Int64
    var outcome: Double
    var quality: Float
    var tickerCode: UInt32
    var actionCode: UInt32
    var flags: UInt32

    init(timeMs: Int64, knownAtMs: Int64, outcome: Double, quality: Float, tickerCode: UInt32, actionCode: UInt32, flags: UInt32) {
        self.timeMs = timeMs
        self.knownAtMs = knownAtMs
        self.outcome = outcome
        self.quality = quality
        self.tickerCode = tickerCode
        self.actionCode = actionCode
        self.flags = flags
    }

    init(_ row: UnsafeRawPointer) {
        timeMs = Int64(littleEndian: row.loadUnaligned(fromByteOffset: 0, as: Int64.self))
        knownAtMs = Int64(littleEndian: row.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        outcome = Double(bitPattern: UInt64(littleEndian: row.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        quality = Float(bitPattern: UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
        tickerCode = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 28, as: UInt32.self))
        actionCode = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 32, as: UInt32.self))
        flags = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 36, as: UInt32.self))
    }

    func write(to row: UnsafeMutableRawPointer) {
        row.storeBytes(of: timeMs.littleEndian, toByteOffset: 0, as: Int64.self)
        row.storeBytes(of: knownAtMs.littleEndian, toByteOffset: 8, as: Int64.self)
        row.storeBytes(of: outcome.bitPattern.littleEndian, toByteOffset: 16, as: UInt64.self)
        row.storeBytes(of: quality.bitPattern.littleEndian, toByteOffset: 24, as: UInt32.self)
        row.storeBytes(of: tickerCode.littleEndian, toByteOffset: 28, as: UInt32.self)
        row.storeBytes(of: actionCode.littleEndian, toByteOffset: 32, as: UInt32.self)
        row.storeBytes(of: flags.littleEndian, toByteOffset: 36, as: UInt32.self)
    }

    /// Reads only the flags of the row at `row`.
    @inline(__always)
    static func flags(_ row: UnsafeRawPointer) -> UInt32 { UInt32(littleEndian: row.loadUnaligned(fromByteOffset: 36, as: UInt32.self)) }
    @inline(__always)
    static func knownAtMs(_ row: UnsafeRawPointer) -> Int64 { Int64(littleEndian: row.loadUnaligned(fromByteOffset: 8, as: Int64.self)) }

    static let layout = ChunkLayout(elementBytes: bytes, headerBytes: ChunkHeader.bytes, elementsPerChunk: 1_022)
}

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

/// JSON coding of catalog entries and stored memories, shared by every path.
enum Coding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.nonConformingFloatEncodingStrategy = .throw
        return encoder
    }()
    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try encoder.encode(value)) }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer, what: String) throws -> T {
        do { return try decoder.decode(type, from: Data(bytes)) } catch {
            throw TradingMemoryError.storage("\(what) cannot be decoded: the database may be corrupt")
        }
    }

    /// A stored memory's value: its CRC-32C (u32 LE), then its JSON.
    static func encodeMemory(_ memory: StoredMemory) throws -> [UInt8] {
        let json = try encode(memory)
        let sum = json.withUnsafeBytes { crc32c($0) }
        return withUnsafeBytes(of: sum.littleEndian) { Array($0) } + json
    }

    /// Decodes a stored memory (no dates inside: times are milliseconds) after checking its
    /// checksum, with the fast decoder.
    static func decodeMemory(from bytes: UnsafeRawBufferPointer, what: String) throws -> StoredMemory {
        guard bytes.count > 4 else { throw TradingMemoryError.storage("\(what) is truncated: the database may be corrupt") }
        let json = UnsafeRawBufferPointer(rebasing: bytes[4...])
        guard UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)) == crc32c(json) else {
            throw TradingMemoryError.storage("\(what) fails its checksum: the database is corrupt (run hindsight verify)")
        }
        do { return try FastJSONDecoder().decode(StoredMemory.self, from: Data(json)) } catch {
            throw TradingMemoryError.storage("\(what) cannot be decoded: the database may be corrupt")
        }
    }
}
