#!/usr/bin/env python3
"""Queries per second and latency of `hindsight serve` under several concurrent clients (wrk).

Loads N memories (rows of DATA/base.npy, 50 tickers, one year of dates) into a fresh database with
`hindsight add`, starts the release server on a free loopback port, and drives
`POST /v1/collections/bench/query` with wrk (Debian package `wrk`), cycling through the query
vectors of DATA/queries.npy, k=5, ticker_then_global with a ticker, as of 2025-01-01 and (by
default) a 90-day half-life, at several connection counts. Prints a markdown table.

.venv-bench/bin/python Benchmarks/http_load.py --data ../shared/data/debian-minilm --memories 10000
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LUA = r"""
local bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  local body = bodies[(counter %% #bodies) + 1]
  return wrk.format("POST", "/v1/collections/bench/query", {["Content-Type"] = "application/json"}, body)
end
"""


def parse_wrk(text):
    out = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(match.group(1)) if match else float("nan")
    for pct in ("50", "90", "99"):
        match = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % pct, text)
        if match:
            value = float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            out["p" + pct] = value
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["errors"] = int(match.group(1)) if match else 0
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--memories", type=int, default=10000)
    ap.add_argument("--connections", default="1,4,16")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--perf", help="record a perf profile of the server into this file during the first run")
    ap.add_argument("--decay", default="90d", help="half-life of the queries' decay, or 'none' for similarity only")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    if not a.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "hindsight"], cwd=ROOT, check=True)
    exe = os.path.join(ROOT, ".build", "release", "hindsight")
    base = np.load(os.path.join(a.data, "base.npy"), mmap_mode="r")[: a.memories]
    queries = np.load(os.path.join(a.data, "queries.npy"))
    work = tempfile.mkdtemp(prefix="hindsight-http-")
    try:
        db = os.path.join(work, "db")
        subprocess.run([exe, "collection", "create", "bench", "--dim", str(base.shape[1]), "--db", db], check=True, stdout=subprocess.DEVNULL)
        start = 1704067200
        with open(os.path.join(work, "memories.jsonl"), "w") as f:
            for i, row in enumerate(base):
                f.write(json.dumps({"id": "m%d" % i, "ticker": "T%d" % (i % 50), "time": start + (i * 3153) % 31536000,
                                    "situation": "situation %d" % i, "reflection": "lesson %d" % i, "action": "BUY",
                                    "vector": [round(float(x), 6) for x in row]}) + "\n")
        t0 = time.perf_counter()
        subprocess.run([exe, "add", "--collection", "bench", "--jsonl", os.path.join(work, "memories.jsonl"), "--db", db],
                       check=True, stdout=subprocess.DEVNULL)
        print("loaded %d memories in %.1f s" % (len(base), time.perf_counter() - t0))
        bodies = os.path.join(work, "bodies.jsonl")
        with open(bodies, "w") as f:
            for i, q in enumerate(queries):
                body = {"vectors": [[round(float(x), 6) for x in q]], "k": 5, "ticker": "T%d" % (i % 50), "as_of": "2025-01-01"}
                if a.decay != "none":
                    body["decay"] = {"half_life": a.decay}
                f.write(json.dumps(body) + "\n")
        with open(os.path.join(work, "query.lua"), "w") as f:
            f.write(LUA % bodies)
        server = subprocess.Popen([exe, "serve", "--db", db, "--port", "0"], stdout=subprocess.PIPE, text=True)
        url = re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline()).group(0)
        rows = []
        profiler = None
        if a.perf:
            profiler = subprocess.Popen(["perf", "record", "-g", "-o", a.perf, "-p", str(server.pid)], stderr=subprocess.DEVNULL)
        try:
            for connections in [int(c) for c in a.connections.split(",")]:
                out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", "%ds" % a.duration,
                                      "--latency", "-s", os.path.join(work, "query.lua"), url],
                                     capture_output=True, text=True, check=True).stdout
                if profiler:
                    profiler.send_signal(2)
                    profiler.wait()
                    profiler = None
                result = parse_wrk(out)
                result["connections"] = connections
                rows.append(result)
                print("  %2d connections: %.0f queries/s, p50 %.2f ms, p99 %.2f ms, %d errors" %
                      (connections, result["rps"], result.get("p50", float("nan")), result.get("p99", float("nan")), result["errors"]))
        finally:
            server.terminate()
            server.wait(timeout=30)
        print()
        print("| connections | queries/s | p50 ms | p90 ms | p99 ms | errors |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print("| %d | %.0f | %.2f | %.2f | %.2f | %d |" % (r["connections"], r["rps"], r.get("p50", float("nan")),
                                                            r.get("p90", float("nan")), r.get("p99", float("nan")), r["errors"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
