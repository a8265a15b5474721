"""Pure numpy / pure-Python oracles of every kernel, for tests.

Written for clarity, not speed: float64 throughout, one obvious loop per
definition. The kernels must agree with these to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np


def _cos_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.sqrt((a * a).sum(axis=1))
    nb = np.sqrt((b * b).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ia = np.where(na == 0, 0.0, 1.0 / na)
        ib = np.where(nb == 0, 0.0, 1.0 / nb)
        ia = np.where(np.isnan(na), np.nan, ia)
        ib = np.where(np.isnan(nb), np.nan, ib)
        m = (a @ b.T) * ia[:, None] * ib[None, :]
    return np.clip(m, -1.0, 1.0)


def cosine_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = (a * b).sum(axis=1)
    na = (a * a).sum(axis=1)
    nb = (b * b).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = dot / (np.sqrt(na) * np.sqrt(nb))
    c = np.where((na == 0) | (nb == 0), 0.0, c)
    c = np.where(np.isnan(dot) | np.isnan(na) | np.isnan(nb), np.nan, c)
    return np.clip(c, -1.0, 1.0)


def reduce_similarity(sim: np.ndarray, reduce: str) -> float:
    """The grouped reductions on one na×nb cosine matrix."""
    if sim.size == 0:
        return float("nan")
    if reduce == "mean":
        return float(sim.mean())
    if reduce == "max":
        return float(sim.max())  # NaN propagates through np.max
    p = float(sim.max(axis=1).mean())
    r = float(sim.max(axis=0).mean())
    if reduce == "precision":
        return p
    if reduce == "recall":
        return r
    if reduce == "f1":
        if np.isnan(p) or np.isnan(r):
            return float("nan")
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)
    raise ValueError(reduce)


def cosine_grouped(a, a_offsets, b, b_offsets, reduce: str = "mean") -> np.ndarray:
    out = np.empty(len(a_offsets) - 1, dtype=np.float64)
    for g in range(len(out)):
        sa = a[a_offsets[g] : a_offsets[g + 1]]
        sb = b[b_offsets[g] : b_offsets[g + 1]]
        if len(sa) == 0 or len(sb) == 0:
            out[g] = np.nan
            continue
        out[g] = reduce_similarity(_cos_matrix(sa, sb), reduce)
    return out


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full cosine matrix (zero rows → 0, NaN rows → NaN)."""
    return _cos_matrix(a, b)


def cosine_topk(queries, corpus, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by cosine, ties by lower index, NaN last."""
    sim = _cos_matrix(queries, corpus)
    scores = np.empty((sim.shape[0], k))
    idx = np.empty((sim.shape[0], k), dtype=np.int64)
    for i, row in enumerate(sim):
        key = np.where(np.isnan(row), np.inf, -row)
        order = np.lexsort((np.arange(len(row)), key))[:k]
        scores[i] = row[order]
        idx[i] = order
    return scores, idx


# =============================================================================
# Calibration oracle (distillscope.calibrate): the distillation degree of one
# (student, candidate, granularity) written as plain loops over resamples,
# prompts and models, straight from the formula in calibrate's docstring.
# =============================================================================
def _ref_mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return sum(vals) / len(vals) if vals else math.nan


def degree_reference(table, student: str, candidate: str, granularity: str, prompts,
                     *, baseline: str = "pair-mean", clip=(-1.0, 1.0), min_span: float = 0.05,
                     max_score: float = 1.0) -> float:
    """Degree over the prompt multiset ``prompts`` (a list of indices, repeats allowed)."""
    t = table.tensor(granularity)
    i, j = table.index_of(student), table.index_of(candidate)
    m = len(table.models)
    null_t = table._null.get(granularity)
    ceil_t = table._ceil.get(granularity)
    raw, pop, nul, cs, ct = [], [], [], [], []
    for p in prompts:
        s = float(t[i, j, p])
        if math.isnan(s):
            continue
        raw.append(s)
        ms = _ref_mean([float(t[i, k, p]) for k in range(m) if k not in (i, j)])
        mt = _ref_mean([float(t[j, k, p]) for k in range(m) if k not in (i, j)])
        pop.append(_ref_mean([ms, mt]))
        nul.append(float(null_t[i, j, p]) if null_t is not None else math.nan)
        cs.append(float(ceil_t[i, p]) if ceil_t is not None else math.nan)
        ct.append(float(ceil_t[j, p]) if ceil_t is not None else math.nan)
    r, po, nu, c_s, c_t = (_ref_mean(x) for x in (raw, pop, nul, cs, ct))
    if math.isnan(r):
        return math.nan
    if baseline == "null":
        b = nu
    else:
        b = max((x for x in (po, nu) if not math.isnan(x)), default=math.nan)
    if not math.isnan(c_s) and not math.isnan(c_t):
        c = math.sqrt(max(c_s, 0.0) * max(c_t, 0.0))
    else:
        c = c_s if not math.isnan(c_s) else c_t
    f = nu if not math.isnan(nu) else b
    if math.isnan(c) or c - f < min_span:
        c = max_score
    span = c - f
    if not span > 0 or math.isnan(b):
        return math.nan
    return min(max((r - b) / span, clip[0]), clip[1])
