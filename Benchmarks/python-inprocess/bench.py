"""Recall latency from Python: Hindsight in-process (the C API through ctypes), Hindsight over HTTP
(`hindsight serve` on a copy of the same data), and Chroma's PersistentClient, on the same memories
and queries in one sitting, interleaved round by round; then several Python processes querying one
in-process database at once.

Memories are real 384-d all-MiniLM-L6-v2 embeddings (debian-minilm, ../shared/data) with a
~4 kB situation text each; queries are that set's query vectors. Each system answers the way
TradingAgents' memory asks — the k nearest situations with their documents and metadata — with the
vectors precomputed, so embedding cost is left out (it is the same model either way). For Hindsight
the call is FinancialSituationMemory.get_memories (text in, a callable embedder that looks the
vector up), for Chroma collection.query(query_embeddings=…, include=documents/metadatas/distances),
as TradingAgents v0.1 does.

    python Benchmarks/python-inprocess/bench.py --data ../shared/data/debian-minilm \
        --library .build-wheel/release/libHindsightC.so --bin .build-wheel/release/hindsight

needs numpy and chromadb (pip) and hindsight_memory (pip install -e clients/python).
"""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy


def situation_text(i):
    words = ("market report: trend up, RSI 61, MACD above signal; sentiment mixed; news: buyback; "
             "fundamentals: P/E 24, margins stable. ")
    return ("Situation %d. " % i) + words * 36  # ~4 kB


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(call, queries):
    latencies = []
    for query in queries:
        start = time.perf_counter()
        call(query)
        latencies.append(time.perf_counter() - start)
    return latencies


def serve(binary, directory):
    process = subprocess.Popen([binary, "serve", "--db", directory, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    match = re.search(r"http://127\.0\.0\.1:(\d+)", process.stdout.readline())
    if not match:
        process.kill()
        raise SystemExit("hindsight serve did not start: %s" % process.stderr.read())
    return process, "http://127.0.0.1:%s" % match.group(1)


def worker(path, vectors, count, k, start_at, out):
    from hindsight_memory import FinancialSituationMemory

    lookup = {"q%d" % i: list(map(float, v)) for i, v in enumerate(vectors)}
    memory = FinancialSituationMemory("bench", {"path": path, "embedding": lambda text: lookup[text], "strict": True})
    memory.get_memories("q0", n_matches=k)  # open and warm
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    for i in range(count):
        memory.get_memories("q%d" % (i % len(vectors)), n_matches=k)
    out.put(time.perf_counter() - begin)


def scaling(path, queries, processes, count, k):
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 3.0 + processes  # spawned interpreters import and open first
    workers = [context.Process(target=worker, args=(path, queries, count, k, start_at, out)) for _ in range(processes)]
    for process in workers:
        process.start()
    seconds = [out.get(timeout=600) for _ in workers]
    for process in workers:
        process.join()
    return processes * count / max(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--library", help="libHindsightC.so to load (sets HINDSIGHT_LIBRARY)")
    parser.add_argument("--bin", required=True, help="the hindsight command (for the HTTP server)")
    parser.add_argument("--memories", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--scaling-queries", type=int, default=1500)
    args = parser.parse_args()
    if args.library:
        os.environ["HINDSIGHT_LIBRARY"] = os.path.abspath(args.library)
    import chromadb
    from hindsight_memory import FinancialSituationMemory, HindsightClient, connect

    base = numpy.load(os.path.join(args.data, "base.npy"))[: args.memories].astype(numpy.float32)
    queries = numpy.load(os.path.join(args.data, "queries.npy"))[: args.queries].astype(numpy.float32)
    work = tempfile.mkdtemp(prefix="hindsight-pybench-")
    path = os.path.join(work, "hindsight")
    print("memories %d x %d, queries %d, k %d, rounds %d" % (base.shape[0], base.shape[1], len(queries), args.k, args.rounds))

    # Load the same memories into Hindsight (in-process) and Chroma.
    records = [{"id": "m%d" % i, "situation": situation_text(i), "reflection": "lesson %d" % i, "time": 1.7e9 + i,
                "vector": list(map(float, v))} for i, v in enumerate(base)]
    client = connect(path, embedder="none")
    client.get_or_create_collection("bench", base.shape[1])
    started = time.perf_counter()
    for offset in range(0, len(records), 1000):
        client.add("bench", records[offset: offset + 1000])
    hindsight_ingest = time.perf_counter() - started
    chroma = chromadb.PersistentClient(path=os.path.join(work, "chroma"))
    collection = chroma.create_collection("bench", embedding_function=None, metadata={"hnsw:space": "cosine"})
    started = time.perf_counter()
    for offset in range(0, len(records), 1000):
        part = records[offset: offset + 1000]
        collection.add(ids=[r["id"] for r in part], documents=[r["situation"] for r in part],
                       metadatas=[{"recommendation": r["reflection"]} for r in part], embeddings=base[offset: offset + 1000])
    chroma_ingest = time.perf_counter() - started
    print("ingest: hindsight in-process %.1f s, chroma %.1f s" % (hindsight_ingest, chroma_ingest))

    # The HTTP server reads a copy (one process per directory may not be both).
    client.close()
    shutil.copytree(path, path + "-http")
    os.remove(os.path.join(path + "-http", "hindsight.lock")) if os.path.exists(os.path.join(path + "-http", "hindsight.lock")) else None
    server, url = serve(args.bin, path + "-http")
    try:
        lookup = {"q%d" % i: list(map(float, v)) for i, v in enumerate(queries)}
        embedding = lambda text: lookup[text]  # noqa: E731
        local = FinancialSituationMemory("bench", {"path": path, "embedding": embedding, "strict": True})
        remote = FinancialSituationMemory("bench", {"server_url": url, "embedding": embedding, "strict": True})
        names = ["q%d" % i for i in range(len(queries))]
        systems = {
            "hindsight in-process": lambda q: local.get_memories(q, n_matches=args.k),
            "hindsight HTTP": lambda q: remote.get_memories(q, n_matches=args.k),
            "chroma PersistentClient": lambda q: collection.query(query_embeddings=[lookup[q]], n_results=args.k,
                                                                  include=["metadatas", "documents", "distances"]),
        }
        # Same answers? (ids of the top k; HNSW on both sides, so nearly always.)
        agree = statistics.mean(
            len({m["situation"].split(".")[0] for m in local.get_memories(q, n_matches=args.k)} &
                {d.split(".")[0] for d in collection.query(query_embeddings=[lookup[q]], n_results=args.k)["documents"][0]}) / args.k
            for q in names[:100])
        for call in systems.values():
            timed(call, names[:50])  # warm
        p50 = {name: [] for name in systems}
        p99 = {name: [] for name in systems}
        for _ in range(args.rounds):
            for name, call in systems.items():
                latencies = timed(call, names)
                p50[name].append(percentile(latencies, 0.5))
                p99[name].append(percentile(latencies, 0.99))
        print("top-%d agreement hindsight vs chroma: %.3f" % (args.k, agree))
        chroma_p50 = statistics.median(p50["chroma PersistentClient"])
        print("| system | p50 ms | p99 ms | p50 / chroma's |")
        print("|---|---|---|---|")
        for name in systems:
            median = statistics.median(p50[name])
            print("| %s | %.3f | %.3f | %.2f |" % (name, median * 1e3, statistics.median(p99[name]) * 1e3, median / chroma_p50))
    finally:
        server.terminate()
        server.wait(timeout=30)
    local.client.close()

    one = [scaling(path, queries, 1, args.scaling_queries, args.k) for _ in range(2)]
    four = [scaling(path, queries, 4, args.scaling_queries, args.k) for _ in range(2)]
    print("in-process QPS, one process %.0f, four processes on one database %.0f: %.2fx (%d cores)"
          % (max(one), max(four), max(four) / max(one), os.cpu_count()))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
