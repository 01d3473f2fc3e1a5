#!/usr/bin/env bash
# Regenerates the format-v1 fixture: a small database written by Hindsight at commit e6bf662 (the last
# build before the wire-format and naming refactor), and the answers that build gave to a few queries.
# Tests/TradingMemoryTests/FormatFixtureTests.swift opens a copy of it with today's build and checks that
# the database verifies clean and answers the same queries the same way.
#   HINDSIGHT=/path/to/old/hindsight Tests/Fixtures/format-v1/make.sh
# It is kept for the record; running it with a newer build makes a fixture of that build instead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${HINDSIGHT:?set HINDSIGHT to a hindsight binary}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="$work/db"
python3 - "$work" <<'PY'
import json, math, random, sys
work = sys.argv[1]
rng = random.Random(11)
def vec():
    v = [rng.uniform(-1, 1) for _ in range(8)]
    return [round(x, 6) for x in v]
tickers = ["AAPL", "600519.SH", "BRK.B", None]
with open(f"{work}/trader.jsonl", "w") as f:
    for i in range(40):
        t = tickers[i % 4]
        rec = {"id": f"m{i}", "time": f"2024-01-{1 + i % 28:02d}", "known_at": f"2024-02-{1 + i % 28:02d}",
               "situation": f"situation {i} for {t or 'market'}: 贵州茅台 report {i}", "reflection": f"lesson {i}",
               "action": ["BUY", "SELL", "HOLD"][i % 3], "outcome": round((i - 20) / 100, 3), "quality": round((i % 10) / 10, 1),
               "metadata": {"regime": ["bull", "bear"][i % 2], "confidence": i / 40, "flag": i % 5 == 0}, "vector": vec()}
        if t: rec["ticker"] = t
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
with open(f"{work}/pending.jsonl", "w") as f:
    for i in range(3):
        f.write(json.dumps({"id": f"p{i}", "ticker": "AAPL", "time": f"2024-03-0{i+1}", "situation": f"pending {i}",
                            "status": "pending", "vector": vec()}) + "\n")
with open(f"{work}/plain.jsonl", "w") as f:
    for i in range(12):
        f.write(json.dumps({"time": 1704153600 + i * 86400, "situation": f"plain {i}", "vector": vec()}) + "\n")
queries = [vec() for _ in range(4)]
json.dump(queries, open(f"{work}/queries.json", "w"))
PY
h() { "$bin" "$@" --db "$db"; }
h collection create trader --dim 8 --half-life 30d --max-per-ticker 9 >/dev/null
h collection create plain --dim 8 --m 8 --ef-construction 50 >/dev/null
h add --collection trader --jsonl "$work/trader.jsonl" >/dev/null
h add --collection trader --jsonl "$work/pending.jsonl" >/dev/null
h add --collection plain --jsonl "$work/plain.jsonl" >/dev/null
h resolve --collection trader --id p0 --outcome 0.05 --reflection "resolved lesson" --known-at 2024-03-08 >/dev/null
h delete --collection trader --id m3 >/dev/null
rm -rf "$here/db" && mkdir -p "$here/db"
"$bin" compact --db "$db" >/dev/null 2>&1 || true
cp "$db/data.mdb" "$here/db/data.mdb"
"$bin" export --jsonl "$here/export-v1.jsonl" --db "$db" >/dev/null 2>&1
# The answers: each query vector against each mode the tests replay.
python3 - "$work" "$bin" "$db" "$here/expected.json" <<'PY'
import json, subprocess, sys
work, bin, db, out = sys.argv[1:]
queries = json.load(open(f"{work}/queries.json"))
cases = []
for qi, q in enumerate(queries):
    for args in (["--collection", "trader", "--k", "5", "--as-of", "2024-04-01"],
                 ["--collection", "trader", "--k", "4", "--ticker", "AAPL", "--as-of", "2024-02-10"],
                 ["--collection", "trader", "--k", "6", "--ticker", "600519.SH", "--mode", "merged", "--boost", "1.5", "--as-of", "2024-03-20"],
                 ["--collection", "plain", "--k", "3", "--as-of", "2024-06-01"]):
        text = subprocess.run([bin, "query", *args, "--vector", json.dumps(q), "--json", "--db", db], check=True,
                              capture_output=True, text=True).stdout
        results = json.loads(text)["results"]
        cases.append({"vector": q, "args": args, "results": [{"id": r["id"], "engine_id": r["engine_id"], "similarity": r["similarity"],
                                                             "score": r["score"], "layer": r["layer"]} for r in results]})
pending = json.loads(subprocess.run([bin, "pending", "--collection", "trader", "--json", "--db", db], check=True,
                                    capture_output=True, text=True).stdout)["pending"]
json.dump({"made_by": "hindsight at commit e6bf662", "cases": cases, "pending": sorted(p["id"] for p in pending)},
          open(out, "w"), indent=1, ensure_ascii=False)
PY
echo "fixture written to $here"
