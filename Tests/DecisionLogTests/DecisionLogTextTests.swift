import DecisionLog
import Foundation
import Testing
import TradingMemory

/// The markdown log format read and written as TradingAgents does (its rules are Python's string
/// rules: strip, splitlines, the first DECISION/REFLECTION sections).
@Suite struct DecisionLogTextTests {
    private let buy = "Rating: Buy\nEnter at $189-192, 6% portfolio cap."

    @Test func entriesReadAsTradingAgentsReadsThem() {
        let text = DecisionLogText.log([
            DecisionLogText.pendingBlock(date: "2026-01-10", ticker: "NVDA", rating: "Buy", decision: buy + "\n\n---\n\nRisk: elevated."),
            "[2026-01-05 | 600519.SH | Sell | -3.5% | +1.2% | 5d]\n\nDECISION:\n估值偏高。\n\nREFLECTION:\n对了。",
            "A note written by hand.",
            "[2026-01-06 | BRK.B | Hold | +1.0%]\r\n\r\nDECISION:\r\nHold.  \u{2028}",
        ])
        let entries = DecisionLogText.blocks(of: text).compactMap(DecisionLogText.parseEntry)
        #expect(entries.count == 3)
        #expect(entries[0] == DecisionLogText.Entry(date: "2026-01-10", ticker: "NVDA", rating: "Buy", pending: true,
                                                    decision: buy + "\n\n---\n\nRisk: elevated."))
        #expect(entries[1] == DecisionLogText.Entry(date: "2026-01-05", ticker: "600519.SH", rating: "Sell", pending: false, raw: "-3.5%",
                                                    alpha: "+1.2%", holding: "5d", decision: "估值偏高。", reflection: "对了。"))
        #expect(entries[2].raw == "+1.0%" && entries[2].alpha == nil && entries[2].holding == nil && entries[2].decision == "Hold.")
        #expect(DecisionLogText.parseEntry("[a | b | c]\n\nDECISION:\nx") == nil, "fewer than four fields")
        #expect(DecisionLogText.parseEntry("   \n ") == nil)
    }

    @Test func resolvedBlocksAreRewrittenFromStrippedLines() {
        let block = DecisionLogText.resolvedBlock(date: "2026-01-10", ticker: "NVDA", rating: "Buy", raw: DecisionLogText.percent(0.042),
                                                  alpha: DecisionLogText.percent(0.021), holding: "5d", decision: "a\r\nb  \n\n",
                                                  reflection: "Momentum confirmed.")
        #expect(block == "[2026-01-10 | NVDA | Buy | +4.2% | +2.1% | 5d]\n\nDECISION:\na\nb\n\nREFLECTION:\nMomentum confirmed.")
        let empty = DecisionLogText.resolvedBlock(date: "d", ticker: "t", rating: "Hold", raw: "+0.0%", alpha: nil, holding: nil,
                                                  decision: " \n", reflection: "r")
        #expect(empty == "[d | t | Hold | +0.0%]\n\nDECISION:\n\nREFLECTION:\nr")
        #expect(DecisionLogText.percent(-0.0349) == "-3.5%" && DecisionLogText.percent(0) == "+0.0%")
        #expect(DecisionLogText.fraction("+4.2%") == 0.042 && DecisionLogText.fraction("n/a") == nil && DecisionLogText.fraction("%") == nil)
        #expect(DecisionLogText.holdingDays("12d") == 12 && DecisionLogText.holdingDays("d") == nil && DecisionLogText.holdingDays("٣d") == nil)
    }

    @Test func anImportAddsWhatTheCollectionLacksWithFreeIdsAndKnownTimes() throws {
        let day = try #require(DecisionLogRecords.tradeDate(DecisionLogText.Entry(date: "2026-01-09", ticker: "", rating: "", pending: true, decision: "")))
        // Friday plus five sessions is the next Friday; known the Saturday after.
        #expect(DecisionLogRecords.knownAt(tradeDate: day, holdingDays: 5) == day.addingTimeInterval(8 * 86_400))
        let text = DecisionLogText.log([
            "[2026-01-09 | NVDA | Buy | +1.0% | +0.5% | 5d]\n\nDECISION:\nBuy.\n\nREFLECTION:\nRight.",
            DecisionLogText.pendingBlock(date: "2026-01-09", ticker: "NVDA", rating: "Sell", decision: "Sell."),
            DecisionLogText.pendingBlock(date: "9 Jan", ticker: "NVDA", rating: "Sell", decision: "no date"),
        ])
        // The collection holds the day's second decision only (the first was rotated away).
        let existing = Memory(id: MemoryID(rawValue: 7), callerID: "decision:NVDA:2026-01-09:2", ticker: "NVDA", time: day, knownAt: day,
                              situation: "Buy.", reflection: "Right.", action: "Buy", outcome: 0.01, quality: nil,
                              metadata: ["trade_date": .string("2026-01-09")], status: .live, reinforcements: 0)
        let plan = DecisionLogRecords.importPlan(text: text, existing: [existing])
        #expect(plan.unparsed.count == 1)
        #expect(plan.memories.count == 1)
        let added = try #require(plan.memories.first)
        #expect(added.pending && added.memory.callerID == "decision:NVDA:2026-01-09" && added.memory.action == "Sell")
        let fresh = DecisionLogRecords.importPlan(text: text, existing: [])
        #expect(fresh.memories.map(\.memory.callerID) == ["decision:NVDA:2026-01-09", "decision:NVDA:2026-01-09:2"])
        let resolved = fresh.memories[0].memory
        #expect(resolved.outcome == 0.01 && resolved.metadata["holding_days"] == .number(5) && resolved.knownAt == day.addingTimeInterval(8 * 86_400))
    }
}
