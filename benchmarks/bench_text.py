"""Throughput of distillscope's lexical metrics against rouge-score,
rouge-score-rs, sacrebleu and rapidfuzz, on the same generated pairs.

    python benchmarks/bench_text.py                # 100,000 pairs of 50-300 words
    python benchmarks/bench_text.py --n 20000      # quicker
    python benchmarks/bench_text.py --workers 2

Slow pure-Python peers (rouge-score, sacrebleu) are timed on a subsample
(--sub pairs) and their rate extrapolated; the output says so. rouge-score-rs
reads its thread count (RAYON_NUM_THREADS) once per process, so it runs in a
child process per thread count, on the same data (same seed). Agreement is
the largest absolute difference from distillscope on the pairs both scored.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Reference: 50-300 Zipf-distributed words with punctuation and case;
    candidate: a noisy paraphrase (20% substituted, 10% dropped, some insertions)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = np.array(["".join(rng.choice(letters, size=int(k))) for k in rng.integers(1, 11, size=30_000)])
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    cdf = np.cumsum(p / p.sum())
    punct = np.array(["", "", "", "", "", "", "", ",", ".", ";"])
    lens = rng.integers(50, 301, size=n)
    total = int(lens.sum())
    words = vocab[np.minimum(np.searchsorted(cdf, rng.random(total)), len(vocab) - 1)]
    ref_words = np.char.add(words, punct[rng.integers(0, len(punct), size=total)]).tolist()
    subst = vocab[np.minimum(np.searchsorted(cdf, rng.random(total)), len(vocab) - 1)].tolist()
    extra = vocab[rng.integers(0, 2000, size=total)].tolist()
    draw = rng.random(total).tolist()
    cands, refs = [], []
    pos = 0
    for L in lens.tolist():
        ref = ref_words[pos : pos + L]
        ref[0] = ref[0].capitalize()
        cand = []
        for k in range(pos, pos + L):
            x = draw[k]
            if x < 0.1:
                continue
            cand.append(subst[k] if x < 0.3 else ref[k - pos])
            if x > 0.97:
                cand.append(extra[k])
        refs.append(" ".join(ref))
        cands.append(" ".join(cand))
        pos += L
    return cands, refs


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def rs_child(n: int, seed: int, path: str, threads: int) -> None:
    from rouge_score_rs import rouge_scorer as rs

    import distillscope as ds

    cands, refs = make_pairs(n, seed)
    sc = rs.RougeScorer(["rouge1", "rouge2", "rougeL"])
    types = ("rouge1", "rouge2", "rougeL")
    # paired, interleaved timing in the same process: the load on a shared
    # machine changes from minute to minute, so each ratio compares runs
    # made back to back
    t_rs = t_ds = float("inf")
    for _ in range(3):
        t, res = timed(lambda: sc.score_batch(refs, cands))
        t_rs = min(t_rs, t)
        t, _ = timed(lambda: ds.rouge_scores(cands, refs, rouge_types=types, tokenizer="rouge", workers=threads))
        t_ds = min(t_ds, t)
    f = np.array([[r[k].fmeasure for k in types] for r in res])
    np.save(path, f)
    print(json.dumps({"seconds": t_rs, "ours": t_ds}))


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}; {os.cpu_count()} hardware threads; Python {platform.python_version()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="pairs (default 100000)")
    ap.add_argument("--sub", type=int, default=1000, help="subsample for rouge-score/sacrebleu (default 1000)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="threads for the parallel runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rs-child", help=argparse.SUPPRESS)
    ap.add_argument("--rs-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rs_child:
        rs_child(args.n, args.seed, args.rs_child, args.rs_threads)
        return 0

    import distillscope as ds

    print(f"machine: {machine()}")
    print(f"distillscope {ds.__version__}, isa {ds.capabilities()['isa']}")
    t0 = time.perf_counter()
    cands, refs = make_pairs(args.n, args.seed)
    nw = sum(len(s.split()) for s in refs[:1000]) / min(1000, len(refs))
    print(f"data: {args.n} pairs, mean reference {nw:.0f} words, generated in {time.perf_counter() - t0:.1f}s")
    sub = min(args.sub, args.n)
    W = args.workers
    rows: list[tuple] = []

    def row(metric, impl, threads, secs, n, agree="", note="", ours_rate=None):
        rows.append((metric, impl, threads, n / secs, agree, note, ours_rate))

    def paired(peer, ours, rounds=2):
        """Best-of-rounds times of a peer and of distillscope on the same pairs, interleaved."""
        tp = to = float("inf")
        out = None
        for _ in range(rounds):
            t, out = timed(peer)
            tp = min(tp, t)
            t, _ = timed(ours)
            to = min(to, t)
        return tp, to, out

    # ---- ROUGE-1/2/L ----------------------------------------------------------------------
    types = ("rouge1", "rouge2", "rougeL")
    ds_r = {}
    for w in sorted({1, W}):
        t, res = timed(lambda: ds.rouge_scores(cands, refs, rouge_types=types, tokenizer="rouge", workers=w), 2)
        ds_r[w] = (t, res)
        row("ROUGE-1/2/L", "distillscope", w, t, args.n)
    ds_f = np.stack([ds_r[1][1][k].fmeasure for k in types], axis=1)
    try:
        from rouge_score import rouge_scorer

        sc = rouge_scorer.RougeScorer(list(types))
        t, to, res = paired(
            lambda: [sc.score(r, c) for c, r in zip(cands[:sub], refs[:sub])],
            lambda: ds.rouge_scores(cands[:sub], refs[:sub], rouge_types=types, tokenizer="rouge"),
        )
        f = np.array([[x[k].fmeasure for k in types] for x in res])
        row(
            "ROUGE-1/2/L",
            "rouge-score",
            1,
            t,
            sub,
            f"{np.abs(f - ds_f[:sub]).max():.1e}",
            f"{sub} pairs, extrapolated",
            sub / to,
        )
    except ImportError:
        print("rouge-score not installed: skipped")
    try:
        import rouge_score_rs  # noqa: F401

        for w in sorted({1, W}):
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "f.npy")
                env = dict(os.environ, RAYON_NUM_THREADS=str(w))
                cmd = [
                    sys.executable,
                    __file__,
                    "--n",
                    str(args.n),
                    "--seed",
                    str(args.seed),
                    "--rs-child",
                    path,
                    "--rs-threads",
                    str(w),
                ]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                got = json.loads(out.strip().splitlines()[-1])
                f = np.load(path)
            row(
                "ROUGE-1/2/L",
                "rouge-score-rs score_batch",
                w,
                got["seconds"],
                args.n,
                f"{np.abs(f - ds_f).max():.1e}",
                "",
                args.n / got["ours"],
            )
    except ImportError:
        print("rouge-score-rs not installed: skipped")

    # ---- ROUGE-L vs rapidfuzz Indel on the same tokens (Indel similarity = ROUGE-L F1) -----
    try:
        from rapidfuzz import process
        from rapidfuzz.distance import Indel

        ct = ds.tokenize(cands, "rouge")
        rt = ds.tokenize(refs, "rouge")
        for w in sorted({1, W}):
            t, res = timed(lambda: ds.rouge_scores(ct, rt, rouge_types=("rougeL",), workers=w), 2)
            row("ROUGE-L on token ids", "distillscope", w, t, args.n)
        lf = res["rougeL"].fmeasure
        ctl = [r.tolist() for r in ct]
        rtl = [r.tolist() for r in rt]
        for w in sorted({1, W}):
            t, to, sim = paired(
                lambda: process.cpdist(ctl, rtl, scorer=Indel.normalized_similarity, workers=w, dtype=np.float64),
                lambda: ds.rouge_scores(ct, rt, rouge_types=("rougeL",), workers=w),
            )
            row(
                "ROUGE-L on token ids",
                "rapidfuzz cpdist Indel",
                w,
                t,
                args.n,
                f"{np.abs(sim - lf).max():.1e}",
                "",
                args.n / to,
            )
    except ImportError:
        print("rapidfuzz not installed: skipped")

    # ---- BLEU -----------------------------------------------------------------------------
    for w in sorted({1, W}):
        t, res = timed(lambda: ds.bleu_scores(cands, refs, workers=w), 2)
        row("sentence BLEU (13a, exp)", "distillscope", w, t, args.n)
    bl = res.score
    try:
        import sacrebleu

        t, to, ref_b = paired(
            lambda: [sacrebleu.sentence_bleu(c, [r]).score for c, r in zip(cands[:sub], refs[:sub])],
            lambda: ds.bleu_scores(cands[:sub], refs[:sub]),
        )
        row(
            "sentence BLEU (13a, exp)",
            "sacrebleu",
            1,
            t,
            sub,
            f"{np.abs(np.array(ref_b) - bl[:sub]).max():.1e}",
            f"{sub} pairs, extrapolated",
            sub / to,
        )
    except ImportError:
        sacrebleu = None
        print("sacrebleu not installed: skipped")

    # ---- chrF -----------------------------------------------------------------------------
    for w in sorted({1, W}):
        t, res = timed(lambda: ds.chrf_scores(cands, refs, workers=w), 2)
        row("chrF", "distillscope", w, t, args.n)
    cf = res.score
    if sacrebleu is not None:
        t, to, ref_c = paired(
            lambda: [sacrebleu.sentence_chrf(c, [r]).score for c, r in zip(cands[:sub], refs[:sub])],
            lambda: ds.chrf_scores(cands[:sub], refs[:sub]),
        )
        row(
            "chrF",
            "sacrebleu",
            1,
            t,
            sub,
            f"{np.abs(np.array(ref_c) - cf[:sub]).max():.1e}",
            f"{sub} pairs, extrapolated",
            sub / to,
        )

    # ---- the combined call that large runs use ----------------------------------------------
    for w in sorted({1, W}):
        t, _ = timed(lambda: ds.lexical_scores(cands, refs, ("rouge1", "rouge2", "rougeL", "chrf"), workers=w))
        row("ROUGE-1/2/L + chrF (lexical_scores, unicode)", "distillscope", w, t, args.n)

    # ---- table ----------------------------------------------------------------------------
    base = {(m, th): r for (m, impl, th, r, _, _, _) in rows if impl == "distillscope"}
    print()
    print("Speed-up = distillscope's rate / the peer's, both timed back to back on the same pairs")
    print("and thread count (best of 2-3 interleaved rounds); distillscope rows are full-batch rates.")
    print()
    print(
        "| metric | implementation | threads | pairs/s | distillscope speed-up (same threads) | max abs diff | note |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    for m, impl, th, rate, agree, note, ours in rows:
        ours = ours if ours is not None else base.get((m, th))
        ratio = "" if impl == "distillscope" or ours is None else f"{ours / rate:.1f}x"
        print(f"| {m} | {impl} | {th} | {rate:,.0f} | {ratio} | {agree} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
