public import Foundation

/// Conditions on memories (the `where` of a query or a delete); all must hold.
public struct MemoryFilter: Hashable, Sendable, Codable {
    /// The memory's ticker is one of these.
    public var tickers: Set<String>?
    /// The memory's action is one of these (compared exactly).
    public var actions: Set<String>?
    /// The situation's time is at or after this.
    public var timeFrom: Date?
    /// The situation's time is before this.
    public var timeBefore: Date?
    /// The outcome is at least this (memories without outcome fail).
    public var outcomeMin: Double?
    /// The outcome is at most this (memories without outcome fail).
    public var outcomeMax: Double?
    /// Conditions on metadata.
    public var metadata: [MetadataCondition]

    public init(tickers: Set<String>? = nil, actions: Set<String>? = nil, timeFrom: Date? = nil, timeBefore: Date? = nil,
                outcomeMin: Double? = nil, outcomeMax: Double? = nil, metadata: [MetadataCondition] = []) {
        self.tickers = tickers
        self.actions = actions
        self.timeFrom = timeFrom
        self.timeBefore = timeBefore
        self.outcomeMin = outcomeMin
        self.outcomeMax = outcomeMax
        self.metadata = metadata
    }

    /// Whether `memory` meets every condition.
    public func matches(_ memory: Memory) -> Bool {
        if let tickers, !tickers.contains(memory.ticker ?? "") { return false }
        if let actions, !actions.contains(memory.action ?? "") { return false }
        if let timeFrom, memory.time < timeFrom { return false }
        if let timeBefore, memory.time >= timeBefore { return false }
        if outcomeMin != nil || outcomeMax != nil {
            guard let outcome = memory.outcome else { return false }
            if let outcomeMin, outcome < outcomeMin { return false }
            if let outcomeMax, outcome > outcomeMax { return false }
        }
        return metadata.allSatisfy { $0.matches(memory.metadata[$0.key]) }
    }

    /// Checks the filter's times.
    func validate() throws {
        if let timeFrom { try TimeBounds.check(timeFrom, "timeFrom") }
        if let timeBefore { try TimeBounds.check(timeBefore, "timeBefore") }
    }

    /// Whether the filter names no condition (it matches every memory).
    public var isEmpty: Bool {
        tickers == nil && actions == nil && timeFrom == nil && timeBefore == nil && outcomeMin == nil && outcomeMax == nil && metadata.isEmpty
    }
}

/// A condition on one metadata key.
public struct MetadataCondition: Hashable, Sendable, Codable {
    public enum Operator: String, Hashable, Sendable, Codable, CaseIterable {
        case equal = "eq", notEqual = "ne", less = "lt", lessOrEqual = "lte", greater = "gt", greaterOrEqual = "gte", oneOf = "in"
    }

    public var key: String
    public var op: Operator
    /// The value compared with (for `in`, any of `values`).
    public var value: MetadataValue?
    public var values: [MetadataValue]?

    public init(key: String, _ op: Operator, _ value: MetadataValue) {
        self.key = key
        self.op = op
        self.value = value
    }

    public init(key: String, oneOf values: [MetadataValue]) {
        self.key = key
        op = .oneOf
        self.values = values
    }

    /// Whether a memory's value for the key meets the condition (a missing key fails every
    /// operator but `ne`).
    public func matches(_ actual: MetadataValue?) -> Bool {
        if op == .oneOf { return actual.map { (values ?? []).contains($0) } ?? false }
        guard let expected = value else { return false }
        guard let actual else { return op == .notEqual }
        switch op {
        case .equal: return actual == expected
        case .notEqual: return actual != expected
        case .oneOf: return false
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            let order: Int?
            switch (actual, expected) {
            case (.number(let a), .number(let b)): order = a < b ? -1 : (a > b ? 1 : 0)
            case (.string(let a), .string(let b)): order = a < b ? -1 : (a > b ? 1 : 0)
            default: order = nil
            }
            guard let order else { return false }
            switch op {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            default: return order >= 0
            }
        }
    }
}
