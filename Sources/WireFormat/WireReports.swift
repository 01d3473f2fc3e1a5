public import TradingMemory
import VectorIndex

// The JSON of the maintenance reports (`hindsight stats|verify|rebuild|compact|consolidate --json`):
// the reports are the engine's types; their wire keys are written here, once.

/// A key of a report field.
private struct WireKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Encodes `fields` under their keys, skipping nil optionals.
private func encodeFields(_ encoder: any Encoder, _ fields: KeyValuePairs<String, (any Encodable)?>) throws {
    var container = encoder.container(keyedBy: WireKey.self)
    for (key, value) in fields {
        if let value { try container.encode(value, forKey: WireKey(key)) }
    }
}

extension DatabaseStatistics: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["path": path, "format_version": formatVersion, "file_bytes": fileBytes, "map_size_bytes": mapSizeBytes,
                                   "map_used_bytes": mapUsedBytes, "page_size": pageSize, "last_transaction": lastTransaction,
                                   "readers": readers, "bytes_per_memory": bytesPerMemory, "databases": databases,
                                   "collections": collections])
    }
}

extension DatabaseStatistics.Storage: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["name": name, "entries": entries, "bytes": bytes, "overflow_pages": overflowPages])
    }
}

extension DatabaseStatistics.LayerStatistics: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["layer": layer, "graph": graph, "nodes": nodes, "live": live, "tombstones": tombstones, "levels": levels,
                                   "entry_point": entryPoint, "m": m, "ef_construction": efConstruction, "walk": walk.rawValue])
    }
}

extension DatabaseStatistics.CollectionStatistics: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["name": name, "dimension": dimension, "embedding_model": embeddingModel, "memories": memories,
                                   "pending": pending, "vectors_allocated": vectorsAllocated, "vectors_live": vectorsLive, "layers": layers])
    }
}

extension VerificationReport: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["clean": clean, "collections": collections, "memories": memories, "graphs": graphs, "findings": findings])
    }
}

extension VerificationFinding: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["collection": collection, "check": check, "message": message])
    }
}

extension RebuildReport: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["collection": collection, "layers": layers, "memories": memories, "m": m,
                                   "ef_construction": efConstruction, "walk": walk.rawValue, "seconds": seconds])
    }
}

extension CompactionReport: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["bytes_before": bytesBefore, "bytes_after": bytesAfter, "graphs_rebuilt": graphsRebuilt,
                                   "graphs_repaired": graphsRepaired, "vectors_kept": vectorsKept, "seconds": seconds])
    }
}

extension ConsolidationReport: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["dry_run": dryRun, "removed": removed, "groups": groups])
    }
}

extension ConsolidationReport.Group: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try encodeFields(encoder, ["kept": kept, "merged": merged, "ticker": ticker])
    }
}
