"""Sentence-embedding throughput: distillscope (onnxruntime) vs sentence-transformers (PyTorch CPU).

Same texts, same thread count, same process. Prints texts/s for short
(~40 tokens) and long (~250 tokens) texts, distillscope fp32 and int8 against
sentence-transformers, the agreement (cosine) of each, and the GFLOP/s that
each achieves next to the machine's measured float32 matmul peak (numpy BLAS
with the same thread count).

    python benchmarks/bench_embed.py [--threads 2] [--n-short 512] [--n-long 96] [--repeat 3]

Needs the default model (``distillscope model download``); the
sentence-transformers columns are skipped, with a note, where it is not
installed. The embedding cache is off for every timed run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import sys
import time

import numpy as np

WORDS = (
    "model models answer question data language large small fast teacher student distillation response "
    "similarity score token sentence training output behaviour identity company research system people "
    "world history science water energy market city country music computer network memory program "
    "result study theory method problem example value number process change effect group level"
).split()


def make_texts(n: int, target_tokens: int, count_tokens, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = []
        text = ""
        while True:
            sent = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
            words.append(sent[0].upper() + sent[1:] + ".")
            text = " ".join(words)
            if count_tokens([text])[0] >= target_tokens:
                break
        out.append(text)
    return out


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bert_flops(lengths: np.ndarray, hidden: int, inter: int, layers: int) -> float:
    """Multiply-adds ×2 of the encoder on the real (unpadded) tokens."""
    per_token_linear = 2 * (4 * hidden * hidden + 2 * hidden * inter)
    attn = 2 * 2 * lengths.astype(np.float64) ** 2 * hidden  # QK^T and PV
    return float(layers * (per_token_linear * lengths.sum() + attn.sum()))


def matmul_peak(threads: int, n: int = 1536) -> float:
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    with threadpool_limits(threads):
        a @ b
        t = best_time(lambda: a @ b, 5)
    return 2 * n**3 / t / 1e9


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--n-short", type=int, default=512)
    p.add_argument("--n-long", type=int, default=96)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--unfused",
        action="store_true",
        help="also time the standard-ops (unfused) fp32 graph, to show what fusion buys",
    )
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args(argv)

    import distillscope as ds
    from distillscope import Encoder
    from distillscope.embed.models import model_available

    if not model_available():
        print("all-MiniLM-L6-v2 is not available: run `distillscope model download` first")
        return 1
    T = args.threads
    fp32 = Encoder(cache=None, threads=T, batch_size=args.batch_size)
    int8 = Encoder(cache=None, threads=T, batch_size=args.batch_size, precision="int8")
    std = None
    if args.unfused:
        from distillscope.embed.onnx_builder import build_onnx_from_dir

        std = Encoder(cache=None, threads=T, batch_size=args.batch_size)
        std._session = std._make_session(build_onnx_from_dir(fp32.files.directory, "standard"))
    cfg = json.loads((fp32.files.directory / "config.json").read_text())
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} hardware threads, "
        f"python {sys.version.split()[0]}; distillscope ISA {ds.capabilities()['isa']}; threads={T}"
    )
    peak = matmul_peak(T)
    print(f"measured float32 matmul peak (numpy BLAS, {T} threads): {peak:.1f} GFLOP/s")

    have_st = importlib.util.find_spec("sentence_transformers") is not None
    st_model = None
    if have_st:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(T)
        st_model = SentenceTransformer(str(fp32.files.directory), device="cpu")
        print(f"sentence-transformers: torch {torch.__version__}, max_seq_length {st_model.max_seq_length}")
    else:
        print(
            "note: sentence-transformers is not installed; its columns are skipped "
            "(pip install torch==<cpu build> sentence-transformers to compare)"
        )

    results = {"threads": T, "matmul_peak_gflops": peak, "sets": {}}
    for name, n, target in (("short", args.n_short, 40), ("long", args.n_long, 250)):
        texts = make_texts(n, target, fp32.token_counts, seed=7 if name == "short" else 8)
        lengths = fp32.token_counts(texts)
        flops = bert_flops(lengths, cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"])
        row = {"n": n, "mean_tokens": float(lengths.mean())}
        e32 = fp32.encode(texts)
        e8 = int8.encode(texts)
        row["ds_fp32_s"] = best_time(lambda: fp32.encode(texts), args.repeat)
        row["ds_int8_s"] = best_time(lambda: int8.encode(texts), args.repeat)
        if std is not None:
            assert float((std.encode(texts) * e32).sum(1).min()) > 0.99999
            row["ds_unfused_s"] = best_time(lambda: std.encode(texts), args.repeat)
        row["int8_cos_mean"] = float((e32 * e8).sum(1).mean())
        row["int8_cos_min"] = float((e32 * e8).sum(1).min())
        if st_model is not None:
            est = st_model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
            row["st_s"] = best_time(
                lambda: st_model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True), args.repeat
            )
            row["fp32_cos_min"] = float((e32 * est).sum(1).min())
        results["sets"][name] = row
        print(f"\n{name}: {n} texts, mean {row['mean_tokens']:.0f} tokens")
        print(f"  {'engine':<28}{'texts/s':>10}{'GFLOP/s':>10}{'% peak':>8}{'vs ST':>8}")
        engines = [("distillscope fp32", row["ds_fp32_s"]), ("distillscope int8", row["ds_int8_s"])]
        if "ds_unfused_s" in row:
            engines.append(("distillscope fp32 unfused", row["ds_unfused_s"]))
        if "st_s" in row:
            engines.append(("sentence-transformers fp32", row["st_s"]))
        for label, t in engines:
            gf = flops / t / 1e9
            ratio = f"{row['st_s'] / t:.2f}x" if "st_s" in row else "n/a"
            print(f"  {label:<28}{n / t:>10.1f}{gf:>10.1f}{100 * gf / peak:>7.0f}%{ratio:>8}")
        if "fp32_cos_min" in row:
            print(f"  agreement: fp32 vs sentence-transformers min cosine {row['fp32_cos_min']:.6f}")
        print(f"  agreement: int8 vs fp32 mean cosine {row['int8_cos_mean']:.4f} (min {row['int8_cos_min']:.4f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
