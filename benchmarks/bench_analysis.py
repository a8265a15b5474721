"""Calibration, judge agreement and style features against the obvious ways to write them.

    python benchmarks/bench_analysis.py            # 10 models x 805 prompts, B=1000
    python benchmarks/bench_analysis.py --quick    # smaller, a smoke run

* compute_degrees (count-matrix bootstrap: per block of resamples, one
  matrix-vector product per distinct series and one count product for
  every pair, granularity and term at once) against a numpy
  loop over pairs x resamples that fancy-indexes each resample (timed on a
  subset of pairs and scaled). Both use the same resampled prompts; the
  bootstrap degrees are checked to agree.
* judge_agreement's bootstrap Spearman (vectorized ranks of all resamples)
  against scipy.stats.spearmanr called once per resample.
* style_features throughput on the real AlpacaEval answers when
  ../shared/data/alpaca_eval is present (else synthetic Markdown answers);
  there is no peer library for these features, so only the rate is shown.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Table, best_of, machine, print_machine  # noqa: E402
from distillscope.analysis.agreement import spearman_rows  # noqa: E402
from distillscope.analysis.degree import DegreeConfig, compute_degrees  # noqa: E402
from distillscope.analysis.table import ScoreTable  # noqa: E402
from distillscope.analysis.terms import TERMS, degree_from_means, pair_series  # noqa: E402
from distillscope.stats import bootstrap_indices, derangement  # noqa: E402
from distillscope.text.style import style_features  # noqa: E402


def make_table(n_models: int, n: int, grans: int, seed: int = 0) -> ScoreTable:
    rng = np.random.default_rng(seed)
    models = [f"m{i}" for i in range(n_models)]
    latent = rng.standard_normal((n_models, n, 16))
    # m1 takes 40 % of its answers from m0 (and m3 10 % from m2): the degrees the
    # parity check compares are then not all 0, as they are between strangers
    for student, teacher, share in ((1, 0, 0.4), (3, 2, 0.1)):
        if student < n_models:
            copied = rng.random(n) < share
            latent[student, copied] = latent[teacher, copied]
    scores, null, selfsim = {}, {}, {}
    perm = derangement(n, seed)
    for g in range(grans):
        gname = f"g{g}"
        z = latent + 0.8 * rng.standard_normal(latent.shape)
        z2 = latent + 0.8 * rng.standard_normal(latent.shape)
        zn = z / np.linalg.norm(z, axis=-1, keepdims=True)
        z2n = z2 / np.linalg.norm(z2, axis=-1, keepdims=True)
        scores[gname] = {
            (models[a], models[b]): (zn[a] * zn[b]).sum(-1) for a in range(n_models) for b in range(a + 1, n_models)
        }
        null[gname] = {
            (models[a], models[b]): (zn[a] * zn[b][perm]).sum(-1)
            for a in range(n_models)
            for b in range(a + 1, n_models)
        }
        selfsim[gname] = {models[a]: (zn[a] * z2n[a]).sum(-1) for a in range(n_models)}
    return ScoreTable(models, scores, selfsim, null)


def naive_boot(table: ScoreTable, idx: np.ndarray, cfg: DegreeConfig, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Loop over pairs x resamples, np.nanmean of fancy-indexed series: the usual way.

    Every term of ``TERMS`` is averaged over the resampled prompts where it is
    defined (as compute_degrees does, series by series) and the means go to
    ``degree_from_means`` in ``TERMS`` order, so a new term needs no change here.
    """
    # the population needs 4 models; "null" turns it off (as degree.py does)
    min_models = 4 if cfg.baseline == "pair-mean" else len(table.models) + 1
    out = np.empty((len(table.granularities), len(pairs), len(idx)))
    for gi, g in enumerate(table.granularities):
        for k, (s, c) in enumerate(pairs):
            ser = pair_series(table, g, np.array([s]), np.array([c]), threshold=cfg.threshold, min_models=min_models)
            xs = [ser[name][0, 0] for name in TERMS]
            for b, rows in enumerate(idx):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # mean of an all-NaN resample
                    means = [np.asarray(np.nanmean(x[rows])) for x in xs]
                d = degree_from_means(
                    *means, baseline=cfg.baseline, clip=cfg.clip, min_span=cfg.min_span, max_score=cfg.max_score
                )
                out[gi, k, b] = d["degree"]
    return out


def bench_degrees(t: Table, n_models: int, n: int, grans: int, n_boot: int) -> None:
    table = make_table(n_models, n, grans)
    cfg = DegreeConfig(n_boot=n_boot, seed=1)
    task = (
        f"degrees+CIs {n_models} models (all {n_models * (n_models - 1)} ordered pairs) x {grans} gran. "
        f"x {n} prompts, B={n_boot}"
    )
    idx = np.concatenate(list(bootstrap_indices(n, n_boot, 1)))
    sec, res = best_of(lambda: compute_degrees(table, config=cfg, indices=idx), repeat=3)
    n_pairs = n_models * (n_models - 1)
    t.add(task, "distillscope compute_degrees", sec, n_pairs, "pairs/s")
    # the loop is slow: time a few pairs and scale to all pairs
    sub = [(0, 1), (2, 3), (4, 5 % n_models)]
    sub = [p for p in sub if p[0] != p[1]]
    sec_sub, ref = best_of(lambda: naive_boot(table, idx, cfg, sub), repeat=1)
    got = np.stack([res.boot[:grans, s, c] for s, c in sub], axis=1)
    # same resampled prompts, so the same degrees up to summation order
    # (atol for degrees clipped to 0 on one side and ~1e-17 on the other)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12, equal_nan=True)
    err = np.nanmax(np.abs(got - ref))
    same_nan = np.array_equal(np.isnan(got), np.isnan(ref))
    t.add(
        task,
        f"numpy loop over pairs x resamples (timed on {len(sub)} pairs, scaled)",
        sec_sub * n_pairs / len(sub),
        n_pairs,
        "pairs/s",
        f"max|Δ| {err:.1e}{'' if same_nan else ' NaN MISMATCH'}",
    )


def bench_spearman(t: Table, n: int, n_boot: int) -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 6, n).astype(float)
    y = x + rng.standard_normal(n)
    idx = np.concatenate(list(bootstrap_indices(n, n_boot, 0)))
    task = f"bootstrap Spearman, {n} pairs (ties), B={n_boot}"
    sec, ours = best_of(lambda: spearman_rows(x[idx], y[idx]))
    t.add(task, "distillscope spearman_rows", sec, n_boot, "resamples/s")
    try:
        from scipy.stats import spearmanr
    except ImportError:
        print("scipy not installed: skipping the spearmanr peer")
        return
    sec, ref = best_of(lambda: np.array([spearmanr(x[r], y[r]).statistic for r in idx]), repeat=1)
    t.add(
        task,
        "scipy.stats.spearmanr per resample",
        sec,
        n_boot,
        "resamples/s",
        f"max|Δ| {np.nanmax(np.abs(ours - ref)):.1e}",
    )


def bench_style(t: Table, quick: bool) -> None:
    repo = Path(__file__).resolve().parents[1]
    # ../shared from the main checkout, ../../shared from a worktree under wt/
    roots = [repo.parent / "shared" / "data" / "alpaca_eval", repo.parent.parent / "shared" / "data" / "alpaca_eval"]
    root = next((r for r in roots if r.exists()), None)
    texts: list[str] = []
    if root is not None:
        for p in sorted(root.glob("*.json")):
            texts += [r["output"] for r in json.loads(p.read_text())]
    else:
        base = "Sure! Here's how:\n\n## Steps\n\n1. Do **this**.\n2. Then *that*.\n\n- a\n- b\n\nHope this helps!"
        texts = [base * (1 + i % 5) for i in range(4000)]
    if quick:
        texts = texts[:1000]
    # named after the cut, so --quick does not claim the whole set
    if root is not None:
        src = f"AlpacaEval answers ({len(texts)} texts, mean {np.mean([len(s) for s in texts]):.0f} chars)"
    else:
        src = f"synthetic Markdown answers ({len(texts)})"
    sec, _ = best_of(lambda: style_features(texts), repeat=2)
    t.add(f"style_features on {src}", "distillscope style_features", sec, len(texts), "texts/s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path, help="also save the rows and machine info here")
    args = ap.parse_args()
    info = machine()
    print_machine(info)
    t = Table("distillscope analysis (calibration, judge agreement, style)")
    if args.quick:
        bench_degrees(t, 6, 300, 2, 200)
        bench_spearman(t, 300, 200)
    else:
        bench_degrees(t, 10, 805, 3, 1000)
        bench_spearman(t, 805, 1000)
    bench_style(t, args.quick)
    print(t.render())
    if args.json:
        t.save(args.json, info)
    bad = [r for r in t.rows if "MISMATCH" in r["agree"] or _bad_delta(r["agree"])]
    return 1 if bad else 0


def _bad_delta(agree: str) -> bool:
    if "max|Δ|" not in agree:
        return False
    v = float(agree.split("max|Δ|")[1].split()[0])
    return not (math.isfinite(v) and v < 1e-9)


if __name__ == "__main__":
    raise SystemExit(main())
