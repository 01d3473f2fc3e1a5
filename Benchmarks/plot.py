#!/usr/bin/env python3
"""Draws a recall-versus-QPS chart (SVG, no dependencies) from benchmark JSON files.

Reads Hindsight's `hindsight bench --json` files and the peers' files written by
../shared/bench/peers.py (OUT/<peer>.json), plus an optional hnswlib batch file written by
compare.py; draws recall@10 on the x axis and queries per second (log scale) on the y axis.

python3 Benchmarks/plot.py --out docs/images/debian-minilm.svg --title "debian-minilm" bench-out/debian-minilm/*.json
"""
import argparse
import json
import math
import os

COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def series_from(path):
    """[(label, [(recall, qps, ef)])] from one JSON file of any of the known shapes."""
    with open(path) as f:
        data = json.load(f)
    if data.get("engine") == "hindsight":
        return [("Hindsight (Swift, LMDB, on disk)", [(r["recall"], r["qps"], r["ef"]) for r in data["runs"]])]
    if data.get("engine") == "hnswlib-batch":
        return [("hnswlib batch knn_query (C++ loop)", [(r["recall"], r["qps"], r["ef"]) for r in data["runs"]])]
    if "peer" in data:
        sweep = data.get("query", {}).get("sweep", [])
        if data["peer"] == "numpy" or not sweep:
            return []
        return [(f"{data['peer']} (one query per Python call)", [(s["recall10"], s["qps"], s["ef"]) for s in sweep])]
    return []


def draw(series, title, width=900, height=480):
    left, right, top, bottom = 70, 320, 40, 50
    pw, ph = width - left - right, height - top - bottom
    points = [p for _, s in series for p in s]
    rmin = min(0.85, min(p[0] for p in points))
    rmin = math.floor(rmin * 20) / 20
    rmax = 1.0
    qmin = 10 ** math.floor(math.log10(min(p[1] for p in points)))
    qmax = 10 ** math.ceil(math.log10(max(p[1] for p in points)))

    def x(r):
        return left + (r - rmin) / (rmax - rmin) * pw

    def y(q):
        return top + ph - (math.log10(q) - math.log10(qmin)) / (math.log10(qmax) - math.log10(qmin)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left + pw / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    # grid
    r = rmin
    while r <= rmax + 1e-9:
        out.append(f'<line x1="{x(r):.1f}" y1="{top}" x2="{x(r):.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x(r):.1f}" y="{top + ph + 16}" text-anchor="middle">{r:.2f}</text>')
        r += 0.05
    decade = qmin
    while decade <= qmax * 1.0001:
        for m in (1, 2, 5):
            q = decade * m
            if qmin <= q <= qmax:
                out.append(f'<line x1="{left}" y1="{y(q):.1f}" x2="{left + pw}" y2="{y(q):.1f}" stroke="{"#ccc" if m == 1 else "#eee"}"/>')
                out.append(f'<text x="{left - 6}" y="{y(q) + 4:.1f}" text-anchor="end">{q:,.0f}</text>')
        decade *= 10
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">recall@10</text>')
    out.append(f'<text x="18" y="{top + ph / 2}" text-anchor="middle" transform="rotate(-90 18 {top + ph / 2})">queries per second, one thread (log)</text>')
    for i, (label, pts) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        pts = sorted(pts)
        path = " ".join(f"{'M' if j == 0 else 'L'}{x(p[0]):.1f},{y(p[1]):.1f}" for j, p in enumerate(pts))
        out.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for p in pts:
            out.append(f'<circle cx="{x(p[0]):.1f}" cy="{y(p[1]):.1f}" r="3.5" fill="{color}"><title>{label}: ef {p[2]}, recall {p[0]:.4f}, {p[1]:.0f} QPS</title></circle>')
        ly = top + 14 + 20 * i
        out.append(f'<line x1="{left + pw + 14}" y1="{ly}" x2="{left + pw + 34}" y2="{ly}" stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 40}" y="{ly + 4}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="recall@10 vs QPS")
    a = ap.parse_args()
    series = [s for f in a.files for s in series_from(f)]
    if not series:
        raise SystemExit("no series found in the given files")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(draw(series, a.title))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
