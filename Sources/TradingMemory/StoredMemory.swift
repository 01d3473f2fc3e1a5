import Distance
import FastJSON
import Foundation
import LMDB
import VectorIndex

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
    /// Absent in memories stored before kinds existed.
    var kind: String? = nil

    func memory(id: MemoryID) -> Memory {
        Memory(id: id, callerID: callerID, ticker: ticker, time: Date(milliseconds: timeMs), knownAt: Date(milliseconds: knownAtMs),
               situation: situation, reflection: reflection, action: action, outcome: outcome, quality: quality,
               metadata: metadata, status: status, reinforcements: reinforcements, kind: kind)
    }
}

extension Date {
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: Double(milliseconds) / 1000) }
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
