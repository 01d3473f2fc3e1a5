import FastJSON
public import Foundation
public import TradingMemory
import VectorIndex

/// Why a JSON Lines file was refused (nothing of it was written).
public struct JSONLinesError: Error, Hashable, Sendable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }
    public var description: String { "line \(line): \(reason)" }
}

/// A parsed line of a JSON Lines file of memories to add.
public struct ParsedMemoryLine: Sendable {
    public var line: Int
    public var memory: WireNewMemory
}

/// What `export` or `import` moved.
public struct TransferReport: Codable, Sendable {
    public var collections: Int
    public var memories: Int
    public var bytes: Int
    public var seconds: Double
}

/// JSON Lines files: memories to add (`hindsight add --jsonl`), and exports (docs/operations.md#export-and-import).
public enum JSONLines {
    /// Splits `data` into its non-blank lines, numbered from 1 (a trailing `\r` is dropped).
    static func lines(_ data: Data) -> [(number: Int, bytes: Data)] {
        var lines: [(Int, Data)] = []
        var number = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if !line.allSatisfy({ $0 == 32 || $0 == 9 }) { lines.append((number, Data(line))) }
        }
        return lines
    }

    /// Parses memories to add: every line is checked before any is returned, as the write would
    /// check it (``TradingMemoryStore/validate(_:what:checkingVector:)``; a line without a vector is
    /// checked but for its vector), so a caller writes all or nothing. With `dimension`, vectors must
    /// have it; with `requireVectors`, every line needs a vector.
    public static func parseMemories(_ data: Data, dimension: Int?, requireVectors: Bool) throws -> [ParsedMemoryLine] {
        let decoder = FastJSONDecoder(rejectsUnknownKeys: true)
        return try lines(data).map { number, bytes in
            let memory: WireNewMemory
            do { memory = try decoder.decode(WireNewMemory.self, from: bytes) } catch {
                throw JSONLinesError(line: number, reason: WireDecoding.describe(error))
            }
            if let vector = memory.vector, let dimension, vector.count != dimension {
                throw JSONLinesError(line: number, reason: "the vector has \(vector.count) dimensions; the collection holds \(dimension)")
            }
            if memory.vector == nil && requireVectors {
                throw JSONLinesError(line: number, reason: "no vector (and no embedder configured to compute one)")
            }
            do {
                try TradingMemoryStore.validate(memory.newMemory(vector: memory.vector ?? []), what: "", checkingVector: memory.vector != nil)
            } catch let error as TradingMemoryError {
                throw JSONLinesError(line: number, reason: error.description)
            }
            return ParsedMemoryLine(line: number, memory: memory)
        }
    }
}

/// Short reasons for decoding errors.
public enum WireDecoding {
    /// A short reason for a decoding error, naming the field and never quoting the data.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not valid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.enumerated().map { index, key in
                key.intValue.map { "[\($0)]" } ?? (index == 0 ? key.stringValue : "." + key.stringValue)
            }.joined()
            return keys.isEmpty ? "" : "'\(keys)': "
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context))missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context): return "\(path(context))wrong type (\(context.debugDescription))"
        case .valueNotFound(_, let context): return "\(path(context))null where a value is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context))\(context.debugDescription)"
        @unknown default: return "not valid JSON"
        }
    }
}

// MARK: - Exports

/// The first line of an export.
struct WireExportHeader: Codable {
    static let signature = "hindsight-export"
    /// 2: collection lines carry the settings of `WireCollectionSettings`; 1: the catalog's own `configuration`.
    static let currentVersion = 2

    var type: String
    var version: Int
    var formatVersion: Int
    var exportedAt: WireDate
    var collections: Int
    var memories: Int

    enum CodingKeys: String, CodingKey {
        case type, version, formatVersion = "format_version", exportedAt = "exported_at", collections, memories
    }
}

/// A collection line of an export: `type`, `name`, `created` and the collection's settings.
struct WireExportedCollection: Codable {
    var name: String
    var created: WireDate
    var settings: WireCollectionSettings?
    /// Exports of version 1 carried the catalog's own coding of the configuration.
    var legacyConfiguration: CollectionConfiguration?

    enum CodingKeys: String, CodingKey { case type, name, created, configuration }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        _ = container.contains(.type)
        name = try container.decode(String.self, forKey: .name)
        created = try container.decode(WireDate.self, forKey: .created)
        if container.contains(.configuration) {
            legacyConfiguration = try container.decode(CollectionConfiguration.self, forKey: .configuration)
        } else {
            settings = try WireCollectionSettings(from: decoder)
        }
    }

    func collection() throws -> ExportedCollection {
        ExportedCollection(name: name, created: created.date, configuration: try legacyConfiguration ?? settings!.configuration())
    }

    init(_ collection: ExportedCollection) {
        name = collection.name
        created = WireDate(collection.created)
        settings = WireCollectionSettings(name: collection.name, configuration: collection.configuration, includeSeed: true)
    }

    /// The settings' keys (`name` among them), then `created` and `type`, in one object.
    func encode(to encoder: any Encoder) throws {
        try settings?.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("collection", forKey: .type)
        try container.encode(created, forKey: .created)
    }

    /// The line, by Foundation's encoder (the seed is a 64-bit integer, beyond FastJSON's exact range).
    static func write(_ collection: ExportedCollection) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(WireExportedCollection(collection)))
    }
}

/// A memory line of an export: a memory to add (``WireNewMemory``) with `type`, `collection` and
/// the `engine_id` it had (informational: an import assigns new engine ids).
struct WireExportedMemory: Decodable {
    var collection: String
    var memory: WireNewMemory

    enum CodingKeys: String, CodingKey { case type, collection, engineID = "engine_id" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        collection = try container.decode(String.self, forKey: .collection)
        _ = try container.decodeIfPresent(String.self, forKey: .type)
        _ = try container.decodeIfPresent(UInt32.self, forKey: .engineID)  // informational: imports assign new engine ids
        memory = try WireNewMemory(from: decoder)
    }

    static func write(_ memory: Memory, vector: [Float], collection: String, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("type"); writer.string("memory")
        writer.key("collection"); writer.string(collection)
        writer.key("engine_id"); writer.number(Int(memory.id.rawValue))
        WireNewMemory(memory, vector: vector).writeFields(to: &writer)
        writer.endObject()
    }
}

extension JSONLines {
    /// Writes every collection (or those named) and its memories as JSON Lines from one snapshot:
    /// a header, then per collection its line and one line per memory. `write` receives the bytes
    /// in pieces; `progress` the memories written so far and the total.
    @discardableResult
    public static func export(_ store: TradingMemoryStore, collections names: [String]? = nil, write: (Data) throws -> Void,
                              progress: ((Int, Int) -> Void)? = nil) throws -> TransferReport {
        let start = Date()
        var bytes = 0, written = 0, total = 0, collections = 0, current = ""
        func emit(_ line: [UInt8]) throws {
            var data = Data(line)
            data.append(UInt8(ascii: "\n"))
            bytes += data.count
            try write(data)
        }
        try store.export(collections: names, begin: { exported in
            total = exported.reduce(0) { $0 + $1.memoryCount }
            collections = exported.count
            let header = WireExportHeader(type: WireExportHeader.signature, version: WireExportHeader.currentVersion,
                                          formatVersion: Int(IndexFormat.version), exportedAt: WireDate(Date()),
                                          collections: exported.count, memories: total)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try emit(Array(try encoder.encode(header)))
        }, collection: { collection in
            current = collection.name
            try emit(try WireExportedCollection.write(collection))
        }, memory: { memory, vector in
            var line = JSONWriter(capacity: 4_096 + vector.count * 12)
            WireExportedMemory.write(memory, vector: vector, collection: current, to: &line)
            try emit(line.bytes)
            written += 1
            if written % 500 == 0 { progress?(written, total) }
        })
        progress?(written, total)
        return TransferReport(collections: collections, memories: written, bytes: bytes, seconds: Date().timeIntervalSince(start))
    }

    /// Reads an export into `store`: every line is parsed and checked first (a refused file writes
    /// nothing), then its collections are created and its memories added in batches; see
    /// ``TradingMemoryStore/importCollections(_:memories:merge:skipExisting:batch:progress:)``.
    @discardableResult
    public static func importExport(_ data: Data, into store: TradingMemoryStore, merge: Bool = false, skipExisting: Bool = false,
                                    batch: Int = 1_000, progress: ((Int, Int) -> Void)? = nil) throws -> TransferReport {
        let start = Date()
        let lines = lines(data)
        guard let first = lines.first, let header = try? JSONDecoder().decode(WireExportHeader.self, from: first.bytes),
              header.type == WireExportHeader.signature else {
            throw JSONLinesError(line: 1, reason: "not a Hindsight export (the first line must be its header)")
        }
        if header.formatVersion > Int(IndexFormat.version) || header.version > WireExportHeader.currentVersion {
            throw JSONLinesError(line: 1, reason: "exported by a newer Hindsight (format \(header.formatVersion), export version \(header.version))")
        }
        let decoder = FastJSONDecoder(rejectsUnknownKeys: true)
        var collections: [ExportedCollection] = []
        var memories: [ImportedMemory] = []
        var firstLines: [String: [String: Int]] = [:]  // collection → caller id → the line it first appeared on
        for (number, bytes) in lines.dropFirst() {
            let kind: String?
            do {
                if case .string(let type)? = try JSONValue.parse(Array(bytes))["type"] { kind = type } else { kind = nil }
            } catch { throw JSONLinesError(line: number, reason: "not valid JSON") }
            do {
                switch kind {
                case "collection":
                    // Foundation's decoder: the settings hold a 64-bit seed, beyond FastJSON's exact range.
                    let collection = try JSONDecoder().decode(WireExportedCollection.self, from: bytes).collection()
                    try TradingMemoryStore.validateCollectionName(collection.name)
                    collections.append(collection)
                case "memory":
                    let exported = try decoder.decode(WireExportedMemory.self, from: bytes)
                    guard let collection = collections.first(where: { $0.name == exported.collection }) else {
                        throw JSONLinesError(line: number, reason: "memory of collection '\(exported.collection)' before its collection line")
                    }
                    guard let vector = exported.memory.vector else { throw JSONLinesError(line: number, reason: "missing field 'vector'") }
                    guard vector.count == collection.configuration.dimension else {
                        throw JSONLinesError(line: number, reason: "the vector has \(vector.count) dimensions; '\(collection.name)' holds \(collection.configuration.dimension)")
                    }
                    let memory = exported.memory.newMemory(vector: vector)
                    try TradingMemoryStore.validate(memory, what: "")
                    if let callerID = memory.callerID {
                        if let first = firstLines[collection.name, default: [:]][callerID] {
                            throw JSONLinesError(line: number, reason: "caller id '\(callerID)' of '\(collection.name)' is on line \(first) already")
                        }
                        firstLines[collection.name, default: [:]][callerID] = number
                    }
                    memories.append(ImportedMemory(collection: exported.collection, memory: memory, status: exported.memory.status ?? .live))
                default:
                    throw JSONLinesError(line: number, reason: "unknown line type \(kind.map { "'\($0)'" } ?? "(none)")")
                }
            } catch let error as JSONLinesError {
                throw error
            } catch let error as TradingMemoryError {
                throw JSONLinesError(line: number, reason: error.description)
            } catch {
                throw JSONLinesError(line: number, reason: WireDecoding.describe(error))
            }
        }
        let written = try store.importCollections(collections, memories: memories, merge: merge, skipExisting: skipExisting, batch: batch,
                                                  progress: progress)
        return TransferReport(collections: collections.count, memories: written, bytes: data.count,
                              seconds: Date().timeIntervalSince(start))
    }
}
