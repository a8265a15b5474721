"""Judge agreement: how LLM-judge scores and judge-free scores rank the same
pairs (Spearman's rho with a seeded bootstrap interval, per-score buckets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..stats import as_count, bootstrap_indices, finite_or_none, quantiles, spearman

__all__ = ["judge_agreement", "spearman_rows"]


def _rank_rows(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) along the last axis of a 2-D array, vectorized."""
    b, n = x.shape
    order = np.argsort(x, axis=1, kind="mergesort")
    sx = np.take_along_axis(x, order, axis=1)
    new_group = np.ones((b, n), dtype=bool)
    new_group[:, 1:] = sx[:, 1:] != sx[:, :-1]
    gid = np.cumsum(new_group.ravel()) - 1  # global group ids (rows never share one)
    pos = np.tile(np.arange(1, n + 1, dtype=np.float64), b)
    sums = np.bincount(gid, weights=pos)
    cnts = np.bincount(gid)
    avg = (sums / cnts)[gid].reshape(b, n)
    ranks = np.empty_like(avg)
    np.put_along_axis(ranks, order, avg, axis=1)
    return ranks


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row pair of two (B, n) arrays (NaN if a row is constant)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must be 2-D of the same shape, got {x.shape} and {y.shape}")
    rx = _rank_rows(x)
    ry = _rank_rows(y)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=1) / den, np.nan)


def judge_agreement(
    judge: Sequence[float] | np.ndarray,
    judge_free: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """How LLM-judge scores (1-5) and judge-free scores agree on the same pairs.

    Returns ``{"n", "spearman", "ci_low", "ci_high", "buckets": [{"judge", "n",
    "mean", "std"}, ...]}``: Spearman's rho with a seeded percentile bootstrap
    interval over pairs, and the mean judge-free score per (rounded) judge
    score. Pairs where either score is NaN are dropped.
    """
    j = np.asarray(judge, dtype=np.float64)
    f = np.asarray(judge_free, dtype=np.float64)
    if j.ndim != 1 or f.shape != j.shape:
        raise ValueError(f"judge and judge_free must be 1-D of the same length, got {j.shape} and {f.shape}")
    if np.isinf(j).any() or np.isinf(f).any():
        raise ValueError("scores must be finite or NaN (missing)")
    ok = np.isfinite(j) & np.isfinite(f)
    if np.any((j[ok] < 1) | (j[ok] > 5)):
        raise ValueError("judge scores must be on the 1-5 scale; rescale them first")
    j, f = j[ok], f[ok]
    n = int(j.size)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rho = spearman(j, f) if n >= 2 else float("nan")
    lo = hi = float("nan")
    if n >= 3:
        boots = []
        for idx in bootstrap_indices(n, as_count(n_boot, "n_boot"), seed):
            boots.append(spearman_rows(j[idx], f[idx]))
        b = np.concatenate(boots)
        alpha = 1.0 - confidence
        lo, hi = float(quantiles(b, alpha / 2)), float(quantiles(b, 1 - alpha / 2))
    buckets = []
    jr = np.rint(j).astype(int)
    for k in range(1, 6):
        sel = f[jr == k]
        buckets.append(
            {
                "judge": k,
                "n": int(sel.size),
                "mean": finite_or_none(sel.mean()) if sel.size else None,
                "std": finite_or_none(sel.std(ddof=1)) if sel.size > 1 else None,
            }
        )
    return {
        "n": n,
        "spearman": finite_or_none(rho),
        "ci_low": finite_or_none(lo),
        "ci_high": finite_or_none(hi),
        "confidence": confidence,
        "buckets": buckets,
    }
