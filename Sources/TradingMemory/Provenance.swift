public import Foundation
import LMDB
import VectorIndex

/// How the credit that resolved decisions gave a memory weighs in its score.
///
/// A recall that carries a decision id records the memories it returned; when that decision is
/// resolved with an outcome, each of them receives a credit event `side(action) × outcome`, known
/// from the resolution's `knownAt`. A query as of `t` multiplies a memory's score by
/// `1 + beta · tanh(C / scale)`, `C` the sum of the memory's credit events known by `t`: a factor
/// in `[1 − beta, 1 + beta]`, 1 for a memory never credited.
public struct CreditSettings: Hashable, Sendable, Codable {
    /// The most the factor moves a score either way, in [0, 1).
    public var beta: Double
    /// The credit at which the factor has moved tanh(1) ≈ 76% of the way to its bound (a return of
    /// 0.05, a 5% gain, by default).
    public var scale: Double

    public init(beta: Double = 0.2, scale: Double = 0.05) {
        self.beta = beta
        self.scale = scale
    }

    /// The factor for a total credit.
    public func factor(credit: Double) -> Double { 1 + beta * tanh(credit / scale) }

    /// The largest factor: the bound a ranking's stopping rule multiplies by.
    public var maximumFactor: Double { 1 + beta }

    func validate() throws {
        guard beta.isFinite, beta >= 0, beta < 1 else { throw TradingMemoryError.invalidArgument("credit beta must be at least 0 and below 1") }
        guard scale.isFinite, scale > 0, scale <= 1e9 else { throw TradingMemoryError.invalidArgument("credit scale must be a positive number") }
    }

    /// The sign a decision's action gives its outcome: +1 for a long decision (BUY, OVERWEIGHT,
    /// LONG, or no or another action: the outcome is taken as the decision's own result), −1 for a
    /// short one (SELL, UNDERWEIGHT, SHORT), 0 for HOLD (no position: the outcome credits nothing).
    public static func side(of action: String?) -> Double {
        switch action?.trimmingCharacters(in: .whitespaces).uppercased() {
        case "SELL", "UNDERWEIGHT", "SHORT": -1
        case "HOLD": 0
        default: 1
        }
    }
}

/// One credit event of a memory.
public struct CreditEvent: Sendable, Hashable {
    public var decisionID: String
    /// `side(action) × outcome` of the decision (or the credit its caller gave).
    public var credit: Double
    /// When the decision's outcome became known: queries as of an earlier time do not count it.
    public var knownAt: Date
}

/// A memory a decision was shown, and how its credit stands.
public struct ShownMemory: Sendable, Hashable {
    public var collection: String
    public var memoryID: MemoryID
    /// Its rank (from 0) in the recall that returned it, and that recall's score and similarity.
    public var rank: Int
    public var score: Double
    public var similarity: Float
    /// The recall's `asOf` (nil: it ran on the present).
    public var asOf: Date?
    /// When the recall was recorded (wall clock).
    public var recordedAt: Date
    /// The memory now, or nil when it was deleted since.
    public var memory: Memory?
    /// Its credit events known as of the provenance query's time, oldest first.
    public var credits: [CreditEvent]
    /// Their sum.
    public var totalCredit: Double { credits.reduce(0) { $0 + $1.credit } }
    /// The factor its collection's settings give that sum (nil: the collection scores without credit, or is gone).
    public var factor: Double?
}

/// The outcome that credited a decision's memories.
public struct DecisionResolution: Sendable, Hashable {
    public var outcome: Double
    public var action: String?
    /// The credit each memory shown received.
    public var credit: Double
    public var knownAt: Date
    /// The collection whose pending decision it resolved (nil: credited directly).
    public var collection: String?
    /// How many memories received it (those shown that still existed).
    public var memoriesCredited: Int
}

/// What a decision was shown and how it was resolved.
public struct DecisionProvenance: Sendable, Hashable {
    public var decisionID: String
    public var shown: [ShownMemory]
    public var resolution: DecisionResolution?
}

/// The stored form of a showing (`decision-shown`).
struct ShownRecord: Codable {
    var collection: String
    var collectionID: UInt32
    var memory: UInt32
    var rank: Int
    var score: Double
    var similarity: Float
    var asOfMs: Int64?
    var recordedMs: Int64
}

extension ShownRecord {
    /// Calls `body` with the value of each showing recorded for `decision`, in key order.
    private static func forEachValue<Mode>(of decision: String, in database: Database, _ txn: borrowing Transaction<Mode>,
                                           _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let prefix = Keys.shown(decision)
        try txn.forEach(in: database, from: prefix) { key, value in
            guard key.count == prefix.count + 8, memcmp(key.baseAddress!, prefix, prefix.count) == 0 else { return false }
            try body(value)
            return true
        }
    }

    /// Calls `body` with each showing recorded for `decision`, in key order.
    static func forEach<Mode>(of decision: String, in database: Database, _ txn: borrowing Transaction<Mode>,
                              _ body: (ShownRecord) throws -> Void) throws {
        try forEachValue(of: decision, in: database, txn) { value in
            try body(try Coding.decode(ShownRecord.self, from: value, what: "a showing of decision '\(decision.prefix(40))'"))
        }
    }

    /// How many showings are recorded for `decision` (nothing decoded).
    static func count<Mode>(of decision: String, in database: Database, _ txn: borrowing Transaction<Mode>) throws -> Int {
        var count = 0
        try forEachValue(of: decision, in: database, txn) { _ in count += 1 }
        return count
    }
}

/// The stored form of a decision's resolution (`decision-outcomes`).
struct DecisionOutcomeRecord: Codable {
    var outcome: Double
    var action: String?
    var credit: Double
    var knownAtMs: Int64
    var collection: String?
    var memoriesCredited: Int
}

enum DecisionIDs {
    /// The most memories one decision may be shown.
    static let maxShown = 10_000

    /// A decision id is 1 to 256 UTF-8 bytes without control characters.
    static func validate(_ id: String) throws {
        guard !id.isEmpty, id.utf8.count <= 256, !id.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw TradingMemoryError.invalidArgument("a decision id is 1 to 256 bytes of text without control characters")
        }
    }
}

extension TradingMemoryStore {
    /// Credits the memories shown to `decisionID` with the outcome of a decision kept outside this
    /// store (a decision recorded here is credited when it is resolved): each receives
    /// `credit ?? side(action) × outcome` (``CreditSettings/side(of:)``), known from `knownAt`
    /// (default now). A decision is credited once; crediting it again is
    /// ``TradingMemoryError/decisionResolved(_:)``, and so is a later recall for it.
    @discardableResult
    public func creditDecision(_ decisionID: String, outcome: Double, action: String? = nil, credit: Double? = nil,
                               knownAt: Date? = nil) throws -> DecisionResolution {
        try DecisionIDs.validate(decisionID)
        return try write { writer, state in
            try state.creditDecision(decisionID, outcome: outcome, action: action, credit: credit, knownAt: knownAt ?? Date(),
                                     resolvedIn: nil, writer)!
        }
    }

    /// What `decisionID` was shown, each memory's credit as known at `asOf` (default now), and
    /// its resolution; nil when no recall recorded it and it was never credited.
    public func provenance(decisionID: String, asOf: Date? = nil) throws -> DecisionProvenance? {
        try DecisionIDs.validate(decisionID)
        if let asOf { try TimeBounds.check(asOf, "asOf") }
        let asOfMs = (asOf ?? Date()).milliseconds
        return try read { reader, snapshot in
            guard let shownDB = databases.decisionShown, let outcomes = databases.decisionOutcomes else { return nil }
            var records: [ShownRecord] = []
            try ShownRecord.forEach(of: decisionID, in: shownDB, reader.transaction) { records.append($0) }
            let resolution = try reader.transaction.withValue(for: Keys.decisionOutcome(decisionID), in: outcomes) { bytes in
                try bytes.map { try Coding.decode(DecisionOutcomeRecord.self, from: $0, what: "the outcome of decision '\(decisionID.prefix(40))'") }
            }
            guard !records.isEmpty || resolution != nil else { return nil }
            var shown: [ShownMemory] = []
            for record in records.sorted(by: { ($0.recordedMs, $0.collection, $0.rank) < ($1.recordedMs, $1.collection, $1.rank) }) {
                let entry = try snapshot.collectionIfPresent(record.collection, reader).flatMap { $0.id == record.collectionID ? $0 : nil }
                let memory = try entry.flatMap {
                    try MemoryLookup.memory(MemoryID(rawValue: record.memory), collection: $0.id, databases: databases, reader.transaction)
                }
                let credits = try CreditLedger(databases: databases).events(record.collectionID, record.memory, asOfMs: asOfMs, reader.transaction)
                let total = credits.reduce(0) { $0 + $1.credit }
                shown.append(ShownMemory(collection: record.collection, memoryID: MemoryID(rawValue: record.memory), rank: record.rank,
                                         score: record.score, similarity: record.similarity, asOf: record.asOfMs.map(Date.init(milliseconds:)),
                                         recordedAt: Date(milliseconds: record.recordedMs), memory: memory, credits: credits,
                                         factor: entry?.configuration.credit.map { $0.factor(credit: total) }))
            }
            return DecisionProvenance(decisionID: decisionID, shown: shown, resolution: resolution.map {
                DecisionResolution(outcome: $0.outcome, action: $0.action, credit: $0.credit, knownAt: Date(milliseconds: $0.knownAtMs),
                                   collection: $0.collection, memoriesCredited: $0.memoriesCredited)
            })
        }
    }

}

/// Reads of the credit events of memories.
struct CreditLedger {
    let databases: MemoryDatabases

    /// Calls `body` with each credit event of a memory known by `asOfMs`, oldest first (events are
    /// in knownAt order: the scan stops at the first later one).
    private func forEachEvent<Mode>(_ collection: UInt32, _ memory: UInt32, asOfMs: Int64, _ txn: borrowing Transaction<Mode>,
                                    _ body: (_ knownAtMs: Int64, _ credit: Double, _ decision: UnsafeRawBufferPointer) -> Void) throws {
        guard let credit = databases.memoryCredit else { return }
        try txn.forEach(in: credit, prefix: Key(collection, memory)) { key, value in
            var reader = KeyReader(key)
            _ = reader.readUInt32()
            _ = reader.readUInt32()
            guard let knownAtMs = reader.readOrderedSigned(), knownAtMs <= asOfMs, value.count == 8 else { return false }
            body(knownAtMs, Double(bitPattern: UInt64(littleEndian: value.loadUnaligned(as: UInt64.self))), reader.rest)
            return true
        }
    }

    /// The credit events of a memory known by `asOfMs`, oldest first.
    func events<Mode>(_ collection: UInt32, _ memory: UInt32, asOfMs: Int64, _ txn: borrowing Transaction<Mode>) throws -> [CreditEvent] {
        var events: [CreditEvent] = []
        try forEachEvent(collection, memory, asOfMs: asOfMs, txn) { knownAtMs, credit, decision in
            events.append(CreditEvent(decisionID: String(decoding: decision, as: UTF8.self), credit: credit, knownAt: Date(milliseconds: knownAtMs)))
        }
        return events
    }

    /// The sum of a memory's credit known by `asOfMs` (the ranking's path: nothing allocated).
    func total<Mode>(_ collection: UInt32, _ memory: UInt32, asOfMs: Int64, _ txn: borrowing Transaction<Mode>) throws -> Double {
        var total = 0.0
        try forEachEvent(collection, memory, asOfMs: asOfMs, txn) { _, credit, _ in total += credit }
        return total
    }
}

extension MemoryWriteState {
    /// Records that `results` were shown to `decision` (the first showing of each memory is kept).
    func recordShown(_ decision: String, _ results: [RecallResult], asOfMs: Int64?, recordedMs: Int64, _ entry: CatalogEntry,
                     _ writer: borrowing IndexWriter) throws {
        try DecisionIDs.validate(decision)
        guard let shownDB = databases.decisionShown, let outcomes = databases.decisionOutcomes else {
            throw TradingMemoryError.storage("the database has no provenance tables (open it for writing once to add them)")
        }
        if try writer.transaction.contains(Keys.decisionOutcome(decision), in: outcomes) { throw TradingMemoryError.decisionResolved(decision) }
        var count = try ShownRecord.count(of: decision, in: shownDB, writer.transaction)
        for (rank, result) in results.enumerated() {
            let key = Keys.shown(decision, collection: entry.id, memory: result.memory.id.rawValue)
            if try writer.transaction.contains(key, in: shownDB) { continue }
            count += 1
            guard count <= DecisionIDs.maxShown else {
                throw TradingMemoryError.invalidArgument("a decision may be shown at most \(DecisionIDs.maxShown) memories")
            }
            let record = ShownRecord(collection: entry.name, collectionID: entry.id, memory: result.memory.id.rawValue, rank: rank,
                                     score: result.score, similarity: result.similarity, asOfMs: asOfMs, recordedMs: recordedMs)
            try writer.transaction.put(try Coding.encode(record), for: key, in: shownDB)
        }
    }

    /// Credits the memories shown to `decision`. From a resolution (`resolvedIn` set) a decision
    /// already credited, or shown nothing, is left alone (nil); credited directly, it is an error.
    func creditDecision(_ decision: String, outcome: Double, action: String?, credit: Double?, knownAt: Date, resolvedIn: String?,
                        _ writer: borrowing IndexWriter) throws -> DecisionResolution? {
        guard outcome.isFinite else { throw TradingMemoryError.invalidArgument("the outcome must be a finite number") }
        if let credit, !credit.isFinite { throw TradingMemoryError.invalidArgument("the credit must be a finite number") }
        try TimeBounds.check(knownAt, "knownAt")
        guard let shownDB = databases.decisionShown, let outcomes = databases.decisionOutcomes, let creditDB = databases.memoryCredit else {
            if resolvedIn != nil { return nil }
            throw TradingMemoryError.storage("the database has no provenance tables (open it for writing once to add them)")
        }
        if try writer.transaction.contains(Keys.decisionOutcome(decision), in: outcomes) {
            if resolvedIn != nil { return nil }
            throw TradingMemoryError.decisionResolved(decision)
        }
        var records: [ShownRecord] = []
        try ShownRecord.forEach(of: decision, in: shownDB, writer.transaction) { records.append($0) }
        if records.isEmpty && resolvedIn != nil { return nil }
        // Clamped, so that no sum of events can overflow to an infinite or NaN factor.
        let amount = min(Self.maxCredit, max(-Self.maxCredit, credit ?? CreditSettings.side(of: action) * outcome))
        let knownAtMs = knownAt.milliseconds
        var credited = 0
        for record in records {
            guard let entry = try collectionIfPresent(record.collection, writer), entry.id == record.collectionID,
                  try storedMemory(MemoryID(rawValue: record.memory), entry, writer) != nil else { continue }
            var bytes = [UInt8](repeating: 0, count: 8)
            withUnsafeBytes(of: amount.bitPattern.littleEndian) { bytes = Array($0) }
            try writer.transaction.put(bytes, for: Keys.credit(entry.id, record.memory, knownAtMs: knownAtMs, decision: decision), in: creditDB)
            credited += 1
        }
        let record = DecisionOutcomeRecord(outcome: outcome, action: action, credit: amount, knownAtMs: knownAtMs, collection: resolvedIn,
                                           memoriesCredited: credited)
        try writer.transaction.put(try Coding.encode(record), for: Keys.decisionOutcome(decision), in: outcomes)
        return DecisionResolution(outcome: outcome, action: action, credit: amount, knownAt: Date(milliseconds: knownAtMs),
                                  collection: resolvedIn, memoriesCredited: credited)
    }

    /// The largest credit one event carries, either way.
    static let maxCredit = 1e6

    /// Removes a memory's credit events (it is being deleted).
    func removeCredit(_ collection: UInt32, _ memory: UInt32?, _ writer: borrowing IndexWriter) throws {
        guard let creditDB = databases.memoryCredit else { return }
        _ = try writer.transaction.deleteAll(in: creditDB, prefix: memory.map { Key(collection, $0) } ?? Key(collection))
    }
}
