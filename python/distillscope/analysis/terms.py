"""Per-prompt series and the degree formula behind :mod:`distillscope.analysis.degree`.

``pair_series`` builds, for one granularity and a (students x candidates)
grid, the per-prompt series whose means over (resampled) prompts give every
reported term: raw similarity, the pair-mean population, the shuffled-prompt
null, the self-similarity ceilings, and the share estimator's counts from
:mod:`distillscope.analysis.share` (``below``, ``null_below``,
``null_count``, ``center``). ``degree_from_means`` turns those means into the
degree (a share, clipped) and the reported context terms.
"""

from __future__ import annotations

import numpy as np

from .share import share_from_means, share_series
from .table import ScoreTable

__all__ = ["TERMS", "pair_series", "degree_from_means", "nanmean2"]

TERMS = (
    "raw",
    "population",
    "null",
    "ceil_s",
    "ceil_t",
    "below",
    "null_below",
    "null_count",
    "center",
    "above_x",
    "stands_out",
    "null_spread",
)


def pair_series(
    table: ScoreTable, g: str, si: np.ndarray, ci: np.ndarray, *, threshold: float, min_models: int
) -> dict[str, np.ndarray]:
    """Per-prompt series of every term for the (student x candidate) grid: each
    (nS, nC, n), NaN where undefined (always NaN where the raw score is)."""
    t = table._sim[g]  # type: ignore[attr-defined]
    valid = np.isfinite(t)
    t0 = np.where(valid, t, 0.0)
    rowsum = t0.sum(axis=1)  # (m, n): diagonal is NaN -> contributes nothing
    rowcnt = valid.sum(axis=1)
    raw = t[np.ix_(si, ci)]
    vraw = np.isfinite(raw)
    with np.errstate(invalid="ignore", divide="ignore"):
        # m_p(S; not T): S's mean similarity to everyone except T (and itself)
        ms_num = rowsum[si][:, None, :] - t0[np.ix_(si, ci)]
        ms_den = rowcnt[si][:, None, :] - valid[np.ix_(si, ci)]
        ms = np.where(ms_den > 0, ms_num / ms_den, np.nan)
        # m_p(T; not S)
        tt0 = np.swapaxes(t0[np.ix_(ci, si)], 0, 1)
        tvalid = np.swapaxes(valid[np.ix_(ci, si)], 0, 1)
        mt_num = rowsum[ci][None, :, :] - tt0
        mt_den = rowcnt[ci][None, :, :] - tvalid
        mt = np.where(mt_den > 0, mt_num / mt_den, np.nan)
        pop = nanmean2(ms, mt)
    nul_t = table._null.get(g)  # type: ignore[attr-defined]
    nul = nul_t[np.ix_(si, ci)] if nul_t is not None else np.full_like(raw, np.nan)
    c = table._ceil.get(g)  # type: ignore[attr-defined]
    if c is not None:
        ceil_s = np.broadcast_to(c[si][:, None, :], raw.shape)
        ceil_t = np.broadcast_to(c[ci][None, :, :], raw.shape)
    else:
        ceil_s = ceil_t = np.full_like(raw, np.nan)
    out = {"raw": raw}
    for name, x in (("population", pop), ("null", nul), ("ceil_s", ceil_s), ("ceil_t", ceil_t)):
        out[name] = np.where(vraw, x, np.nan)
    # the share reads the sample-matched scores where the table has them
    # (several samples per prompt; ScoreTable.matched), the raw ones otherwise
    tm, nul_m = table.degree_tensors(g)
    # every model as a candidate once (a pair's series do not depend on which
    # candidates are asked for); the tie-break below needs them all
    everyone = np.arange(len(table.models))
    sh_all = share_series(tm, nul_m, si, everyone, threshold=threshold, min_models=min_models)
    sh = {k: v[:, ci] for k, v in sh_all.items()}
    for name in ("below", "null_below", "null_count", "null_spread"):
        out[name] = sh[name]
    # The tie-break (``strength``): the (sample-matched) similarity of S to C
    # averaged over the prompts where S's answer stands out against *some*
    # model of the table. The set does not depend on C, so two candidates are
    # compared on the same prompts (paired): on prompts S and a sibling both
    # derived from T, S's answer is an edit of T's and two edits from the
    # sibling's. (A per-candidate set would compare the teacher's prompts with
    # the sibling's, which differ by the prompts only one of them copied.)
    stands = (sh_all["below"] == 0.0).any(axis=1).astype(np.float64)  # (nS, n)
    stands_out = np.where(vraw, stands[:, None, :], np.nan)
    out["above_x"] = tm[np.ix_(si, ci)] * stands_out
    out["stands_out"] = stands_out
    out["center"] = sh["baseline"]
    return out


def nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    fa, fb = np.isfinite(a), np.isfinite(b)
    with np.errstate(invalid="ignore"):
        both = (a + b) / 2.0
    return np.where(fa & fb, both, np.where(fa, a, np.where(fb, b, np.nan)))


def degree_from_means(
    raw: np.ndarray,
    pop: np.ndarray,
    null: np.ndarray,
    ceil_s: np.ndarray,
    ceil_t: np.ndarray,
    below: np.ndarray,
    null_below: np.ndarray,
    null_count: np.ndarray,
    center: np.ndarray,
    above_x: np.ndarray,
    stands_out: np.ndarray,
    null_spread: np.ndarray,
    *,
    baseline: str,
    clip: tuple[float, float],
    min_span: float,
    max_score: float,
) -> dict[str, np.ndarray]:
    """The share (see analysis/share.py) and the reported terms, elementwise over arrays of means."""
    unclipped = share_from_means(below, null_below, null_count)
    share = np.clip(unclipped, clip[0], clip[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        null_level = null_below / null_count
        # the share's sensitivity to the unrelated rate F0 is (1 - share) / F0: a
        # between-pair spread sd(F0) moves the share by that much (zero_sd)
        zero_sd = np.maximum(1.0 - unclipped, 0.0) * null_spread / null_level
        # how close S's standing-out answers are to C's, on average over them (0 when none does)
        strength = np.where(stands_out > 0.0, above_x / stands_out, 0.0)
        fs, ft = np.isfinite(ceil_s), np.isfinite(ceil_t)
        geo = np.sqrt(np.maximum(ceil_s, 0.0) * np.maximum(ceil_t, 0.0))
        ceil = np.where(fs & ft, geo, np.where(fs, ceil_s, np.where(ft, ceil_t, np.nan)))
        if baseline == "null":
            base = null
        else:
            base = np.fmax(pop, null)  # fmax ignores a NaN side
        floor = np.where(np.isfinite(null), null, base)
        informative = np.isfinite(ceil) & (ceil - floor >= min_span)
        c_eff = np.where(informative, ceil, max_score)
    base = np.where(np.isfinite(center), center, base)
    return {
        "degree": share,
        "baseline": base,
        "ceiling": c_eff,
        "unrelated": below,
        "null_level": null_level,
        "strength": strength,
        "zero_sd": zero_sd,
    }
