import Distance
import FastJSON
import Foundation
import LMDB
import VectorIndex

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
    /// Kind codes (1…255, kept in the attribute row's flags); absent in entries stored before kinds.
    var kinds: [String: UInt32]?
    var live: Int
    var pending: Int
    /// The latest `knownAt` of any memory ever made live (never lowered): a query as of this time
    /// or later has no memory to hide.
    var maxKnownAtMs: Int64?
    /// Live memories in the lexical index and the sum of their lengths in terms (BM25's N and
    /// N × avgdl when no memory is hidden by a point in time).
    var lexicalDocuments: Int?
    var lexicalLengthSum: Int?

    var spaceID: SpaceID { SpaceID(rawValue: space) }
    var globalGraphID: GraphID { GraphID(rawValue: globalGraph) }

    func tickerName(code: UInt32) -> String? { tickers.first { $0.value.code == code }?.key }

    var info: CollectionInfo {
        CollectionInfo(name: name, configuration: configuration, created: created, count: live, pending: pending,
                       tickers: tickers.mapValues(\.live))
    }

    static let standardActions: [String: UInt32] = ["BUY": 1, "SELL": 2, "HOLD": 3]
}
