import FastJSON
public import Foundation
import LMDB
import VectorIndex

/// What `export` or `import` moved.
public struct TransferReport: Codable, Sendable {
    public var collections: Int
    public var memories: Int
    public var bytes: Int
    public var seconds: Double
}

/// A memory line of an export (docs/operations.md#export-and-import).
struct ExportedMemory: Codable {
    var type: String
    var collection: String
    var engine_id: UInt32?
    var id: String?
    var ticker: String?
    var time: FlexibleDate
    var known_at: FlexibleDate
    var situation: String
    var reflection: String
    var action: String?
    var outcome: Double?
    var quality: Double?
    var metadata: [String: MetadataValue]
    var status: Memory.Status
    var reinforcements: Int
    var vector: [Float]
}

/// A collection line of an export.
struct ExportedCollection: Codable {
    var type: String
    var name: String
    var created: FlexibleDate
    var configuration: CollectionConfiguration
}

extension TradingMemoryStore {
    /// The first line of every export.
    static let exportSignature = "hindsight-export"

    /// Writes every collection and memory (texts, vectors, times, statuses, reinforcements) as JSON
    /// Lines, from one snapshot: a collection line, then one line per memory. `write` receives the
    /// bytes in pieces; `progress` the memories written so far and the total.
    @discardableResult
    public func export(collections names: [String]? = nil, write: (Data) throws -> Void,
                       progress: ((Int, Int) -> Void)? = nil) throws -> TransferReport {
        let start = Date()
        return try read { reader, snapshot -> TransferReport in
            let records = try snapshot.allCollections(reader).filter { names == nil || names!.contains($0.name) }.sorted { $0.name < $1.name }
            if let names, let missing = names.first(where: { name in !records.contains { $0.name == name } }) {
                throw TradingMemoryError.unknownCollection(missing)
            }
            let total = records.reduce(0) { $0 + $1.live + $1.pending }
            var bytes = 0, written = 0
            func emit(_ line: [UInt8]) throws {
                var data = Data(line)
                data.append(UInt8(ascii: "\n"))
                bytes += data.count
                try write(data)
            }
            var header = JSONWriter()
            header.beginObject()
            header.key("type"); header.string(Self.exportSignature)
            header.key("version"); header.number(1)
            header.key("format_version"); header.number(Int(IndexFormat.version))
            header.key("exported_at"); header.string(RecordFormat.format(Date()))
            header.key("collections"); header.number(records.count)
            header.key("memories"); header.number(total)
            header.endObject()
            try emit(header.bytes)
            for record in records {
                try emit(Array(try Coding.encoder.encode(ExportedCollection(type: "collection", name: record.name,
                                                                            created: FlexibleDate(record.created),
                                                                            configuration: record.configuration))))
                for memory in try MemoryLookup.all(collection: record.id, databases: databases, reader.transaction) {
                    guard let vector = try reader.vector(memory.id.vectorID, in: record.spaceID) else {
                        throw TradingMemoryError.storage("memory \(memory.id) of \(record.name) has no vector")
                    }
                    var line = JSONWriter(capacity: 4_096 + vector.count * 12)
                    Self.write(memory, vector: vector, collection: record.name, to: &line)
                    try emit(line.bytes)
                    written += 1
                    if written % 500 == 0 { progress?(written, total) }
                }
            }
            progress?(written, total)
            return TransferReport(collections: records.count, memories: written, bytes: bytes, seconds: Date().timeIntervalSince(start))
        }
    }

    private static func write(_ memory: Memory, vector: [Float], collection: String, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("type"); writer.string("memory")
        writer.key("collection"); writer.string(collection)
        writer.key("engine_id"); writer.number(Int(memory.id.rawValue))
        writer.field("id", memory.callerID)
        writer.field("ticker", memory.ticker)
        writer.key("time"); writer.string(RecordFormat.format(memory.time))
        writer.key("known_at"); writer.string(RecordFormat.format(memory.knownAt))
        writer.key("situation"); writer.string(memory.situation)
        writer.key("reflection"); writer.string(memory.reflection)
        writer.field("action", memory.action)
        writer.field("outcome", memory.outcome)
        writer.field("quality", memory.quality)
        writer.key("metadata")
        writer.beginObject()
        for (key, value) in memory.metadata.sorted(by: { $0.key < $1.key }) {
            writer.key(key)
            switch value {
            case .string(let text): writer.string(text)
            case .number(let number): writer.number(number)
            case .bool(let flag): writer.bool(flag)
            }
        }
        writer.endObject()
        writer.key("status"); writer.string(memory.status.rawValue)
        writer.key("reinforcements"); writer.number(memory.reinforcements)
        writer.key("vector")
        writer.beginArray()
        for component in vector { writer.number(component) }
        writer.endArray()
        writer.endObject()
    }

    /// Reads an export: creates its collections (with their settings and creation dates) and adds
    /// its memories in batches of `batch`, each batch one transaction (a killed import keeps every
    /// batch it committed). A collection that exists is an error unless `merge`, which adds to it.
    /// Every line is checked before anything is written.
    @discardableResult
    public func importExport(_ data: Data, merge: Bool = false, batch: Int = 1_000,
                             progress: ((Int, Int) -> Void)? = nil) throws -> TransferReport {
        let start = Date()
        let decoder = FastJSONDecoder()
        var lines: [(number: Int, bytes: Data)] = []
        var number = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            if !line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { lines.append((number, Data(line))) }
        }
        guard let first = lines.first, let header = try? JSONValue.parse(Array(first.bytes)),
              header["type"] == .string(Self.exportSignature) else {
            throw RecordLineError(line: 1, reason: "not a Hindsight export (the first line must be its header)")
        }
        if case .number(let version)? = header["format_version"], version > Double(IndexFormat.version) {
            throw RecordLineError(line: 1, reason: "exported by a newer Hindsight (format \(Int(version)))")
        }
        // Parse and check everything first.
        var collections: [ExportedCollection] = []
        var memories: [(collection: String, memory: NewMemory, status: Memory.Status)] = []
        for (number, bytes) in lines.dropFirst() {
            let kind: String?
            do {
                if case .string(let type)? = try JSONValue.parse(Array(bytes))["type"] { kind = type } else { kind = nil }
            } catch { throw RecordLineError(line: number, reason: "not valid JSON") }
            do {
                switch kind {
                case "collection":
                    // Foundation's decoder: the configuration holds a 64-bit seed, beyond FastJSON's exact range.
                    let collection = try Coding.decoder.decode(ExportedCollection.self, from: bytes)
                    try Self.validateCollectionName(collection.name)
                    collections.append(collection)
                case "memory":
                    let exported = try decoder.decode(ExportedMemory.self, from: bytes)
                    guard let collection = collections.first(where: { $0.name == exported.collection }) else {
                        throw RecordLineError(line: number, reason: "memory of collection '\(exported.collection)' before its collection line")
                    }
                    guard exported.vector.count == collection.configuration.dimension else {
                        throw RecordLineError(line: number, reason: "the vector has \(exported.vector.count) dimensions; '\(collection.name)' holds \(collection.configuration.dimension)")
                    }
                    var memory = NewMemory(id: exported.id, ticker: exported.ticker, time: exported.time.date, knownAt: exported.known_at.date,
                                           situation: exported.situation, reflection: exported.reflection, action: exported.action,
                                           outcome: exported.outcome, quality: exported.quality, metadata: exported.metadata,
                                           vector: exported.vector)
                    memory.reinforcements = exported.reinforcements
                    try MemoryWriteState.validate(memory, index: number)
                    memories.append((exported.collection, memory, exported.status))
                default:
                    throw RecordLineError(line: number, reason: "unknown line type \(kind.map { "'\($0)'" } ?? "(none)")")
                }
            } catch let error as RecordLineError {
                throw error
            } catch let error as TradingMemoryError {
                throw RecordLineError(line: number, reason: error.description)
            } catch {
                throw RecordLineError(line: number, reason: RecordFormat.describe(error))
            }
        }
        // Collections, then memories in batches.
        for collection in collections {
            try write { writer, state in
                if let existing = try state.collectionIfPresent(collection.name, writer) {
                    guard merge else { throw TradingMemoryError.collectionExists(collection.name) }
                    guard existing.configuration.dimension == collection.configuration.dimension else {
                        throw TradingMemoryError.dimensionMismatch(collection: collection.name, expected: existing.configuration.dimension,
                                                                   actual: collection.configuration.dimension)
                    }
                    return
                }
                try collection.configuration.validate()
                _ = try state.createCollection(collection.name, configuration: collection.configuration, created: collection.created.date, writer)
            }
        }
        var done = 0
        for collection in collections {
            let members = memories.filter { $0.collection == collection.name }
            for start in stride(from: 0, to: members.count, by: max(1, batch)) {
                let slice = members[start..<min(start + max(1, batch), members.count)]
                try write { writer, state in
                    let live = slice.filter { $0.status == .live }.map(\.memory)
                    if !live.isEmpty { _ = try state.add(live, to: collection.name, upsert: false, status: .live, writer) }
                    let pending = slice.filter { $0.status == .pending }.map(\.memory)
                    if !pending.isEmpty { _ = try state.add(pending, to: collection.name, upsert: false, status: .pending, writer) }
                }
                done += slice.count
                progress?(done, memories.count)
            }
        }
        return TransferReport(collections: collections.count, memories: memories.count, bytes: data.count,
                              seconds: Date().timeIntervalSince(start))
    }
}
