"""Batched alignment kernel vs a numpy per-pair loop.

A batch of (candidate, reference) pairs of sentence embeddings (D=384,
3–15 sentences per side, the sizes of LLM answers) is scored by
``distillscope.align_embeddings`` in one call (greedy P/R/F + monotone order
DP + coverage) and by a straightforward numpy loop over pairs (normalize,
similarity matrix, row/column maxima, P/R/F, coverage — the greedy part
only, so the baseline does *less* work). Agreement is checked; the order
score is also timed against a pure-Python DP on a subset.

    python benchmarks/bench_align.py [--pairs 20000] [--dim 384] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def numpy_loop(a, ao, b, bo, threshold=0.5):
    g = len(ao) - 1
    out = np.empty((4, g))
    for i in range(g):
        x = a[ao[i] : ao[i + 1]]
        y = b[bo[i] : bo[i + 1]]
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)
        s = x @ y.T
        p = s.max(axis=1).mean()
        cm = s.max(axis=0)
        r = cm.mean()
        out[:, i] = (p, r, 2 * p * r / (p + r), (cm >= threshold).mean())
    return out


def python_dp(s):
    na, nb = s.shape
    m = np.zeros((na + 1, nb + 1))
    for i in range(1, na + 1):
        for j in range(1, nb + 1):
            m[i, j] = max(m[i - 1, j], m[i, j - 1], m[i - 1, j - 1] + max(s[i - 1, j - 1], 0.0))
    return 2 * m[na, nb] / (na + nb)


def best(fn, repeat):
    t = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=20000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)

    import distillscope as ds

    rng = np.random.default_rng(0)
    na = rng.integers(3, 16, args.pairs)
    nb = rng.integers(3, 16, args.pairs)
    # correlated pairs, like answers to the same prompt
    b = rng.standard_normal((nb.sum(), args.dim)).astype(np.float32)
    a = rng.standard_normal((na.sum(), args.dim)).astype(np.float32)
    ao = np.concatenate([[0], np.cumsum(na)])
    bo = np.concatenate([[0], np.cumsum(nb)])
    for i in range(args.pairs):
        k = min(na[i], nb[i])
        a[ao[i] : ao[i] + k] += 1.5 * b[bo[i] : bo[i] + k]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} hardware threads; "
        f"ISA {ds.capabilities()['isa']}; {args.pairs} pairs, D={args.dim}, "
        f"{na.sum()} + {nb.sum()} sentence vectors"
    )

    res = ds.align_embeddings(a, ao, b, bo, workers=args.workers)
    t_native = best(lambda: ds.align_embeddings(a, ao, b, bo, workers=args.workers), args.repeat)
    t_all = best(lambda: ds.align_embeddings(a, ao, b, bo, workers=-1), args.repeat)
    t_np = best(lambda: numpy_loop(a, ao, b, bo), 1)
    ref = numpy_loop(a, ao, b, bo)
    err = max(
        float(np.abs(res.precision - ref[0]).max()),
        float(np.abs(res.recall - ref[1]).max()),
        float(np.abs(res.f1 - ref[2]).max()),
    )
    cov_ok = float(np.mean(np.abs(res.coverage - ref[3]) < 1e-6))
    print(f"\n{'engine':<44}{'pairs/s':>12}{'ratio':>9}")
    print(f"{'numpy per-pair loop (greedy P/R/F + coverage)':<44}{args.pairs / t_np:>12.0f}{1.0:>8.1f}x")
    print(
        f"{f'distillscope batched, workers={args.workers} (all 5 scores)':<44}"
        f"{args.pairs / t_native:>12.0f}{t_np / t_native:>8.1f}x"
    )
    print(f"{'distillscope batched, workers=-1':<44}{args.pairs / t_all:>12.0f}{t_np / t_all:>8.1f}x")
    print(f"agreement: max |ΔP|,|ΔR|,|ΔF| = {err:.2e}; coverage equal on {100 * cov_ok:.2f}% of pairs")

    sub = min(500, args.pairs)
    t_dp = best(lambda: [python_dp(ds_sim(a, ao, b, bo, i)) for i in range(sub)], 1)
    dp_ref = np.array([python_dp(ds_sim(a, ao, b, bo, i)) for i in range(sub)])
    print(
        f"order score vs pure-Python DP on {sub} pairs: max |Δ| = {np.abs(res.order[:sub] - dp_ref).max():.2e}; "
        f"Python DP {sub / t_dp:.0f} pairs/s vs native (all scores) {args.pairs / t_native:.0f} pairs/s"
    )
    return 0


def ds_sim(a, ao, b, bo, i):
    x = a[ao[i] : ao[i + 1]].astype(np.float64)
    y = b[bo[i] : bo[i + 1]].astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    return x @ y.T


if __name__ == "__main__":
    raise SystemExit(main())
