"""``distillscope bench``: every kernel against the tools users would otherwise pick.

One command generates data of a chosen size, runs distillscope's kernels and
the peers (numpy, SimSIMD, faiss, rouge-score, rouge-score-rs, sacrebleu,
rapidfuzz, sentence-transformers where installed) on the same data in the same
process, checks that the results agree, prints a table of ratios
(``speed-up = peer time / distillscope time``) with the machine, SIMD
dispatch path and BLAS kernel, and saves it as JSON and Markdown plus a PNG of
throughput against batch size and thread count. A peer that is not installed
is skipped with a note; it never fails the run. A disagreement does: the
command exits with status 1.

The data comes from :mod:`distillscope.scale.benchdata`.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import folders_undone_on_failure
from .benchdata import make_pairs

__all__ = ["MAX_COUNTS", "MIN_CORPUS", "OUTPUTS", "SIZES", "TOPK_K", "machine_info", "matrix_bytes", "run_suite"]

OUTPUTS = ("bench.json", "bench.md", "bench.png")  # what run_suite writes into its folder


# ----------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """CPU, cores, SIMD dispatch path, BLAS kernel (threadpoolctl) and library versions."""
    from ..kernels import capabilities

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["load_average"] = list(os.getloadavg())
    except OSError:
        pass
    info["distillscope"] = capabilities()
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "architecture", "version", "num_threads")}
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
    except ImportError:
        info["blas"] = []
    return info


def _machine_lines(info: dict[str, Any]) -> list[str]:
    caps = info["distillscope"]
    lines = [
        f"machine: {info.get('cpu', '?')}, {info['cores']} cores, Python {info['python']}, numpy {info['numpy']}",
        f"distillscope {caps['version']}: SIMD path {caps['isa']} (available {', '.join(caps['available'])})",
    ]
    for b in info.get("blas", []):
        lines.append(
            f"BLAS: {b['internal_api']} {b['version']}, kernel {b['architecture']}, {b['num_threads']} threads"
        )
    if "load_average" in info:
        la = info["load_average"]
        lines.append(f"load average at start: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (other processes share the cores)")
    return lines


# ----------------------------------------------------------------------------- timing and table


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    out, best = None, float("inf")
    for i in range(repeat):
        t0 = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t0
        if i == 0:
            out = r
        best = min(best, dt)
    return best, out


@dataclass
class Row:
    task: str
    engine: str
    seconds: float
    items: int
    unit: str
    agree: str = ""
    ours: bool = False
    threads: int = 1

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else float("inf")


class Results:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.failures: list[str] = []
        self.sweep: list[dict[str, Any]] = []

    def add(
        self,
        task: str,
        engine: str,
        seconds: float,
        items: int,
        unit: str,
        agree: str = "",
        ours: bool = False,
        threads: int = 1,
    ) -> None:
        self.rows.append(Row(task, engine, seconds, items, unit, agree, ours, threads))

    def check(self, task: str, engine: str, got: np.ndarray, want: np.ndarray, tol: float) -> str:
        got = np.asarray(got, np.float64)
        want = np.asarray(want, np.float64)
        if got.shape != want.shape:
            msg = f"shape {got.shape} vs {want.shape}"
            self.failures.append(f"{task} / {engine}: {msg}")
            return "MISMATCH " + msg
        d = float(np.max(np.abs(got - want))) if got.size else 0.0
        if not d <= tol:
            self.failures.append(f"{task} / {engine}: max|Δ| {d:.3g} > {tol:g}")
            return f"MISMATCH max|Δ| {d:.2g}"
        return f"ok, max|Δ| {d:.1e}"

    def skip(self, what: str, why: str) -> None:
        self.notes.append(f"skipped {what}: {why}")

    def markdown(self, info: dict[str, Any], title: str) -> str:
        lines = [f"## {title}", ""] + [f"* {s}" for s in _machine_lines(info)] + [""]
        lines += [
            "Speed-up = peer time / distillscope time at the same thread count (the peer's threads).",
            "",
            "| task | engine | threads | throughput | distillscope speed-up | agreement |",
            "|---|---|---|---|---|---|",
        ]
        tasks: dict[str, list[Row]] = {}
        for r in self.rows:
            tasks.setdefault(r.task, []).append(r)
        for task, rows in tasks.items():
            ours = {r.threads: r.rate for r in rows if r.ours}
            for r in rows:
                ratio = ""
                if not r.ours and ours:
                    t = r.threads if r.threads in ours else min(ours, key=lambda k: abs(k - r.threads))
                    ratio = f"{ours[t] / r.rate:.2f}×"
                lines.append(f"| {task} | {r.engine} | {r.threads} | {r.rate:,.4g} {r.unit} | {ratio} | {r.agree} |")
        if self.notes:
            lines += [""] + [f"* {n}" for n in self.notes]
        if self.failures:
            lines += ["", "**Disagreements:**"] + [f"* {f}" for f in self.failures]
        return "\n".join(lines)

    def as_dict(self, info: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        return {
            "machine": info,
            "config": config,
            "notes": self.notes,
            "failures": self.failures,
            "rows": [dict(r.__dict__, rate=r.rate) for r in self.rows],
            "sweep": self.sweep,
        }


# ----------------------------------------------------------------------------- the suite

# the k of the top-k benchmark; numpy's argpartition peer needs a corpus of more than k rows
TOPK_K = 10
MIN_CORPUS = TOPK_K + 1

# the most each count takes: far past the large preset, and what one machine
# can plausibly generate (10**14 rows asked numpy for petabytes)
MAX_COUNTS = {"pairs": 1_000_000, "dense": 100_000_000, "dim": 65_536, "queries": 1_000_000, "corpus": 100_000_000}


def matrix_bytes(cfg: dict[str, int], batch: int = 0) -> int:
    """The most memory the float32 matrices of the dense section and the sweep
    hold at once: two dense x dim inputs, then queries + corpus rows of dim
    (the first pair is freed before), and two batch x dim for the sweep."""
    return 4 * cfg["dim"] * max(2 * cfg["dense"], cfg["queries"] + cfg["corpus"], 2 * batch)


SIZES: dict[str, dict[str, int]] = {
    # pairs: texts for the lexical kernels; dense: rows for cosine_paired;
    # queries x corpus: top-k; peer_pairs: subset for per-pair Python peers
    "tiny": {"pairs": 200, "dense": 2000, "dim": 64, "queries": 16, "corpus": 500, "peer_pairs": 50, "repeat": 1},
    "small": {
        "pairs": 5000,
        "dense": 100_000,
        "dim": 384,
        "queries": 256,
        "corpus": 20_000,
        "peer_pairs": 500,
        "repeat": 3,
    },
    "medium": {
        "pairs": 50_000,
        "dense": 1_000_000,
        "dim": 384,
        "queries": 1024,
        "corpus": 100_000,
        "peer_pairs": 2000,
        "repeat": 3,
    },
    "large": {
        "pairs": 200_000,
        "dense": 4_000_000,
        "dim": 384,
        "queries": 4096,
        "corpus": 1_000_000,
        "peer_pairs": 5000,
        "repeat": 2,
    },
}


def _numpy_paired(a: np.ndarray, b: np.ndarray, chunk: int = 16384) -> np.ndarray:
    out = np.empty(len(a), np.float32)
    for i in range(0, len(a), chunk):
        x, y = a[i : i + chunk], b[i : i + chunk]
        out[i : i + chunk] = np.einsum("ij,ij->i", x, y) / np.sqrt(
            np.einsum("ij,ij->i", x, x) * np.einsum("ij,ij->i", y, y)
        )
    return out


def _bench_dense(res: Results, cfg: dict[str, int], threads: Sequence[int], rng: np.random.Generator) -> None:
    from ..kernels import cosine_paired, cosine_topk

    n, d, rep = cfg["dense"], cfg["dim"], cfg["repeat"]
    a = rng.standard_normal((n, d), dtype=np.float32)
    b = rng.standard_normal((n, d), dtype=np.float32)
    task = f"cosine_paired {n:,}×{d} f32"
    sec, ours = _best(lambda: cosine_paired(a, b, workers=1), rep)
    res.add(task, "distillscope workers=1", sec, n, "pairs/s", ours=True)
    for t in threads:
        if t > 1:
            sec, o = _best(lambda: cosine_paired(a, b, workers=t), rep)
            res.add(
                task,
                f"distillscope workers={t}",
                sec,
                n,
                "pairs/s",
                "identical" if np.array_equal(o, ours) else res.check(task, f"workers={t}", o, ours, 0.0),
                ours=True,
                threads=t,
            )
    sec, ref = _best(lambda: _numpy_paired(a, b), rep)
    res.add(task, "numpy chunked einsum", sec, n, "pairs/s", res.check(task, "numpy", ref, ours, 1e-5))
    try:
        import simsimd

        sec, dist = _best(lambda: np.asarray(simsimd.cosine(a, b)), rep)
        res.add(
            task,
            f"simsimd {getattr(simsimd, '__version__', '?')}",
            sec,
            n,
            "pairs/s",
            res.check(task, "simsimd", 1 - dist, ours, 1e-3),
        )
    except ImportError:
        res.skip("simsimd", "not installed (pip install simsimd)")
    a = b = np.empty((0, d), dtype=np.float32)  # free the inputs before the next task

    q, nc, k = cfg["queries"], cfg["corpus"], TOPK_K
    queries = rng.standard_normal((q, d), dtype=np.float32)
    corpus = rng.standard_normal((nc, d), dtype=np.float32)
    task = f"cosine_topk {q:,}×{nc:,}×{d}, k={k}"
    w = max(threads)
    sec, (os_, oi) = _best(lambda: cosine_topk(queries, corpus, k, method="native", workers=w), rep)
    res.add(task, f"distillscope native workers={w}", sec, q, "queries/s", ours=True, threads=w)
    if w > 1:
        sec, (o1, _) = _best(lambda: cosine_topk(queries, corpus, k, method="native", workers=1), rep)
        res.add(
            task,
            "distillscope native workers=1",
            sec,
            q,
            "queries/s",
            res.check(task, "topk workers=1", o1, os_, 0.0),
            ours=True,
        )
    qn = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    cn = corpus / np.linalg.norm(corpus, axis=1, keepdims=True)

    def numpy_topk() -> np.ndarray:
        s = qn @ cn.T
        idx = np.argpartition(-s, k, axis=1)[:, :k]
        return -np.sort(-np.take_along_axis(s, idx, 1), axis=1)

    sec, ns = _best(numpy_topk, rep)
    res.add(
        task,
        "numpy matmul + argpartition (BLAS threads)",
        sec,
        q,
        "queries/s",
        res.check(task, "numpy topk", ns, os_, 1e-4),
        threads=_blas_threads(),
    )
    try:
        import faiss

        prev = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(w)
        try:

            def faiss_topk() -> np.ndarray:
                index = faiss.IndexFlatIP(d)
                index.add(cn)
                return index.search(qn, k)[0]

            sec, fs = _best(faiss_topk, rep)
        finally:
            faiss.omp_set_num_threads(prev)
        res.add(
            task,
            f"faiss {faiss.__version__} IndexFlatIP",
            sec,
            q,
            "queries/s",
            res.check(task, "faiss", fs, os_, 1e-4),
            threads=w,
        )
    except ImportError:
        res.skip("faiss", "not installed (pip install faiss-cpu)")


def _blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max(
            (int(p.get("num_threads") or 1) for p in threadpool_info() if p.get("user_api") == "blas"), default=1
        )
    except ImportError:
        return os.cpu_count() or 1


def _scaled(fn: Callable[[int], Any], n_sub: int, n: int) -> tuple[float, Any, int]:
    t0 = time.perf_counter()
    out = fn(n_sub)
    return time.perf_counter() - t0, out, n_sub


_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def _bench_text(res: Results, cfg: dict[str, int], threads: Sequence[int], seed: int) -> tuple[list[str], list[str]]:
    n = cfg["pairs"]
    tbl = make_pairs(n, seed=seed)
    cands = tbl.column("candidate").to_pylist()
    refs = tbl.column("reference").to_pylist()
    w = max(threads)
    want, rs_rate = _bench_rouge(res, cfg, cands, refs, w)
    _bench_lcs(res, cfg, cands, refs, w)
    chrf_rate = _bench_sacrebleu(res, cfg, cands, refs)
    _bench_combined(res, cfg, cands, refs, w, want, rs_rate, chrf_rate)
    return cands, refs


def _bench_rouge(
    res: Results, cfg: dict[str, int], cands: list[str], refs: list[str], w: int
) -> tuple[np.ndarray, float]:
    """ROUGE-1/2/L against rouge-score and rouge-score-rs; returns our F-measures and rouge-score-rs' rate."""
    from ..text.lexical import rouge_scores

    n, rep, m = cfg["pairs"], cfg["repeat"], min(cfg["peer_pairs"], cfg["pairs"])
    types = _ROUGE_TYPES
    rs_rate = 0.0

    # ROUGE with rouge-score's tokenizer, so every peer computes the same thing
    task = f"ROUGE-1/2/L, {n:,} pairs of 50-300 words"
    sec, ours = _best(lambda: rouge_scores(cands, refs, rouge_types=types, tokenizer="rouge", workers=1), rep)
    res.add(task, "distillscope workers=1", sec, n, "pairs/s", ours=True)
    if w > 1:
        sec, o2 = _best(lambda: rouge_scores(cands, refs, rouge_types=types, tokenizer="rouge", workers=w), rep)
        same = all(np.array_equal(o2[t].fmeasure, ours[t].fmeasure) for t in types)
        res.add(
            task,
            f"distillscope workers={w}",
            sec,
            n,
            "pairs/s",
            "identical" if same else "MISMATCH",
            ours=True,
            threads=w,
        )
        if not same:
            res.failures.append(f"{task}: workers={w} differs from workers=1")
    want = np.stack([ours[t].fmeasure for t in types], 1)
    try:
        from rouge_score import rouge_scorer

        sc = rouge_scorer.RougeScorer(list(types), use_stemmer=False)
        sec, got, k = _scaled(lambda k: [sc.score(refs[i], cands[i]) for i in range(k)], m, n)
        arr = np.array([[g[t].fmeasure for t in types] for g in got])
        res.add(
            task,
            f"rouge-score (on {k:,} pairs)",
            sec,
            k,
            "pairs/s",
            res.check(task, "rouge-score", arr, want[:k], 1e-9),
        )
    except ImportError:
        res.skip("rouge-score", "not installed (pip install rouge-score)")
    try:
        from rouge_score_rs import rouge_scorer as rs_scorer

        sc2 = rs_scorer.RougeScorer(list(types), use_stemmer=False)
        sec, got = _best(lambda: sc2.score_batch(refs, cands), rep)
        rs_rate = n / sec
        arr = np.array([[g[t].fmeasure for t in types] for g in got])
        res.add(
            task,
            "rouge-score-rs score_batch (all cores)",
            sec,
            n,
            "pairs/s",
            res.check(task, "rouge-score-rs", arr, want, 1e-9),
            threads=os.cpu_count() or 1,
        )
    except ImportError:
        res.skip("rouge-score-rs", "not installed (pip install rouge-score-rs)")
    return want, rs_rate


def _bench_lcs(res: Results, cfg: dict[str, int], cands: list[str], refs: list[str], w: int) -> None:
    from ..text.lexical import rouge_scores
    from ..text.tokenize import token_strings

    n, rep = cfg["pairs"], cfg["repeat"]
    # ROUGE-L as a token LCS: rapidfuzz's LCSseq over the same token lists
    task = f"ROUGE-L (token LCS), {n:,} pairs"
    sec, o = _best(lambda: rouge_scores(cands, refs, rouge_types=("rougeL",), tokenizer="rouge", workers=w), rep)
    res.add(task, f"distillscope workers={w}", sec, n, "pairs/s", ours=True, threads=w)
    try:
        from rapidfuzz import __version__ as rf_version
        from rapidfuzz import process
        from rapidfuzz.distance import LCSseq

        tc = token_strings(cands, "rouge", workers=w)
        tr = token_strings(refs, "rouge", workers=w)
        sec, lcs = _best(lambda: process.cpdist(tc, tr, scorer=LCSseq.similarity, workers=w), rep)
        lc = np.array([len(x) for x in tc], np.float64)
        lr = np.array([len(x) for x in tr], np.float64)
        f = np.divide(2 * lcs, lc + lr, out=np.zeros(n), where=(lc + lr) > 0)
        res.add(
            task,
            f"rapidfuzz {rf_version} LCSseq cpdist (pre-tokenized)",
            sec,
            n,
            "pairs/s",
            res.check(task, "rapidfuzz", f, o["rougeL"].fmeasure, 1e-12),
            threads=w,
        )
    except ImportError:
        res.skip("rapidfuzz", "not installed (pip install rapidfuzz)")


def _bench_sacrebleu(res: Results, cfg: dict[str, int], cands: list[str], refs: list[str]) -> float:
    """Sentence BLEU and chrF against sacrebleu; returns sacrebleu chrF's rate (0 when not installed)."""
    from ..text.lexical import bleu_scores, chrf_scores

    n, rep, m = cfg["pairs"], cfg["repeat"], min(cfg["peer_pairs"], cfg["pairs"])
    chrf_rate = 0.0
    # sentence BLEU and chrF against sacrebleu
    try:
        import sacrebleu
        from sacrebleu.metrics import BLEU, CHRF

        sacrebleu_version: str | None = sacrebleu.__version__
    except ImportError:
        sacrebleu_version = None
        res.skip("sacrebleu", "not installed (pip install sacrebleu)")
    task = f"sentence BLEU (13a), {n:,} pairs"
    sec, ob = _best(lambda: bleu_scores(cands, refs, workers=1), rep)
    res.add(task, "distillscope workers=1", sec, n, "pairs/s", ours=True)
    if sacrebleu_version is not None:
        bleu = BLEU(effective_order=True)
        sec, got, k = _scaled(lambda k: [bleu.sentence_score(cands[i], [refs[i]]).score for i in range(k)], m, n)
        res.add(
            task,
            f"sacrebleu {sacrebleu_version} (on {k:,} pairs)",
            sec,
            k,
            "pairs/s",
            res.check(task, "sacrebleu BLEU", np.array(got), ob.score[:k], 1e-9),
        )
    task = f"sentence chrF, {n:,} pairs"
    sec, oc = _best(lambda: chrf_scores(cands, refs, workers=1), rep)
    res.add(task, "distillscope workers=1", sec, n, "pairs/s", ours=True)
    if sacrebleu_version is not None:
        chrf = CHRF()
        sec, got, k = _scaled(lambda k: [chrf.sentence_score(cands[i], [refs[i]]).score for i in range(k)], m, n)
        chrf_rate = k / sec
        res.add(
            task,
            f"sacrebleu {sacrebleu_version} (on {k:,} pairs)",
            sec,
            k,
            "pairs/s",
            res.check(task, "sacrebleu chrF", np.array(got), oc.score[:k], 1e-9),
        )
    return chrf_rate


def _bench_combined(
    res: Results,
    cfg: dict[str, int],
    cands: list[str],
    refs: list[str],
    w: int,
    want: np.ndarray,
    rs_rate: float,
    chrf_rate: float,
) -> None:
    from ..text.lexical import lexical_scores

    n, rep = cfg["pairs"], cfg["repeat"]
    types = _ROUGE_TYPES
    # the combined call score-pairs uses, against the sum of the fastest peers
    task = f"ROUGE-1/2/L + chrF in one call, {n:,} pairs"
    metrics = ("rouge1", "rouge2", "rougeL", "chrf")
    sec, both = _best(lambda: lexical_scores(cands, refs, metrics, tokenizer="rouge", workers=w), rep)
    res.add(task, f"distillscope lexical_scores workers={w}", sec, n, "pairs/s", ours=True, threads=w)
    if rs_rate and chrf_rate:
        agree = res.check(task, "combined", np.stack([both[t] for t in types], 1), want, 0.0)
        res.add(
            task,
            "rouge-score-rs (all cores) then sacrebleu chrF: time added",
            n / rs_rate + n / chrf_rate,
            n,
            "pairs/s",
            agree,
            threads=w,
        )


def _bench_embed(res: Results) -> None:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        res.skip(
            "sentence-transformers",
            "not installed (pip install sentence-transformers); the encoder "
            "comparison also needs a local model, see benchmarks/bench_embed.py",
        )
        return
    res.skip(
        "sentence-transformers",
        "installed, but comparing encoders needs a local model and no downloads "
        "happen here; run benchmarks/bench_embed.py for the encoder against sentence-transformers",
    )


def _sweep(
    res: Results,
    cands: list[str],
    refs: list[str],
    cfg: dict[str, int],
    threads: Sequence[int],
    batch_sizes: Sequence[int],
    rng: np.random.Generator,
) -> None:
    """Throughput of cosine_paired and lexical_scores against batch size and thread count.

    Every point processes the same rows, cut into calls of ``batch`` pairs,
    so the curves show the per-call overhead and where threads start to pay.
    """
    from ..kernels import cosine_paired
    from ..text.lexical import lexical_scores

    d = cfg["dim"]
    m = max(batch_sizes)
    a = rng.standard_normal((m, d), dtype=np.float32)
    b = rng.standard_normal((m, d), dtype=np.float32)

    def run_dense(bs: int, t: int) -> None:
        for i in range(0, m, bs):
            cosine_paired(a[i : i + bs], b[i : i + bs], workers=t)

    mt = min(len(cands), m)

    def run_text(bs: int, t: int) -> None:
        for i in range(0, mt, bs):
            lexical_scores(cands[i : i + bs], refs[i : i + bs], ("rouge1", "rouge2", "rougeL"), workers=t)

    for t in threads:
        for bs in batch_sizes:
            sec, _ = _best(lambda: run_dense(bs, t), 3)
            res.sweep.append(
                {"kernel": f"cosine_paired D={d} ({m:,} pairs)", "threads": t, "batch": bs, "rate": m / sec}
            )
    for t in threads:
        for bs in batch_sizes:
            if bs <= mt:
                sec, _ = _best(lambda: run_text(bs, t), 2)
                res.sweep.append({"kernel": f"ROUGE-1/2/L ({mt:,} pairs)", "threads": t, "batch": bs, "rate": mt / sec})


def _plot(sweep: list[dict[str, Any]], path: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    kernels = list(dict.fromkeys(s["kernel"] for s in sweep))
    fig, axes = plt.subplots(1, len(kernels), figsize=(5.5 * len(kernels), 4), squeeze=False)
    for ax, kern in zip(axes[0], kernels):
        for t in sorted({s["threads"] for s in sweep if s["kernel"] == kern}):
            pts = sorted((s["batch"], s["rate"]) for s in sweep if s["kernel"] == kern and s["threads"] == t)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{t} thread{'s' if t > 1 else ''}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size (pairs per call)")
        ax.set_ylabel("pairs / s")
        ax.set_title(kern)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run_suite(
    size: str = "small",
    out_dir: str | os.PathLike[str] = "bench-results",
    *,
    threads: Sequence[int] | None = None,
    batch_sizes: Sequence[int] | None = None,
    overrides: dict[str, int] | None = None,
    seed: int = 0,
    plot: bool = True,
    only: Sequence[str] = ("dense", "text", "embed", "sweep"),
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the suite; write ``bench.json``, ``bench.md`` and ``bench.png`` to ``out_dir``; return the JSON dict."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}; got {size!r}")
    cfg = dict(SIZES[size])
    for k, v in (overrides or {}).items():
        if v is not None:
            if k not in cfg or int(v) < 1 or int(v) > MAX_COUNTS.get(k, int(v)):
                raise ValueError(
                    f"bad override {k}={v}: use a positive count for one of {tuple(cfg)} (at most {MAX_COUNTS})"
                )
            cfg[k] = int(v)
    if "dense" in only and cfg["corpus"] < MIN_CORPUS:  # before out_dir is created
        raise ValueError(
            f"corpus must be >= {MIN_CORPUS} for the top-{TOPK_K} benchmark of the dense section, got {cfg['corpus']}"
        )
    cores = os.cpu_count() or 1
    threads = sorted(set(threads or ([1, cores] if cores > 1 else [1])))
    if any(t < 1 for t in threads):
        raise ValueError(f"thread counts must be >= 1; got {threads}")
    batch_sizes = sorted(
        set(batch_sizes or [b for b in (10, 100, 1000, 10_000, 100_000) if b <= max(cfg["dense"], 10)])
    )
    out = Path(out_dir)
    # created up front (a bad path fails before any work), and removed again if the run
    # fails or is interrupted and the folder was made by it: library callers get the
    # same "a failing command leaves every file as it was" as the CLI for new folders
    with folders_undone_on_failure(out) as made:
        try:
            doc = _run_into(out, only, cfg, size, threads, batch_sizes, seed, plot, echo)
        except BaseException:
            if made:
                for name in OUTPUTS:
                    (out / name).unlink(missing_ok=True)
            raise
    return doc


def _run_into(
    out: Path,
    only: Any,
    cfg: dict[str, Any],
    size: str,
    threads: Any,
    batch_sizes: list[int],
    seed: int,
    plot: bool,
    echo: Any,
) -> dict[str, Any]:
    info = machine_info()
    for line in _machine_lines(info):
        echo(line)
    res = Results()
    rng = np.random.default_rng(seed)
    cands: list[str] = []
    refs: list[str] = []
    if "dense" in only:
        _bench_dense(res, cfg, threads, rng)
    if "text" in only or "sweep" in only:
        if "text" in only:
            cands, refs = _bench_text(res, cfg, threads, seed)
        else:
            t = make_pairs(cfg["pairs"], seed=seed)
            cands, refs = t.column("candidate").to_pylist(), t.column("reference").to_pylist()
    if "embed" in only:
        _bench_embed(res)
    title = f"distillscope bench --size {size}"
    if "sweep" in only:
        _sweep(res, cands, refs, cfg, threads, batch_sizes, rng)
    md = res.markdown(info, title)
    echo("")
    echo(md)
    doc = res.as_dict(info, dict(cfg, size=size, threads=list(threads), batch_sizes=list(batch_sizes), seed=seed))
    (out / "bench.json").write_text(json.dumps(doc, indent=2, default=str))
    (out / "bench.md").write_text(md + "\n")
    if plot and res.sweep:
        if _plot(res.sweep, out / "bench.png", f"{title} ({info.get('cpu', '')}, {info['cores']} cores)"):
            doc["plot"] = str(out / "bench.png")
        else:
            res.skip("plot", "matplotlib not installed (pip install matplotlib)")
    echo(f"\nsaved {out / 'bench.json'}, {out / 'bench.md'}" + (f", {out / 'bench.png'}" if "plot" in doc else ""))
    return doc
