"""What scoring with credit costs a recall: the same queries with and without the collection's
credit factor, interleaved round by round in one sitting, in process (the C API through ctypes).

A collection of real 384-d all-MiniLM-L6-v2 embeddings (debian-minilm, ../shared/data) with a
credit setting; `--decisions` back-test decisions each recall 5 memories with their decision id and
are credited, so that many memories carry credit events. Then each query runs twice per round,
`credit` on and `credit: false`, dense retrieval, k = 5, with and without a strong decay (a
30-day half-life over memories spread across two years: the walk rarely settles and the exact
pass ranks the layer, the path where credit is read for the most candidates).

    python Benchmarks/credit/bench.py --data ../shared/data/debian-minilm \
        --library .build/release/libHindsightC.so

needs numpy and hindsight_memory (pip install -e clients/python).
"""

import argparse
import datetime
import os
import shutil
import statistics
import tempfile
import time

import numpy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--library", help="libHindsightC.so to load (sets HINDSIGHT_LIBRARY)")
    parser.add_argument("--memories", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.library:
        os.environ["HINDSIGHT_LIBRARY"] = os.path.abspath(args.library)
    import hindsight_memory

    base = numpy.load(os.path.join(args.data, "base.npy"))[: args.memories].astype(numpy.float32)
    queries = numpy.load(os.path.join(args.data, "queries.npy"))[: args.queries].astype(numpy.float32)
    directory = tempfile.mkdtemp(prefix="hindsight-credit-")
    try:
        client = hindsight_memory.connect(os.path.join(directory, "db"), embedder="none")
        client.get_or_create_collection("lessons", base.shape[1], credit={"beta": 0.2, "scale": 0.05})
        start = datetime.datetime(2022, 1, 1, tzinfo=datetime.timezone.utc)
        for offset in range(0, len(base), 1000):
            client.add("lessons", [{"situation": "s%d" % i, "reflection": "r%d" % i, "action": "BUY",
                                    "time": (start + datetime.timedelta(days=(i * 7919) % 730)).isoformat(),
                                    "vector": base[i].tolist()} for i in range(offset, min(offset + 1000, len(base)))])
        rng = numpy.random.default_rng(7)
        as_of = (start + datetime.timedelta(days=760)).isoformat()
        began = time.perf_counter()
        for d in range(args.decisions):
            vector = base[rng.integers(len(base))] + rng.normal(0, 0.02, base.shape[1]).astype(numpy.float32)
            client.query("lessons", vectors=[vector.tolist()], k=5, as_of=as_of, decision_id="D%d" % d, retrieval="dense")
            client.credit_decision("D%d" % d, float(rng.normal(0, 0.03)), action="BUY", known_at=as_of)
        recorded = (time.perf_counter() - began) / args.decisions
        print("memories %d, decisions %d (5 shown each): recall with a decision id + credit %.2f ms per decision"
              % (len(base), args.decisions, recorded * 1e3))
        now = (start + datetime.timedelta(days=800)).isoformat()
        for label, decay in (("no decay", {"shape": "none"}), ("30-day half-life", {"half_life": "30d"})):
            on, off = [], []
            for _ in range(args.rounds):
                for query in queries:
                    body = dict(vectors=[query.tolist()], k=5, as_of=now, retrieval="dense", decay=decay)
                    for credit, sink in ((None, on), (False, off)):
                        began = time.perf_counter()
                        client.query("lessons", credit=credit, **body)
                        sink.append(time.perf_counter() - began)
            p50_on, p50_off = statistics.median(on), statistics.median(off)
            print("%-18s p50 credit on %.3f ms, off %.3f ms, ratio %.2f (%d queries x %d rounds)"
                  % (label, p50_on * 1e3, p50_off * 1e3, p50_on / p50_off, len(queries), args.rounds))
        client.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
