#!/usr/bin/env python3
"""Hindsight and its peers on one dataset, in one sitting.

Runs, one after the other on the same machine:
  1. `hindsight bench` (release build) over DATA/{base,queries,gt}.npy at a sweep of ef;
  2. ../shared/bench/peers.py on the same files (hnswlib, FAISS HNSW, USearch, ChromaDB, numpy),
     one query per Python call, with the indexes kept;
  3. hnswlib's batch figure: knn_query on all queries at once with one thread (the C++ loop,
     free of the per-call Python cost the peers pay);
  4. --repeats more runs of Hindsight (reusing its index) and hnswlib's batch loop back to back,
     so that both see the same phases of a shared machine; medians are reported;
  5. --interleaved rounds in which the two are timed pass by pass, back to back at each ef: the
     median of the per-round ratios is the comparison least disturbed by the machine (OUT/interleaved.md);
then prints, for recall@10 >= 0.90, 0.95 and 0.99, each engine's best QPS and its ratio to
hnswlib (per call and batch), writes OUT/summary.md and OUT/summary.json, and draws
OUT/recall-qps.svg with Benchmarks/plot.py.

Peers need a virtualenv (see ../shared/bench/README.md):
  python3 -m venv .venv-bench && .venv-bench/bin/pip install numpy faiss-cpu usearch chromadb
  .venv-bench/bin/pip install pybind11 setuptools && \
      .venv-bench/bin/pip install --no-binary hnswlib --no-build-isolation hnswlib
The second line compiles hnswlib's C++ core from its source on this machine (its setup.py adds
-O3 -march=native, so its AVX-512 distance is used), rather than taking the generic pip wheel.
--walk f32 benchmarks Hindsight's float32 walk (an index of its own in WORK; the default is int8).

.venv-bench/bin/python Benchmarks/compare.py --data ../shared/data/debian-minilm --out bench-out/debian-minilm
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_EFS = [10, 16, 24, 32, 48, 64, 96, 128, 256]
THRESHOLDS = (0.90, 0.95, 0.99)


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def hindsight(a, efs, reuse=False, out_name="hindsight.json"):
    if not a.no_build and not reuse:
        run(["swift", "build", "-c", "release", "--product", "hindsight"], cwd=ROOT)
    exe = os.path.join(ROOT, ".build", "release", "hindsight")
    out = os.path.join(a.out, out_name)
    run([exe, "bench", "--base", f"{a.data}/base.npy", "--queries", f"{a.data}/queries.npy", "--gt", f"{a.data}/gt.npy",
         "--k", "10", "--m", "16", "--ef-construction", "200", "--ef", ",".join(map(str, efs)),
         "--index", hindsight_index(a), "--walk", a.walk, "--batch", str(a.batch), "--threads", str(a.threads),
         "--passes", str(a.passes), "--build-threads", str(a.build_threads), "--json", out] + (["--reuse"] if reuse else []))
    with open(out) as f:
        return json.load(f)


def hindsight_index(a):
    """Hindsight's index in WORK: one per walk precision (the same seed builds the same graph)."""
    return os.path.join(a.work, "hindsight" if a.walk == "f32" else f"hindsight-{a.walk}")


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def merge_repeats(first, repeats, key="qps"):
    """`first` with each run's QPS replaced by the median over `first` and `repeats` (same efs),
    keeping every sample under `<key>_samples`."""
    merged = json.loads(json.dumps(first))
    for i, run_ in enumerate(merged["runs"]):
        samples = [run_[key]] + [r["runs"][i][key] for r in repeats]
        run_[key + "_samples"] = samples
        run_[key] = median(samples)
    return merged


def peers(a, efs):
    run([sys.executable, a.peers_script, "--data", a.data, "--work", a.work, "--out", a.out, "--peers", a.peers,
         "--efs", ",".join(map(str, efs)), "--keep", "--time-limit", str(a.time_limit)])
    results = {}
    for peer in a.peers.split(","):
        path = os.path.join(a.out, f"{peer}.json")
        if os.path.exists(path):
            with open(path) as f:
                results[peer] = json.load(f)
    return results


def hnswlib_batch(a, efs, out_name="hnswlib-batch.json"):
    """knn_query over all queries at once, one thread: hnswlib's C++ search loop."""
    import hnswlib
    import numpy as np
    queries = np.ascontiguousarray(np.load(f"{a.data}/queries.npy"), dtype=np.float32)
    gt = np.load(f"{a.data}/gt.npy")[:, :10]
    dim = queries.shape[1]
    n = np.load(f"{a.data}/base.npy", mmap_mode="r").shape[0]
    index = hnswlib.Index(space="ip", dim=dim)
    index.load_index(os.path.join(a.work, "hnswlib", "index.bin"), max_elements=n)
    index.set_num_threads(1)
    runs = []
    for ef in efs:
        index.set_ef(ef)
        index.knn_query(queries[:50], k=10, num_threads=1)  # warm-up
        best = None
        for _ in range(3):
            t0 = time.perf_counter()
            labels, _ = index.knn_query(queries, k=10, num_threads=1)
            wall = time.perf_counter() - t0
            best = wall if best is None else min(best, wall)
        recall = float(np.mean([len(set(labels[i]) & set(gt[i])) / 10 for i in range(len(queries))]))
        runs.append(dict(ef=ef, recall=recall, qps=len(queries) / best))
        print(f"    hnswlib batch ef={ef}: recall@10 {recall:.4f}  QPS {len(queries) / best:.0f}", flush=True)
    result = dict(engine="hnswlib-batch", dataset=os.path.basename(os.path.normpath(a.data)), runs=runs)
    with open(os.path.join(a.out, out_name), "w") as f:
        json.dump(result, f, indent=2)
    return result


def qps_at_recall(points, target):
    """QPS where a recall-QPS curve crosses `target`: log QPS interpolated linearly in recall
    between the two points around it; None when the curve never reaches it."""
    points = sorted(points)
    for (r0, q0), (r1, q1) in zip(points, points[1:]):
        if r0 <= target <= r1:
            if r1 == r0:
                return max(q0, q1)
            w = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) * (1 - w) + math.log(q1) * w)
    if points and points[0][0] >= target:
        return max(q for r, q in points)
    return None


def best(points, threshold):
    ok = [p for p in points if p[0] >= threshold]
    return max(ok, key=lambda p: p[1]) if ok else None


def interleaved(a, efs, hs, batch):
    """Hindsight and hnswlib's batch loop pass by pass: for each round and ef, one timed pass of
    every query through each engine back to back (the order swapping each round), Hindsight served
    by `hindsight bench-passes` in a child process. Both engines are measured within the same
    second, so the ratio of the two is robust to a shared machine's slow phases; per ef we report
    the median of the per-round ratios (OUT/interleaved.md, OUT/interleaved.json)."""
    import hnswlib
    import numpy as np
    queries = np.ascontiguousarray(np.load(f"{a.data}/queries.npy"), dtype=np.float32)
    n = np.load(f"{a.data}/base.npy", mmap_mode="r").shape[0]
    index = hnswlib.Index(space="ip", dim=queries.shape[1])
    index.load_index(os.path.join(a.work, "hnswlib", "index.bin"), max_elements=n)
    index.set_num_threads(1)
    exe = os.path.join(ROOT, ".build", "release", "hindsight")
    child = subprocess.Popen([exe, "bench-passes", "--index", hindsight_index(a),
                              "--queries", f"{a.data}/queries.npy", "--k", "10"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if child.stdout.readline().strip() != "ready":
        raise SystemExit("hindsight bench-passes did not start")

    def hindsight_pass(ef):
        child.stdin.write(f"{ef}\n")
        child.stdin.flush()
        return float(child.stdout.readline())

    def hnswlib_pass(ef):
        index.set_ef(ef)
        t0 = time.perf_counter()
        index.knn_query(queries, k=10, num_threads=1)
        return time.perf_counter() - t0

    for ef in efs:  # warm both
        hindsight_pass(ef), hnswlib_pass(ef)
    seconds = {ef: ([], []) for ef in efs}
    for round_ in range(a.interleaved):
        for ef in efs:
            first, second = (hindsight_pass, hnswlib_pass) if round_ % 2 == 0 else (hnswlib_pass, hindsight_pass)
            t_first, t_second = first(ef), second(ef)
            h, b = (t_first, t_second) if round_ % 2 == 0 else (t_second, t_first)
            seconds[ef][0].append(h)
            seconds[ef][1].append(b)
        print(f"    interleaved round {round_ + 1}/{a.interleaved}", flush=True)
    child.stdin.close()
    child.wait()
    recall_h = {r["ef"]: r["recall"] for r in hs["runs"]}
    recall_b = {r["ef"]: r["recall"] for r in batch["runs"]}
    lines = [f"### {os.path.basename(os.path.normpath(a.data))}: Hindsight vs hnswlib batch, interleaved pass by pass", "",
             f"{a.interleaved} rounds; each round times one pass of all {len(queries)} queries per engine per ef, back to back.", "",
             "| ef | recall Hindsight | recall hnswlib | QPS Hindsight (median) | QPS hnswlib (median) | ratio, median of rounds | middle half of ratios |",
             "|---:|---:|---:|---:|---:|---:|---|"]
    table = []
    count = len(queries)
    for ef in efs:
        h, b = seconds[ef]
        ratios = sorted(tb / th for th, tb in zip(h, b))
        quarter = len(ratios) // 4
        row = dict(ef=ef, recall=recall_h.get(ef), recall_hnswlib=recall_b.get(ef), qps=count / median(h),
                   qps_hnswlib=count / median(b), ratio=median(ratios), ratios=ratios)
        table.append(row)
        lines.append(f"| {ef} | {row['recall']:.4f} | {row['recall_hnswlib']:.4f} | {row['qps']:,.0f} | {row['qps_hnswlib']:,.0f} | "
                     f"{row['ratio']:.2f}× | {ratios[quarter]:.2f}× – {ratios[-1 - quarter]:.2f}× |")
    # At each recall floor: each engine's fastest ef that reaches it (its interleaved median QPS),
    # and both curves interpolated to exactly the floor, since one ef step is a coarse unit.
    lines += ["", "| recall@10 floor | Hindsight ef / QPS | hnswlib ef / QPS | ratio | ratio at exactly the floor (interpolated) |",
              "|---:|---|---|---:|---:|"]
    floors = []
    for t in THRESHOLDS:
        h = best([(r["recall"], r["qps"], r["ef"]) for r in table], t)
        b = best([(r["recall_hnswlib"], r["qps_hnswlib"], r["ef"]) for r in table], t)
        hi = qps_at_recall([(r["recall"], r["qps"]) for r in table], t)
        bi = qps_at_recall([(r["recall_hnswlib"], r["qps_hnswlib"]) for r in table], t)
        floors.append(dict(floor=t, hindsight=h, hnswlib=b, ratio=h[1] / b[1] if h and b else None,
                           interpolated_ratio=hi / bi if hi and bi else None))
        cell = lambda p: f"{p[2]} / {p[1]:,.0f}" if p else "–"
        lines.append(f"| {t:.2f} | {cell(h)} | {cell(b)} | " + (f"{h[1] / b[1]:.2f}×" if h and b else "–") + " | "
                     + (f"{hi / bi:.2f}×" if hi and bi else "–") + " |")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(os.path.join(a.out, "interleaved-floors.json"), "w") as f:
        json.dump(floors, f, indent=2)
    with open(os.path.join(a.out, "interleaved.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "interleaved.json"), "w") as f:
        json.dump(table, f, indent=2)


def summarize(a, hs, peer_results, batch):
    engines = {"hindsight": [(r["recall"], r["qps"], r["ef"]) for r in hs["runs"]]}
    if batch:
        engines["hnswlib (batch)"] = [(r["recall"], r["qps"], r["ef"]) for r in batch["runs"]]
    for name, r in peer_results.items():
        sweep = r.get("query", {}).get("sweep", [])
        if name == "numpy":
            if sweep:
                engines["numpy (exact)"] = [(1.0, sweep[0]["qps"], "-")]
            continue
        engines[f"{name} (per call)"] = [(s["recall10"], s["qps"], s["ef"]) for s in sweep]
    reference = engines.get("hnswlib (per call)")
    reference_batch = engines.get("hnswlib (batch)")
    lines = [f"### {os.path.basename(os.path.normpath(a.data))}: best single-thread QPS at a recall@10 floor", "",
             "| engine | " + " | ".join(f"≥ {t:.2f}: ef / recall / QPS" for t in THRESHOLDS) +
             " | × hnswlib per call (0.90 / 0.95 / 0.99) | × hnswlib batch (0.90 / 0.95 / 0.99) |",
             "|---|" + "---|" * (len(THRESHOLDS) + 2)]
    summary = {}
    for name, points in engines.items():
        cells, ratios, batch_ratios = [], [], []
        summary[name] = {}
        for t in THRESHOLDS:
            p = best(points, t)
            summary[name][str(t)] = dict(ef=p[2], recall=p[0], qps=p[1]) if p else None
            cells.append(f"{p[2]} / {p[0]:.4f} / {p[1]:,.0f}" if p else "–")
            for ref, out in ((reference, ratios), (reference_batch, batch_ratios)):
                rp = best(ref, t) if ref else None
                out.append(f"{p[1] / rp[1]:.2f}×" if p and rp else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {' / '.join(ratios)} | {' / '.join(batch_ratios)} |")
    build = [f"| hindsight | {hs.get('build_s') or float('nan'):.1f} | {hs.get('vectors_per_s') or float('nan'):.0f} | "
             f"{hs['disk_bytes'] / 1e6:.1f} | {(hs.get('open_s') or float('nan')) * 1e3:.2f} | {(hs.get('first_query_s') or float('nan')) * 1e3:.2f} |"]
    for name, r in peer_results.items():
        b, q = r.get("build", {}), r.get("query", {})
        if b.get("status") != "ok":
            continue
        build.append(f"| {name} | {b['build_s']:.1f} | {b['vectors_per_s']:.0f} | {b['disk_bytes'] / 1e6:.1f} | "
                     f"{q.get('open_s', float('nan')) * 1e3:.2f} | {q.get('first_query_s', float('nan')) * 1e3:.2f} |")
    lines += ["", "| engine | build s | vectors/s | disk MB | open ms | first query ms |", "|---|---|---|---|---|---|"] + build
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with base.npy, queries.npy, gt.npy")
    ap.add_argument("--out", required=True, help="results folder")
    ap.add_argument("--work", help="scratch folder for the indexes (default OUT/indexes)")
    ap.add_argument("--peers-script", default=os.path.join(ROOT, "..", "shared", "bench", "peers.py"))
    ap.add_argument("--peers", default="hnswlib,faiss,usearch,chromadb,numpy")
    ap.add_argument("--walk", default="int8", help="Hindsight's walk precision: int8 (the default) or f32 (hindsight bench --walk)")
    ap.add_argument("--efs", default=",".join(map(str, DEFAULT_EFS)))
    ap.add_argument("--batch", type=int, default=1000, help="vectors per Hindsight write transaction")
    ap.add_argument("--threads", type=int, default=2, help="threads for Hindsight's extra multi-threaded figure")
    ap.add_argument("--time-limit", type=float, default=540.0)
    ap.add_argument("--no-build", action="store_true", help="use the existing release build of hindsight")
    ap.add_argument("--skip-peers", action="store_true", help="reuse the peers' JSON already in OUT")
    ap.add_argument("--reuse", action="store_true", help="reuse Hindsight's index in WORK (no build figures)")
    ap.add_argument("--build-threads", type=int, default=1,
                    help="threads for Hindsight's batch-parallel build (1: serial, as the peers build)")
    ap.add_argument("--interleaved", type=int, default=15,
                    help="rounds of Hindsight and hnswlib batch passes interleaved ef by ef (0: none)")
    ap.add_argument("--passes", type=int, default=3,
                    help="timed passes over the queries per ef for Hindsight (best kept, as for hnswlib batch)")
    ap.add_argument("--repeats", type=int, default=5,
                    help="alternating runs of Hindsight and hnswlib's batch loop; medians are reported")
    a = ap.parse_args()
    a.data = os.path.abspath(a.data)
    a.out = os.path.abspath(a.out)
    a.work = os.path.abspath(a.work or os.path.join(a.out, "indexes"))
    os.makedirs(a.out, exist_ok=True)
    efs = [int(x) for x in a.efs.split(",") if x]
    hs = hindsight(a, efs, reuse=a.reuse)
    if a.skip_peers:
        peer_results = {}
        for peer in a.peers.split(","):
            path = os.path.join(a.out, f"{peer}.json")
            if os.path.exists(path):
                with open(path) as f:
                    peer_results[peer] = json.load(f)
    else:
        peer_results = peers(a, efs)
    batch = hnswlib_batch(a, efs) if os.path.exists(os.path.join(a.work, "hnswlib", "index.bin")) else None
    if a.repeats > 1:
        # Shared machines slow down in phases: alternate the two engines and keep medians.
        hs_more, batch_more = [], []
        for i in range(1, a.repeats):
            for engine in (("hindsight", "batch") if i % 2 else ("batch", "hindsight")):
                if engine == "hindsight":
                    hs_more.append(hindsight(a, efs, reuse=True, out_name=f"hindsight-repeat{i}.json"))
                elif batch:
                    batch_more.append(hnswlib_batch(a, efs, out_name=f"hnswlib-batch-repeat{i}.json"))
        hs = merge_repeats(hs, hs_more)
        hs["qps_note"] = f"median of {a.repeats} alternating runs"
        with open(os.path.join(a.out, "hindsight.json"), "w") as f:
            json.dump(hs, f, indent=2)
        if batch:
            batch = merge_repeats(batch, batch_more)
            with open(os.path.join(a.out, "hnswlib-batch.json"), "w") as f:
                json.dump(batch, f, indent=2)
    if batch and a.interleaved > 0:
        interleaved(a, efs, hs, batch)
    summarize(a, hs, peer_results, batch)
    files = [os.path.join(a.out, f) for f in ["hindsight.json", "hnswlib-batch.json"] + [f"{p}.json" for p in peer_results]]
    run([sys.executable, os.path.join(HERE, "plot.py"), "--out", os.path.join(a.out, "recall-qps.svg"),
         "--title", f"{os.path.basename(os.path.normpath(a.data))}: recall@10 vs QPS (one thread)"] +
        [f for f in files if os.path.exists(f)])


if __name__ == "__main__":
    main()
