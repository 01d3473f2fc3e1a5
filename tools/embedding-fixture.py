#!/usr/bin/env python3
"""Writes Tests/EmbeddingTests/Fixtures/minilm-extra.json: more tokenizer and embedding cases for
all-MiniLM-L6-v2 than the shared reference file has (accents, control characters, emoji, other
scripts, over-long words, over-long texts and their windowed embedding).

Token ids come from Hugging Face `tokenizers` (the model's tokenizer.json); embeddings from the
float64 numpy forward pass of ../shared/bench/embed.py. Run with the bench virtualenv:

    python tools/embedding-fixture.py --model models/all-MiniLM-L6-v2 --embed ../shared/bench/embed.py
"""
import argparse
import importlib.util
import json
import os

import numpy as np

LONG = (
    "Apple reported fiscal fourth-quarter revenue of $94.9 billion, up 6 percent year over year, "
    "while earnings per diluted share rose to $1.64. Services revenue reached an all-time high, "
    "and the installed base of active devices hit a new record in every geographic segment. "
    "Management guided December-quarter revenue growth in the low to mid single digits, "
    "with gross margin between 46 and 47 percent. The stock fell 1.2% after hours as investors "
    "weighed softer China sales against strength in services. Analysts at several brokers "
    "reiterated buy ratings, citing the upgrade cycle driven by on-device artificial intelligence "
    "features, but warned that regulatory pressure on the App Store could weigh on margins. "
    "Technical indicators were mixed: the 50-day moving average stayed above the 200-day, "
    "RSI hovered near 55, and options markets implied a 4% move into the next earnings date. "
) * 4

TEXTS = [
    "Café Müller's naïve résumé — São Paulo, Zürich, Ångström, Dvořák, Ærøskøbing",
    "x" * 150 + " supercalifragilisticexpialidocious antidisestablishmentarianism",
    "tab\tnew\nline\r\u000bvt\u000cff\u0085nel\u00a0nbsp\u200bzwsp\ufeffbom \u0000nul\ufffdrepl end",
    "📈 Bull run 🚀! €100 → $120 ≥ 20% ±5 ©®™",
    "東京の株式市場は上昇した。 삼성전자 주가가 올랐다. Сбербанк вырос. Αθήνα. السوق",
    "ＡＢＣ１２３ ﬁnance Ⅻ \uF900\uFA0E",
    "«quoted» “smart” ‘single’ – en — em … ellipsis ¿qué? ¡sí!",
    "Q3 EPS $1.23 vs. est. $1.10; Y/Y +15.2% (ex-FX), NASDAQ:AAPL",
    "İstanbul BIST İŞ ΣΊΣΥΦΟΣ straße",
    LONG,
]
WINDOW_OVERLAP = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--embed", required=True, help="path to embed.py")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "EmbeddingTests", "Fixtures", "minilm-extra.json"))
    a = ap.parse_args()
    spec = importlib.util.spec_from_file_location("embed", a.embed)
    embed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embed)
    m = embed.MiniLM(a.model, dtype=np.float64, threads=1)
    full = embed.Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    full.no_padding()
    full.no_truncation()
    items = []
    for t in TEXTS:
        enc = m.tok.encode(t)
        ids = enc.ids
        vec = m.encode_ids([ids])[0]
        item = dict(text=t, tokens=enc.tokens, ids=ids, embedding=[float(np.float32(x)) for x in vec])
        pieces = full.encode(t, add_special_tokens=False).ids
        window = embed.MAX_TOKENS - 2
        if len(pieces) > window:
            stride = window - WINDOW_OVERLAP
            starts = list(range(0, len(pieces) - window, stride)) + [len(pieces) - window]
            windows = [[101] + pieces[s:s + window] + [102] for s in starts]
            w = m.encode_ids(windows)
            mean = w.mean(axis=0)
            mean /= np.linalg.norm(mean)
            item["word_pieces"] = len(pieces)
            item["windows"] = dict(overlap=WINDOW_OVERLAP, starts=starts, embedding=[float(np.float32(x)) for x in mean])
        items.append(item)
    doc = dict(model="sentence-transformers/all-MiniLM-L6-v2",
               computed_with="tools/embedding-fixture.py: HF tokenizers ids; ../shared/bench/embed.py float64 forward",
               items=items)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(items)} items to {a.out}")


if __name__ == "__main__":
    main()
