#!/usr/bin/env python3
"""Writes a reference fixture for any BERT sentence model directory (config.json, model.safetensors,
tokenizer.json, mean or CLS pooling): for each text, its token ids and word pieces from Hugging Face
`tokenizers` (the model's own tokenizer.json) and its vector from a float64 numpy forward pass written
here from the BERT recipe (post-LayerNorm encoder, exact-erf GELU, pooling over real tokens, L2
normalisation), truncated to the model's longest sequence. It shares no code with Hindsight's encoder,
so the Swift tests comparing with it check the encoder's generality (other widths, heads, layers,
cased and Chinese vocabularies) as well as the weights a fetch put in place.

    python -m venv /tmp/fx && /tmp/fx/bin/pip install numpy tokenizers safetensors
    /tmp/fx/bin/python tools/bert-fixture.py --model models/m3e-small \
        --out Tests/EmbeddingTests/Fixtures/m3e-small-reference.json
"""
import argparse
import json
import math
import os

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

# Texts as agents send them: Chinese and English reports, tickers, numbers, mixed scripts, case.
TEXTS = [
    "贵州茅台股价大幅上涨，市场情绪乐观",
    "茅台股票涨了很多，投资者情绪积极",
    "央行宣布降息以刺激经济",
    "货币政策放松，人民银行下调利率",
    "公司季度营收低于预期，股价下跌",
    "600519.SH 收盘价 1,688.00 元，成交量放大 35%，MACD 金叉，RSI 升至 68。",
    "BRK.B closed at $412.35; Berkshire Hathaway reported Q3 operating earnings of $10.1 billion.",
    "Apple and APPLE and apple: the vocabulary is cased.",
    "## 市场报告\n\n| 指标 | 数值 |\n|---|---|\n| MA50 | 1,702 |\n\n**结论**：短期震荡，中期看多。",
    "",
    "港股恒生指数下跌2.3%，科技股领跌；A股沪深300指数小幅收涨0.4%。Tencent (0700.HK) fell 3.1%.",
    ("宁德时代发布第三季度财报，营业收入同比增长百分之十二，净利润超出市场预期。"
     "分析师认为，动力电池需求保持强劲，海外订单持续增加，但原材料价格波动仍是主要风险。") * 12,
]


def gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class Bert:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.config = json.load(f)
        raw = load_file(os.path.join(directory, "model.safetensors"))
        self.w = {k[len("bert."):] if k.startswith("bert.") else k: v.astype(np.float64) for k, v in raw.items()}
        self.pooling = "mean"
        pooling_path = os.path.join(directory, "1_Pooling", "config.json")
        if os.path.exists(pooling_path):
            with open(pooling_path) as f:
                if json.load(f).get("pooling_mode_cls_token"):
                    self.pooling = "cls"
        self.max_length = self.config.get("max_position_embeddings", 512)
        sentence = os.path.join(directory, "sentence_bert_config.json")
        if os.path.exists(sentence):
            with open(sentence) as f:
                self.max_length = json.load(f).get("max_seq_length", self.max_length)
        self.tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def linear(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def encode(self, text):
        encoding = self.tokenizer.encode(text)
        ids, tokens = encoding.ids, encoding.tokens
        if len(ids) > self.max_length:  # keep [CLS], the first pieces, then [SEP]
            ids = ids[: self.max_length - 1] + ids[-1:]
            tokens = tokens[: self.max_length - 1] + tokens[-1:]
        c, w = self.config, self.w
        eps = c.get("layer_norm_eps", 1e-12)
        heads = c["num_attention_heads"]
        hidden = c["hidden_size"]
        head_dim = hidden // heads
        n = len(ids)
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        for layer in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{layer}."
            q = self.linear(x, p + "attention.self.query").reshape(n, heads, head_dim).transpose(1, 0, 2)
            k = self.linear(x, p + "attention.self.key").reshape(n, heads, head_dim).transpose(1, 0, 2)
            v = self.linear(x, p + "attention.self.value").reshape(n, heads, head_dim).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
            x = layer_norm(self.linear(context, p + "attention.output.dense") + x,
                           w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            inner = gelu(self.linear(x, p + "intermediate.dense"))
            x = layer_norm(self.linear(inner, p + "output.dense") + x,
                           w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        pooled = x[0] if self.pooling == "cls" else x.mean(0)
        return ids, tokens, pooled / np.linalg.norm(pooled)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model = Bert(args.model)
    items = []
    for text in TEXTS:
        ids, tokens, vector = model.encode(text)
        items.append({"text": text, "ids": ids, "tokens": tokens, "embedding": [round(float(v), 7) for v in vector]})
    document = {"model": os.path.basename(os.path.normpath(args.model)), "pooling": model.pooling,
                "max_length": model.max_length, "items": items}
    with open(args.out, "w") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(items)} items to {args.out}")


if __name__ == "__main__":
    main()
