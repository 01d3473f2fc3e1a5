import Distance
import Foundation
import LMDB
import VectorIndex

/// Adding, resolving, updating and deleting memories, and capacity eviction, inside one write.
extension MemoryWriteState {
    static let maxTickerBytes = 64
    static let maxActionBytes = 64
    static let maxMetadataKeyBytes = 128

    func add(_ memories: [NewMemory], to name: String, upsert: Bool, status: Memory.Status,
             _ writer: borrowing IndexWriter) throws -> [MemoryID] {
        var entry = try collection(name, writer)
        let dimension = entry.configuration.dimension
        // Check everything before writing anything (a throw aborts the transaction anyway, but the
        // caller gets the first problem, named).
        var callerIDs = Set<String>()
        for (index, memory) in memories.enumerated() {
            guard memory.vector.count == dimension else {
                throw TradingMemoryError.dimensionMismatch(collection: name, expected: dimension, actual: memory.vector.count)
            }
            try Self.validate(memory, what: "memory \(index + 1) of \(memories.count)")
            if let id = memory.callerID {
                guard callerIDs.insert(id).inserted else { throw TradingMemoryError.duplicateIDInBatch(id) }
            }
        }
        var replaced: [MemoryID] = []
        for id in callerIDs.sorted() {
            if let existing = try MemoryLookup.id(callerID: id, collection: entry.id, databases: databases, writer.transaction) {
                guard upsert else { throw TradingMemoryError.duplicateID(id) }
                replaced.append(existing)
            }
        }
        for id in replaced { _ = try deleteMemory(id, in: &entry, writer) }

        let vectorIDs = try writer.addVectors(memories.map(\.vector), to: entry.spaceID)
        var globalInserts: [VectorID] = []
        var tickerInserts: [UInt32: [VectorID]] = [:]
        var ids: [MemoryID] = []
        ids.reserveCapacity(memories.count)
        for (memory, vectorID) in zip(memories, vectorIDs) {
            let id = MemoryID(rawValue: vectorID.rawValue)
            ids.append(id)
            var tickerCode: UInt32 = 0
            if let ticker = memory.ticker { tickerCode = try ensureTickerLayer(ticker, in: &entry, writer) }
            let actionCode = memory.action.map { ensureActionCode($0, in: &entry) } ?? 0
            let kindCode = try memory.kind.map { try ensureKindCode($0, in: &entry) } ?? 0
            let timeMs = memory.time.milliseconds
            let knownAtMs = (memory.knownAt ?? memory.time).milliseconds
            let stored = StoredMemory(callerID: memory.callerID, ticker: memory.ticker, timeMs: timeMs, knownAtMs: knownAtMs,
                                      situation: memory.situation, reflection: memory.reflection, action: memory.action,
                                      outcome: memory.outcome, quality: memory.quality, metadata: memory.metadata,
                                      status: status, reinforcements: max(0, memory.reinforcements), kind: memory.kind)
            try putStored(stored, id, entry, writer)
            let flags = MemoryAttributes.flags(status: status == .live ? MemoryAttributes.live : MemoryAttributes.pending, kindCode: kindCode)
            try setAttributes(MemoryAttributes(timeMs: timeMs, knownAtMs: knownAtMs, outcome: memory.outcome ?? .nan,
                                               quality: memory.quality.map(Float.init) ?? .nan, tickerCode: tickerCode,
                                               actionCode: actionCode, flags: flags),
                              of: id, entry, writer)
            if let callerID = memory.callerID {
                try writer.transaction.put(integer: id.rawValue, for: Keys.callerID(entry.id, callerID),
                            in: databases.callerIDs)
            }
            switch status {
            case .live:
                entry.maxKnownAtMs = max(entry.maxKnownAtMs ?? .min, knownAtMs)
                try indexTime(id, timeMs: timeMs, tickerCode: tickerCode, entry, writer)
                try indexLexically(id, situation: memory.situation, knownAtMs: knownAtMs, in: &entry, writer)
                globalInserts.append(vectorID)
                if tickerCode != 0 { tickerInserts[tickerCode, default: []].append(vectorID) }
                entry.live += 1
                if let ticker = memory.ticker { entry.tickers[ticker]!.live += 1 }
            case .pending:
                try writer.transaction.put([], for: Key(entry.id, id.rawValue), in: databases.pending)
                entry.pending += 1
            }
        }
        try writer.insert(globalInserts, into: entry.globalGraphID)
        for (code, vectors) in tickerInserts.sorted(by: { $0.key < $1.key }) {
            let layer = entry.tickers.values.first { $0.code == code }!
            try writer.insert(vectors, into: GraphID(rawValue: layer.graph))
        }
        if status == .live {
            try enforceCapacity(&entry, touchedTickers: Set(memories.compactMap(\.ticker)), writer)
        }
        save(entry)
        return ids
    }

    /// Every check of a memory that needs no database: ids, ticker, action, outcome, quality, times,
    /// metadata and (with `checkingVector`) the vector, not its dimension; `what` names the memory in
    /// errors (empty: the caller names it).
    static func validate(_ memory: NewMemory, what: String, checkingVector: Bool = true) throws {
        let about = what.isEmpty ? "" : what + ": "
        if checkingVector {
            do { try validateVector(memory.vector) } catch { throw TradingMemoryError.invalidVector("\(about)\(error)") }
        }
        if let id = memory.callerID {
            guard !id.isEmpty, id.utf8.count <= Keys.maxCallerIDBytes else {
                throw TradingMemoryError.invalidArgument("\(about)ids are 1 to \(Keys.maxCallerIDBytes) bytes")
            }
        }
        if let ticker = memory.ticker {
            guard !ticker.isEmpty, ticker.utf8.count <= maxTickerBytes, !ticker.contains(where: { $0.isNewline }) else {
                throw TradingMemoryError.invalidArgument("\(about)tickers are 1 to \(maxTickerBytes) bytes on one line")
            }
        }
        if let action = memory.action, action.utf8.count > maxActionBytes {
            throw TradingMemoryError.invalidArgument("\(about)actions are at most \(maxActionBytes) bytes")
        }
        if let outcome = memory.outcome, !outcome.isFinite {
            throw TradingMemoryError.invalidArgument("\(about)the outcome must be a finite number")
        }
        if let quality = memory.quality, !(0...1).contains(quality) {
            throw TradingMemoryError.invalidArgument("\(about)quality must be between 0 and 1")
        }
        try TimeBounds.check(memory.time, "\(about)time")
        if let knownAt = memory.knownAt { try TimeBounds.check(knownAt, "\(about)knownAt") }
        if let knownAt = memory.knownAt, knownAt < memory.time {
            throw TradingMemoryError.invalidArgument("\(about)knownAt is before the situation's time")
        }
        try validate(metadata: memory.metadata, what: what)
    }

    static func validate(metadata: [String: MetadataValue], what: String) throws {
        let about = what.isEmpty ? "" : what + ": "
        for (key, value) in metadata {
            guard !key.isEmpty, key.utf8.count <= maxMetadataKeyBytes else {
                throw TradingMemoryError.invalidArgument("\(about)metadata keys are 1 to \(maxMetadataKeyBytes) bytes")
            }
            if case .number(let number) = value, !number.isFinite {
                throw TradingMemoryError.invalidArgument("\(about)metadata '\(key)' is not a finite number")
            }
        }
    }

    private func indexTime(_ id: MemoryID, timeMs: Int64, tickerCode: UInt32, _ entry: CatalogEntry,
                           _ writer: borrowing IndexWriter) throws {
        try writer.transaction.put([], for: Keys.time(entry.id, ticker: 0, timeMs: timeMs, memory: id), in: databases.time)
        if tickerCode != 0 { try writer.transaction.put([], for: Keys.time(entry.id, ticker: tickerCode, timeMs: timeMs, memory: id), in: databases.time) }
    }

    private func unindexTime(_ id: MemoryID, timeMs: Int64, tickerCode: UInt32, _ entry: CatalogEntry,
                             _ writer: borrowing IndexWriter) throws {
        try writer.transaction.delete(Keys.time(entry.id, ticker: 0, timeMs: timeMs, memory: id), in: databases.time)
        if tickerCode != 0 { try writer.transaction.delete(Keys.time(entry.id, ticker: tickerCode, timeMs: timeMs, memory: id), in: databases.time) }
    }

    /// The ticker's code, creating its layer (a graph) on first use.
    func ensureTickerLayer(_ ticker: String, in entry: inout CatalogEntry, _ writer: borrowing IndexWriter) throws -> UInt32 {
        if let layer = entry.tickers[ticker] { return layer.code }
        let code = (entry.tickers.values.map(\.code).max() ?? 0) + 1
        let graph = try writer.createGraph(in: entry.spaceID, parameters: entry.configuration.index)
        entry.tickers[ticker] = CatalogEntry.TickerLayer(code: code, graph: graph.rawValue, live: 0)
        return code
    }

    /// The code of a kind in the collection, assigned on first use (1…255).
    func ensureKindCode(_ kind: String, in entry: inout CatalogEntry) throws -> UInt32 {
        if let code = entry.kinds?[kind] { return code }
        try NewMemory.validateKind(kind)
        let code = (entry.kinds?.values.max() ?? 0) + 1
        guard code <= UInt32(CollectionConfiguration.maxKinds) else {
            throw TradingMemoryError.invalidArgument("collection '\(entry.name)' has \(CollectionConfiguration.maxKinds) kinds already; '\(kind.prefix(40))' would be one more")
        }
        entry.kinds = (entry.kinds ?? [:]).merging([kind: code]) { old, _ in old }
        return code
    }

    func ensureActionCode(_ action: String, in entry: inout CatalogEntry) -> UInt32 {
        if let code = entry.actions[action] { return code }
        let code = max(16, (entry.actions.values.max() ?? 0) + 1)
        entry.actions[action] = code
        return code
    }

    // MARK: Delete

    /// Deletes one memory (live or pending); returns false when there was none.
    func deleteMemory(_ id: MemoryID, in entry: inout CatalogEntry, _ writer: borrowing IndexWriter) throws -> Bool {
        guard let stored = try storedMemory(id, entry, writer), var row = try attributes(of: id, entry, writer) else { return false }
        switch stored.status {
        case .live:
            try writer.delete(id.vectorID, from: entry.globalGraphID)
            if let ticker = stored.ticker, let layer = entry.tickers[ticker] {
                try writer.delete(id.vectorID, from: GraphID(rawValue: layer.graph))
                entry.tickers[ticker]!.live -= 1
            }
            try unindexTime(id, timeMs: stored.timeMs, tickerCode: row.tickerCode, entry, writer)
            try unindexLexically(id, situation: stored.situation, in: &entry, writer)
            entry.live -= 1
        case .pending:
            try writer.transaction.delete(Key(entry.id, id.rawValue), in: databases.pending)
            entry.pending -= 1
        }
        if let callerID = stored.callerID { try writer.transaction.delete(Keys.callerID(entry.id, callerID), in: databases.callerIDs) }
        try writer.transaction.delete(Keys.memory(entry.id, id), in: databases.memories)
        try removeCredit(entry.id, id.rawValue, writer)
        row.flags = MemoryAttributes.deleted
        try setAttributes(row, of: id, entry, writer)
        try writer.releaseVector(id.vectorID, in: entry.spaceID)
        return true
    }

    // MARK: Resolve and update

    func resolve(_ id: MemoryID, in name: String, outcome: Double?, reflection: String, knownAt: Date, quality: Double?,
                 metadata: [String: MetadataValue]? = nil, _ writer: borrowing IndexWriter) throws -> Memory {
        var entry = try collection(name, writer)
        guard var stored = try storedMemory(id, entry, writer), var row = try attributes(of: id, entry, writer) else {
            throw TradingMemoryError.unknownMemory(id.description)
        }
        guard stored.status == .pending else { throw TradingMemoryError.notPending(id.description) }
        if let outcome, !outcome.isFinite { throw TradingMemoryError.invalidArgument("the outcome must be a finite number") }
        if let quality, !(0...1).contains(quality) { throw TradingMemoryError.invalidArgument("quality must be between 0 and 1") }
        try TimeBounds.check(knownAt, "knownAt")
        if let metadata {
            try Self.validate(metadata: metadata, what: "the resolution")
            stored.metadata.merge(metadata) { _, new in new }
        }
        let knownAtMs = max(knownAt.milliseconds, stored.timeMs)
        stored.status = .live
        stored.reflection = reflection
        stored.outcome = outcome ?? stored.outcome
        stored.quality = quality ?? stored.quality
        stored.knownAtMs = knownAtMs
        entry.maxKnownAtMs = max(entry.maxKnownAtMs ?? .min, knownAtMs)
        try putStored(stored, id, entry, writer)
        row.flags = row.flags(status: MemoryAttributes.live)
        row.knownAtMs = knownAtMs
        row.outcome = stored.outcome ?? .nan
        row.quality = stored.quality.map(Float.init) ?? .nan
        try setAttributes(row, of: id, entry, writer)
        try writer.transaction.delete(Key(entry.id, id.rawValue), in: databases.pending)
        try indexTime(id, timeMs: stored.timeMs, tickerCode: row.tickerCode, entry, writer)
        try indexLexically(id, situation: stored.situation, knownAtMs: knownAtMs, in: &entry, writer)
        try writer.insert([id.vectorID], into: entry.globalGraphID)
        if let ticker = stored.ticker, let layer = entry.tickers[ticker] {
            try writer.insert([id.vectorID], into: GraphID(rawValue: layer.graph))
            entry.tickers[ticker]!.live += 1
        }
        entry.pending -= 1
        entry.live += 1
        try enforceCapacity(&entry, touchedTickers: Set([stored.ticker].compactMap { $0 }), writer)
        save(entry)
        // The memories shown to this decision (recalls that carried its caller id) earn its outcome.
        if let callerID = stored.callerID, let outcome = stored.outcome, (try? DecisionIDs.validate(callerID)) != nil {
            _ = try creditDecision(callerID, outcome: outcome, action: stored.action, credit: nil, knownAt: Date(milliseconds: knownAtMs),
                                   resolvedIn: name, writer)
        }
        return stored.memory(id: id)
    }

    func update(_ id: MemoryID, in name: String, _ update: MemoryUpdate, _ writer: borrowing IndexWriter) throws -> Memory {
        var entry = try collection(name, writer)
        guard var stored = try storedMemory(id, entry, writer), var row = try attributes(of: id, entry, writer) else {
            throw TradingMemoryError.unknownMemory(id.description)
        }
        if let outcome = update.outcome {
            guard outcome.isFinite else { throw TradingMemoryError.invalidArgument("the outcome must be a finite number") }
            stored.outcome = outcome
            row.outcome = outcome
        }
        if let quality = update.quality {
            guard (0...1).contains(quality) else { throw TradingMemoryError.invalidArgument("quality must be between 0 and 1") }
            stored.quality = quality
            row.quality = Float(quality)
        }
        if let action = update.action {
            guard action.utf8.count <= Self.maxActionBytes else {
                throw TradingMemoryError.invalidArgument("actions are at most \(Self.maxActionBytes) bytes")
            }
            stored.action = action
            row.actionCode = ensureActionCode(action, in: &entry)
        }
        if let reflection = update.reflection { stored.reflection = reflection }
        if let metadata = update.metadata {
            try Self.validate(metadata: metadata, what: "the update")
            stored.metadata.merge(metadata) { _, new in new }
        }
        for key in update.removeMetadataKeys { stored.metadata[key] = nil }
        try putStored(stored, id, entry, writer)
        try setAttributes(row, of: id, entry, writer)
        save(entry)
        return stored.memory(id: id)
    }

    // MARK: Capacity

    /// Evicts memories past the collection's capacity policy.
    func enforceCapacity(_ entry: inout CatalogEntry, touchedTickers: Set<String>, _ writer: borrowing IndexWriter) throws {
        let policy = entry.configuration.capacity
        if let maxAge = policy.maxAgeSeconds, let newest = try timeEntries(entry, tickerCode: 0, writer).last {
            // Saturating: a collection written before maximum ages were bounded may hold any number.
            let cutoff = newest.timeMs - Int64(min(max(maxAge, 0), TimeBounds.longestDurationSeconds) * 1000)
            for timed in try timeEntries(entry, tickerCode: 0, writer) where timed.timeMs < cutoff {
                _ = try deleteMemory(timed.id, in: &entry, writer)
            }
        }
        if let maxPerTicker = policy.maxPerTicker {
            for ticker in touchedTickers.sorted() {
                guard let layer = entry.tickers[ticker], layer.live > maxPerTicker else { continue }
                for victim in try victims(entry, tickerCode: layer.code, count: layer.live - maxPerTicker, order: policy.eviction, writer) {
                    _ = try deleteMemory(victim, in: &entry, writer)
                }
            }
        }
        if let maxMemories = policy.maxMemories, entry.live > maxMemories {
            for victim in try victims(entry, tickerCode: 0, count: entry.live - maxMemories, order: policy.eviction, writer) {
                _ = try deleteMemory(victim, in: &entry, writer)
            }
        }
    }

    struct TimeEntry {
        var timeMs: Int64
        var id: MemoryID
    }

    /// The live memories of a scope (0: all) in time order.
    func timeEntries(_ entry: CatalogEntry, tickerCode: UInt32, _ writer: borrowing IndexWriter) throws -> [TimeEntry] {
        var entries: [TimeEntry] = []
        try writer.transaction.forEach(in: databases.time, prefix: Key(entry.id, tickerCode)) { key, _ in
            var reader = KeyReader(key)
            _ = reader.readUInt32()
            _ = reader.readUInt32()
            if let time = reader.readOrderedSigned(), let id = reader.readUInt32() {
                entries.append(TimeEntry(timeMs: time, id: MemoryID(rawValue: id)))
            }
            return true
        }
        return entries
    }

    private func victims(_ entry: CatalogEntry, tickerCode: UInt32, count: Int, order: EvictionOrder,
                         _ writer: borrowing IndexWriter) throws -> [MemoryID] {
        let timed = try timeEntries(entry, tickerCode: tickerCode, writer)
        switch order {
        case .oldestFirst:
            return timed.prefix(count).map(\.id)
        case .lowestScore:
            var scored: [(quality: Float, time: Int64, id: MemoryID)] = []
            for memory in timed {
                let quality = try attributes(of: memory.id, entry, writer)?.quality ?? .nan
                scored.append((quality.isNaN ? 0.5 : quality, memory.timeMs, memory.id))
            }
            scored.sort { ($0.quality, $0.time, $0.id.rawValue) < ($1.quality, $1.time, $1.id.rawValue) }
            return scored.prefix(count).map(\.id)
        }
    }
}
