import AgentMemory
import ArgumentParser
import Embedding
import Foundation
import TradingMemory
import VectorIndex
import WireFormat

extension Hindsight {
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a small trading-agent memory loop in a local database and print what the agents recall.",
            discussion: """
            Five role memories (bull, bear, trader, research judge, risk manager) go through 30 trading days of three \
            tickers: each day the trader records a pending decision; five days later the outcome is known and a \
            reflection is stored; before each decision every role recalls past lessons for that ticker as of that day \
            (nothing from the future), with a 60-day half-life. By default texts are embedded by a deterministic \
            word-hashing embedder, so the demo needs no model and no network; --embedder local uses the BERT model \
            (tools/fetch-model.sh).
            """)

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Trading days to simulate.") var days: Int = 30
        @Option(help: "hashing (no model needed) or local (a sentence-transformers model on the CPU).") var embedder: String = "hashing"
        @OptionGroup(title: "Local model") var model: LocalModelOptions

        func run() async throws {
            let store = try database.openStore()
            defer { store.close() }
            let engine = LocalMemoryEngine(store: store)
            let embedder: any Embedder
            switch self.embedder {
            case "hashing": embedder = HashingEmbedder(dimension: 384)
            case "local": embedder = CachingEmbedder(try model.load())
            default: throw ValidationError("--embedder takes hashing or local.")
            }
            let run = "demo-\(Int(Date().timeIntervalSince1970))"
            let roles = ["bull_memory", "bear_memory", "trader_memory", "invest_judge_memory", "risk_manager_memory"]
            let memories = Dictionary(uniqueKeysWithValues: roles.map { role in
                (role, AgentMemory(collection: "\(run).\(role)", engine: engine, embedder: embedder,
                                   configuration: AgentMemoryConfiguration(decay: .halfLife(60 * 86_400))))
            })
            let tickers = ["AAPL", "NVDA", "TSLA"]
            let themes = ["earnings beat and raised guidance", "supply chain delays and weak demand", "rate cut hopes lift growth stocks",
                          "regulatory probe and legal risk", "strong buybacks and margin expansion", "price war squeezes margins"]
            let start = Date(timeIntervalSince1970: 1_704_153_600)  // 2024-01-02
            var rng = SplitMix64(seed: 7)  // the same story each run
            let began = Date()
            for dayIndex in 0..<days {
                let date = start.addingTimeInterval(Double(dayIndex) * 86_400)
                for ticker in tickers {
                    let theme = themes[Int(rng.next() % UInt64(themes.count))]
                    let situation = "\(ticker): \(theme); volume above average; sentiment mixed"
                    for role in roles {
                        _ = try await memories[role]!.getMemories(situation, nMatches: 2, ticker: ticker, asOf: date)
                    }
                    let action = ["BUY", "SELL", "HOLD"][Int(rng.next() % 3)]
                    try await memories["trader_memory"]!.storeDecision(ticker: ticker, date: date, decision: "\(action) \(ticker)",
                                                                       situation: situation)
                    if dayIndex >= 5 {
                        let decided = start.addingTimeInterval(Double(dayIndex - 5) * 86_400)
                        let raw = Double(Int(rng.next() % 2001) - 1000) / 10_000
                        try await memories["trader_memory"]!.updateWithOutcome(
                            ticker: ticker, date: decided, rawReturn: raw, holdingDays: 5,
                            reflection: raw >= 0 ? "The call on \(ticker) worked; keep weighting this setup." :
                                "The call on \(ticker) lost \(String(format: "%.1f", -raw * 100))%; be slower on this setup.")
                        for role in roles where role != "trader_memory" {
                            try await memories[role]!.addSituations(
                                [(situation: "\(ticker): \(themes[Int(rng.next() % UInt64(themes.count))]); volume above average",
                                  recommendation: "\(role.split(separator: "_")[0]) lesson for \(ticker) from \(DecisionDates.day(decided))")],
                                ticker: ticker, date: date)
                        }
                    }
                }
            }
            print(String(format: "simulated %d days × %d tickers × %d roles in %.2f s, database %@", days, tickers.count, roles.count,
                         Date().timeIntervalSince(began), database.db))
            let today = start.addingTimeInterval(Double(days) * 86_400)
            let question = "NVDA: earnings beat and raised guidance; volume above average; sentiment mixed"
            print("\nas of \(DecisionDates.day(today)), the trader asks about: \(question)")
            for match in try await memories["trader_memory"]!.getMemories(question, nMatches: 3, ticker: "NVDA", asOf: today) {
                print(String(format: "  %@ %@  cosine %.3f  score %.3f  outcome %@\n    lesson: %@", match.ticker ?? "-", DecisionDates.day(match.date),
                             match.similarity, match.score, match.outcome.map { String(format: "%+.2f%%", $0 * 100) } ?? "-", match.recommendation))
                if let lexical = match.lexicalScore {
                    print(String(format: "    words matched (BM25 %.2f): ", lexical) + match.matchedTerms.joined(separator: ", "))
                }
            }
            let context = try await memories["trader_memory"]!.pastContext(ticker: "NVDA", nSame: 2, nCross: 2, asOf: today)
            print("\npast decisions for NVDA: \(context.sameTicker.map { "\(DecisionDates.day($0.time)) \($0.action ?? "?") \(String(format: "%+.2f%%", ($0.outcome ?? 0) * 100))" })")
            print("other tickers: \(context.crossTicker.map { "\($0.ticker ?? "?") \(DecisionDates.day($0.time)) \($0.action ?? "?")" })")
            print("pending decisions: \(try await memories["trader_memory"]!.pendingDecisions().count)")
            for role in roles { print("  \(role): \(try await memories[role]!.count()) memories") }
            print("\ncollections of this run are named \(run).*; see them with: hindsight stats --db \(database.db)")
        }
    }
}

