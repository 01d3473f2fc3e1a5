#!/usr/bin/env python3
"""Local embedder vs the numpy reference (../shared/bench/embed.py), same texts, same machine.

For each input length (32, 128, 256 word pieces, [CLS]/[SEP] included) it writes texts of exactly that
length, then alternates, --rounds times, a `hindsight bench-embed` process per --precisions value and the numpy reference
(texts/s embedding all texts in one call at 1 thread and at all cores; median single-text latency),
and reports medians over rounds and the ratios.

    python Benchmarks/embedding/compare.py --embed ../shared/bench/embed.py \
        --model models/all-MiniLM-L6-v2 --hindsight .build/release/hindsight --out bench-out/embedding
Needs numpy, safetensors and tokenizers (the bench virtualenv).
"""
import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time

WORDS = ("the market rose as investors bought shares of large banks after the central bank held rates steady while oil "
         "prices fell and the dollar gained against the yen traders said earnings were strong but guidance was weak so "
         "the stock dropped in late trading volume was high and analysts cut their price targets on concerns about demand "
         "growth margins costs debt cash flow revenue sales profit loss quarter year week month day rally sell buy hold "
         "risk return bond yield curve inflation jobs report data index fund price level support resistance trend").split()


def make_texts(tokenizer, pieces, count, seed):
    """`count` texts of exactly `pieces` ids ([CLS] and [SEP] included), from single-piece words."""
    vocab = [w for w in dict.fromkeys(WORDS) if len(tokenizer.encode(w, add_special_tokens=False).ids) == 1]
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        text = " ".join(rng.choice(vocab) for _ in range(pieces - 2))
        assert len(tokenizer.encode(text).ids) == pieces
        texts.append(text)
    return texts


def numpy_run(embed, model_dir, texts, threads, repeats, latency_texts):
    m = embed.MiniLM(model_dir, threads=threads)
    ids = m.tokenize(texts)
    m.encode_ids(ids[:4])  # warm-up
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        m.encode(texts)  # tokenising included, as on the Swift side
        rates.append(len(texts) / (time.perf_counter() - t))
    lat = []
    for text in texts[:latency_texts]:
        t = time.perf_counter()
        m.encode([text])
        lat.append((time.perf_counter() - t) * 1000)
    return dict(threads=threads, texts_per_second=statistics.median(rates), latency_ms_median=statistics.median(lat))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embed", required=True, help="path to embed.py")
    ap.add_argument("--model", required=True)
    ap.add_argument("--hindsight", required=True, help="the hindsight executable (release build)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--lengths", default="32,128,256")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--latency-texts", type=int, default=20)
    ap.add_argument("--precisions", default="f32,int8,bf16", help="the embedder's precisions to run (bench-embed --precision)")
    a = ap.parse_args()
    precisions = a.precisions.split(",")
    os.makedirs(a.out, exist_ok=True)
    spec = importlib.util.spec_from_file_location("embed", a.embed)
    embed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embed)
    tok = embed.Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    cores = os.cpu_count() or 1
    thread_counts = sorted({1, cores})
    results = {}
    for length in [int(x) for x in a.lengths.split(",")]:
        count = max(16, 8192 // length)
        texts = make_texts(tok, length, count, seed=length)
        path = os.path.join(a.out, f"texts-{length}.txt")
        with open(path, "w") as f:
            f.write("\n".join(texts) + "\n")
        rounds = {**{f"hindsight-{p}": [] for p in precisions}, "numpy": []}
        for r in range(a.rounds):
            # One round: each precision, then the reference, alternating.
            for precision in precisions:
                cmd = [a.hindsight, "bench-embed", "--model-dir", a.model, "--file", path, "--threads",
                       ",".join(map(str, thread_counts)), "--repeats", str(a.repeats), "--latency-texts", str(a.latency_texts),
                       "--precision", precision, "--json"]
                report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                rounds[f"hindsight-{precision}"].append(report["runs"])
            rounds["numpy"].append([numpy_run(embed, a.model, texts, t, a.repeats, a.latency_texts) for t in thread_counts])
            print(f"  {length} pieces, round {r + 1}: " + " ".join(
                f"{engine} {[round(x['texts_per_second'], 1) for x in runs[-1]]}" for engine, runs in rounds.items()) + " texts/s",
                file=sys.stderr)
        summary = {}
        for engine, runs in rounds.items():
            summary[engine] = []
            for i, t in enumerate(thread_counts):
                summary[engine].append(dict(
                    threads=t,
                    texts_per_second=statistics.median(run[i]["texts_per_second"] for run in runs),
                    latency_ms_median=statistics.median(run[i]["latency_ms_median"] for run in runs)))
        results[length] = dict(texts=count, **summary)
    doc = dict(machine=dict(cores=cores, cpu=open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()),
               rounds=a.rounds, repeats=a.repeats, results=results)
    with open(os.path.join(a.out, "embedding.json"), "w") as f:
        json.dump(doc, f, indent=1)
    lines = ["| pieces | threads | precision | Hindsight texts/s | numpy texts/s | ratio | Hindsight latency ms | numpy latency ms |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for length, r in results.items():
        for precision in precisions:
            for h, n in zip(r[f"hindsight-{precision}"], r["numpy"]):
                lines.append(f"| {length} | {h['threads']} | {precision} | {h['texts_per_second']:.1f} | {n['texts_per_second']:.1f} | "
                             f"{h['texts_per_second'] / n['texts_per_second']:.2f}× | {h['latency_ms_median']:.2f} | {n['latency_ms_median']:.2f} |")
    table = "\n".join(lines)
    with open(os.path.join(a.out, "embedding.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
