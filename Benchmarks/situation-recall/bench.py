"""Situation recall on TradingAgents-shaped situations (see situations.py): for queries that are fresh
renderings of a state, the share of the top 5 that has the query's news event, and the share of the
memories with the query's whole state (same language) found in the top 5, English and Chinese apart,
for each retrieval: dense vectors of the truncated text, dense vectors of windows (averaged), lexical
(BM25) and hybrid (both fused by reciprocal rank). Also ingest rate and query latency (embedding
included) for these 10-20 kB situations. One run; the machine is shared, so quote medians.

    python3 Benchmarks/situation-recall/bench.py --bin .build/release/hindsight --model-dir models/all-MiniLM-L6-v2
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import situations  # noqa: E402


def call(url, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"null")


def serve(binary, model_dir, long_text, directory, precision="f32"):
    process = subprocess.Popen([binary, "serve", "--db", os.path.join(directory, long_text), "--port", "0", "--embedder", "local",
                                "--model-dir", model_dir, "--long-text", long_text, "--precision", precision],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not match:
        process.kill()
        raise SystemExit("hindsight serve did not start: %r %s" % (line, process.stderr.read()))
    return process, "http://127.0.0.1:%s" % match.group(1)


# Fusions of the hybrid rows: (label, the collection's lexical settings).
FUSIONS = [("rrf_k 60, dense weight 1", {"rrf_k": 60, "dense_weight": 1}),
           ("rrf_k 60, dense weight 0.25", {"rrf_k": 60, "dense_weight": 0.25}),
           ("rrf_k 60, dense weight 0.1", {"rrf_k": 60, "dense_weight": 0.1})]


def ingest(url, name, memories, lexical):
    info = call(url, "GET", "/v1/embedder")
    call(url, "PUT", "/v1/collections/" + name, {"dimension": info["dimension"], "embedding_model": info["model"], "lexical": lexical})
    started = time.perf_counter()
    for start in range(0, len(memories), 16):
        batch = [{"id": str(i), "ticker": m["ticker"], "time": "2025-01-01", "situation": m["text"], "reflection": "lesson %d" % i}
                 for i, m in enumerate(memories[start:start + 16], start)]
        call(url, "POST", "/v1/collections/%s/memories" % name, {"memories": batch})
    return len(memories) / (time.perf_counter() - started)


def measure(url, memories, queries, retrievals, k=5, collection="bench"):
    rows = {}
    for retrieval in retrievals:
        per_language = {"en": {"event": [], "state": [], "ms": []}, "zh": {"event": [], "state": [], "ms": []}}
        for number, query in enumerate(queries):
            # A unique last word defeats the server's embedding cache, so the time includes embedding;
            # it is in no memory (no lexical effect) and past the model's first 256 pieces (no dense effect).
            text = query["text"] + "\n\nzq%s%s%d" % (collection, retrieval, number)
            started = time.perf_counter()
            results = call(url, "POST", "/v1/collections/%s/query" % collection, {"texts": [text], "k": k, "retrieval": retrieval})["results"][0]
            elapsed = (time.perf_counter() - started) * 1000
            found = [memories[int(r["caller_id"])] for r in results]
            same_state = [m for m in memories if m["state"] == query["state"] and m["language"] == query["language"]]
            stats = per_language[query["language"]]
            stats["event"].append(sum(m["state"][2] == query["state"][2] for m in found) / k)
            stats["state"].append(sum(m["state"] == query["state"] and m["language"] == query["language"] for m in found)
                                  / min(k, len(same_state)))
            stats["ms"].append(elapsed)
        rows[retrieval] = per_language
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", default=".build/release/hindsight")
    parser.add_argument("--model-dir", default="models/all-MiniLM-L6-v2")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--states", type=int, default=96)
    parser.add_argument("--queries", type=int, default=48)
    parser.add_argument("--windows", action=argparse.BooleanOptionalAction, default=True, help="also embed by windows (slow: every window of every situation)")
    parser.add_argument("--precision", default="f32", help="the embedder's precision (serve --precision): f32 or int8")
    args = parser.parse_args()
    memories, queries = situations.corpus(seed=args.seed, states=args.states, queries=args.queries)
    sizes = [len(m["text"].encode()) for m in memories]
    print("corpus: %d situations (%d en, %d zh), %d-%d bytes (median %d); %d queries (%d en, %d zh)" % (
        len(memories), sum(m["language"] == "en" for m in memories), sum(m["language"] == "zh" for m in memories),
        min(sizes), max(sizes), statistics.median(sizes), len(queries), sum(q["language"] == "en" for q in queries),
        sum(q["language"] == "zh" for q in queries)))
    table = []
    with tempfile.TemporaryDirectory() as directory:
        for long_text, retrievals in (("truncate", ["dense", "lexical", "hybrid"]), ("windows", ["dense"]))[:2 if args.windows else 1]:
            process, url = serve(args.bin, args.model_dir, long_text, directory, args.precision)
            try:
                rate = ingest(url, "bench", memories, {"rrf_k": 10, "dense_weight": 0.25})
                print("%s: ingest %.1f situations/s (embedding and lexical index included)" % (long_text, rate))
                for retrieval, per_language in measure(url, memories, queries, retrievals).items():
                    label = {"dense": "dense (%s)" % long_text, "lexical": "lexical",
                             "hybrid": "hybrid (%s, rrf_k 10, dense weight 0.25: the default)" % long_text}[retrieval]
                    table.append((label, per_language))
                if long_text == "truncate":
                    for index, (label, lexical) in enumerate(FUSIONS):
                        ingest(url, "fusion%d" % index, memories, lexical)  # the embeddings come from the server's cache
                        table.append(("hybrid (truncate, %s)" % label,
                                      measure(url, memories, queries, ["hybrid"], collection="fusion%d" % index)["hybrid"]))
            finally:
                process.terminate()
                process.wait(30)
    print()
    print("| retrieval | news event in top 5, en / zh | whole state found in top 5, en / zh | query p50 ms, embedding included |")
    print("|---|---|---|---|")
    for label, per_language in table:
        en, zh = per_language["en"], per_language["zh"]
        print("| %s | %.2f / %.2f | %.2f / %.2f | %.0f |" % (label, statistics.mean(en["event"]), statistics.mean(zh["event"]),
                                                           statistics.mean(en["state"]), statistics.mean(zh["state"]),
                                                           statistics.median(en["ms"] + zh["ms"])))
    print("\nchance for the news event: %.2f" % (1 / len(situations.EVENTS)))


if __name__ == "__main__":
    main()
