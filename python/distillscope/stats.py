"""Small statistics shared by the analysis modules (no SciPy needed)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from statistics import NormalDist
from typing import Any

import numpy as np


def z_for(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level in (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Returns ``(low, high)``; for ``n == 0`` the interval is ``(0.0, 1.0)``
    (nothing is known). Unlike the normal approximation it stays inside
    [0, 1] and behaves at 0 and n successes.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    z = z_for(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 and n successes the near end is exactly 0 (or 1) on paper; the
    # arithmetic can land an ulp inside (1 - 1.1e-16 at 12 of 12) or outside
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=np.float64)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(x, y) -> float:
    """Spearman rank correlation (Pearson on average ranks); NaN if constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of the same length, got {x.shape} and {y.shape}")
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float("nan") if den == 0 else float((rx * ry).sum() / den)


# --------------------------------------------------------------------------- resampling
BOOT_BLOCK = 256  # resamples per block: bounds memory at ~ (256 x n_prompts) floats


def derangement(n: int, seed: int) -> np.ndarray:
    """A uniformly random permutation of ``range(n)`` with no fixed point.

    The caller uses it for the shuffled-prompt null: the student's answer to
    prompt ``p`` is scored against the candidate's answer to prompt
    ``perm[p]``. Rejection sampling of uniform permutations (about e tries on
    average), so every derangement is equally likely; deterministic given
    ``seed``. ``n == 0`` gives an empty array; ``n == 1`` has no derangement.
    """
    n = as_count(n, "n")
    if n == 1:
        raise ValueError("a derangement needs n >= 2 prompts (n == 1 has none); skip the null for one prompt")
    rng = np.random.default_rng(as_seed(seed))
    idx = np.arange(n)
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == idx):
            return perm.astype(np.int64)


def bootstrap_indices(n: int, n_boot: int, seed: int, *, block: int = BOOT_BLOCK) -> Iterator[np.ndarray]:
    """Yield the seeded (B, n) bootstrap index matrix in row blocks.

    The blocks concatenated are the same matrix whatever ``block`` is (the
    generator draws row after row), so callers can bound memory freely.
    """
    n = as_count(n, "n")
    n_boot = as_count(n_boot, "n_boot")
    if n == 0:
        raise ValueError("cannot bootstrap zero prompts; check that the score arrays are not empty")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    rng = np.random.default_rng(as_seed(seed))
    done = 0
    while done < n_boot:
        rows = min(block, n_boot - done)
        # one row at a time keeps the stream identical for any block size
        yield np.stack([rng.integers(0, n, size=n) for _ in range(rows)])
        done += rows


def bootstrap_counts(n: int, n_boot: int, seed: int, *, block: int = BOOT_BLOCK) -> Iterator[np.ndarray]:
    """Like :func:`bootstrap_indices` but yields (rows, n) float64 count matrices
    ``W[b, p]`` = how often prompt ``p`` is drawn in resample ``b``."""
    for idx in bootstrap_indices(n, n_boot, seed, block=block):
        yield counts_from_indices(idx, n)


def counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    rows = idx.shape[0]
    flat = (idx + (np.arange(rows, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def as_count(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return int(v)


def as_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return int(seed)


def quantiles(samples: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """NaN-ignoring linear-interpolation quantiles along the last axis.

    ``q`` broadcasts against ``samples.shape[:-1]`` (per-element levels, as BCa
    needs). All-NaN rows give NaN without warnings.
    """
    s = np.sort(samples, axis=-1)  # NaN sorts last
    k = np.isfinite(s).sum(axis=-1)
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), k.shape)
    pos = q * np.maximum(k - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
    frac = pos - lo
    vlo = np.take_along_axis(s, lo[..., None], axis=-1)[..., 0]
    vhi = np.take_along_axis(s, hi[..., None], axis=-1)[..., 0]
    out = vlo + (vhi - vlo) * frac
    return np.where(k > 0, out, np.nan)


def finite_or_none(x: Any) -> float | None:
    """JSON-ready float: NaN/inf become None."""
    f = float(x)
    return f if math.isfinite(f) else None
