public import FastJSON
public import Foundation
public import TradingMemory

/// `POST /v1/decisions/{id}/credit`: the outcome of a decision kept outside the store.
public struct CreditRequest: Codable, Sendable {
    public var outcome: Double
    /// The decision's action: its side signs the outcome (BUY +1, SELL −1, HOLD 0; see ``CreditSettings/side(of:)``).
    public var action: String?
    /// The credit itself, used instead of `side(action) × outcome`.
    public var credit: Double?
    public var knownAt: WireDate?

    enum CodingKeys: String, CodingKey { case outcome, action, credit, knownAt = "known_at" }

    public init(outcome: Double, action: String? = nil, credit: Double? = nil, knownAt: Date? = nil) {
        self.outcome = outcome
        self.action = action
        self.credit = credit
        self.knownAt = knownAt.map(WireDate.init)
    }
}

/// A decision's resolution in JSON: `{"outcome", "action", "credit", "known_at", "collection", "memories_credited"}`.
public struct WireDecisionResolution: JSONWritable, Sendable {
    public var resolution: DecisionResolution
    public init(_ resolution: DecisionResolution) { self.resolution = resolution }

    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.field("action", resolution.action)
        writer.field("collection", resolution.collection)
        writer.key("credit"); writer.number(resolution.credit)
        writer.key("known_at"); writer.string(WireTime.format(resolution.knownAt))
        writer.key("memories_credited"); writer.number(resolution.memoriesCredited)
        writer.key("outcome"); writer.number(resolution.outcome)
        writer.endObject()
    }
}

/// `GET /v1/decisions/{id}/provenance`: what a decision was shown, each memory's credit as of the
/// request's `as_of`, and the decision's resolution (null while unresolved).
public struct WireProvenance: JSONWritable, Sendable {
    public var provenance: DecisionProvenance
    public init(_ provenance: DecisionProvenance) { self.provenance = provenance }

    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("decision_id"); writer.string(provenance.decisionID)
        writer.key("resolution")
        if let resolution = provenance.resolution { WireDecisionResolution(resolution).write(to: &writer) } else { writer.null() }
        writer.key("shown")
        writer.beginArray()
        for shown in provenance.shown {
            writer.beginObject()
            writer.time("as_of", shown.asOf.map(WireDate.init))
            writer.key("collection"); writer.string(shown.collection)
            writer.key("credit"); writer.number(shown.totalCredit)
            writer.key("credits")
            writer.beginArray()
            for event in shown.credits {
                writer.beginObject()
                writer.key("credit"); writer.number(event.credit)
                writer.key("decision_id"); writer.string(event.decisionID)
                writer.key("known_at"); writer.string(WireTime.format(event.knownAt))
                writer.endObject()
            }
            writer.endArray()
            writer.key("engine_id"); writer.number(Int(shown.memoryID.rawValue))
            writer.field("factor", shown.factor)
            writer.key("memory")
            if let memory = shown.memory { WireMemory(memory).write(to: &writer) } else { writer.null() }
            writer.key("rank"); writer.number(shown.rank)
            writer.key("recorded_at"); writer.string(WireTime.format(shown.recordedAt))
            writer.key("score"); writer.number(shown.score)
            writer.key("similarity"); writer.number(shown.similarity)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
    }
}
