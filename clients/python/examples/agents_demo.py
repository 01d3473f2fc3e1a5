"""Five agent roles remember through a Hindsight server: decision -> delayed outcome -> reflection -> recall.

Run it with one command from the repository root: `tools/agents-example.sh` (it starts a local
server with a deterministic hashing embedder, so nothing needs a network or an API key), or point
it at your own server: `python agents_demo.py --server-url http://127.0.0.1:8765`.
"""

import argparse
import datetime
import random
import uuid

from hindsight_memory import FinancialSituationMemory, TradingMemoryLog

ROLES = ["bull_memory", "bear_memory", "trader_memory", "invest_judge_memory", "risk_manager_memory"]
TICKERS = ["NVDA", "TSLA"]
THEMES = ["earnings beat and raised guidance", "supply chain delays and weak demand", "rate cut hopes lift growth stocks",
          "regulatory probe and legal risk", "price war squeezes margins", "strong buybacks and margin expansion"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-url", default="http://127.0.0.1:8765")
    parser.add_argument("--token")
    parser.add_argument("--days", type=int, default=20)
    args = parser.parse_args()

    run = "demo-" + uuid.uuid4().hex[:8]  # a namespace: parallel runs never share memories
    config = {"server_url": args.server_url, "token": args.token, "namespace": run, "decay": {"half_life": "30d"}}
    memories = {role: FinancialSituationMemory(role, config) for role in ROLES if role != "trader_memory"}
    # The trader keeps TradingAgents' decision log (engine only here; give memory_log_path for the markdown file too).
    trader = TradingMemoryLog(dict(config, memory_log_collection="trader_log"))

    rng = random.Random(7)
    start = datetime.date(2024, 1, 2)
    situations = {}
    for day_index in range(args.days):
        day = start + datetime.timedelta(days=day_index)
        for ticker in TICKERS:
            situation = "%s: %s; volume above average" % (ticker, rng.choice(THEMES))
            # 1. Before deciding, every role recalls similar past situations as of today (no look-ahead).
            recalled = {role: memory.get_memories(situation, n_matches=2, ticker=ticker, as_of=day.isoformat())
                        for role, memory in memories.items()}
            similar = trader.get_similar_context(situation, n=2, ticker=ticker, as_of=day.isoformat())
            # 2. The trader decides; the decision stays pending until its outcome is known.
            action = rng.choice(["BUY", "SELL", "HOLD"])
            trader.store_decision(ticker, day.isoformat(), "Rating: %s\n%s %s on %s." % (action.capitalize(), action, ticker, situation),
                                  situation=situation)
            situations[(ticker, day)] = (situation, action)
            # 3. Five days later the return is known: resolve it and let each role write a reflection.
            decided = day - datetime.timedelta(days=5)
            if (ticker, decided) in situations:
                past_situation, past_action = situations[(ticker, decided)]
                raw = round(rng.uniform(-0.08, 0.08), 4)
                worked = {"BUY": raw > 0, "SELL": raw < 0, "HOLD": abs(raw) < 0.02}[past_action]
                verdict = "worked" if worked else "did not work"
                # Five calendar days hold three or five sessions: say when the outcome became known.
                trader.update_with_outcome(ticker, decided.isoformat(), raw_return=raw, alpha_return=raw / 2, holding_days=5,
                                           reflection="%s on '%s' %s (%+.1f%%)." % (past_action, past_situation, verdict, raw * 100),
                                           known_at=day.isoformat())
                for role, memory in memories.items():
                    memory.add_situations([(past_situation, "%s: %s %s %s." % (role.split("_")[0], past_action, ticker, verdict))],
                                          ticker=ticker, date=day.isoformat())
            if day_index == args.days - 1 and ticker == "NVDA":
                print("Day %s, %s — %s" % (day, ticker, situation))
                for role, matches in recalled.items():
                    for match in matches:
                        print("  %-20s %.3f  %s" % (role, match["similarity_score"], match["recommendation"]))
                print()
                print(similar)
    print()
    print(trader.get_past_context("NVDA", n_same=3, n_cross=2, as_of=(start + datetime.timedelta(days=args.days)).isoformat()))
    print()
    print("pending decisions:", len(trader.get_pending_entries()))
    for role, memory in memories.items():
        print("%-20s %3d memories (collection %s)" % (role, memory.count(), memory.collection))
    print("%-20s %3d entries  (collection %s)" % ("trader log", len(trader.load_entries()), trader.collection))


if __name__ == "__main__":
    main()
