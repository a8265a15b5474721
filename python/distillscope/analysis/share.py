"""The distillation degree as a rate: the share of S's answers derived from T.

Why a rate, and why per prompt
------------------------------
A ratio of mean similarities ("how much closer than the baseline, over the
attainable range") is not a rate: edits, one-sample ceilings and generic
teachers all move it away from the share of copied answers. Here each prompt
is a trial. A derived answer stands out from the answers other models give
to the same prompt; an unrelated one does not. If ``F0`` is the distribution
of the similarity an *unrelated* answer has to T's answer (learned from the
population on the same prompts), and a derived answer lands above the
``q``-quantile ``tau`` of ``F0``, then for a student that takes a share ``r``
of its answers from T::

    P(x_p < tau) = (1 - r) * F0(tau)   =>   r = 1 - P(x_p < tau) / F0(tau)

This is a two-component mixture ("unrelated" = ``F0``, "derived" = above
``tau``) whose weight is read off the lower part of the distribution, where
only unrelated answers live. The estimator is linear in per-prompt
indicators, so the paired prompt bootstrap of :mod:`.degree` applies as is.

The residual (pair-mean baseline, made robust)
----------------------------------------------
Per prompt ``p`` the similarity matrix ``t[:, :, p]`` of all models is
double-centred with medians::

    e[a, b, p] = t[a, b, p] - med_a(p) - med_b(p) + med(p)

``med_a(p)``: median similarity of ``a``'s answer to every other model's
answer to ``p`` (how generic ``a``'s answer is); ``med(p)``: median of all
pairs (how formulaic the prompt is). This is today's pair-mean population
baseline with medians in place of means: a teacher everyone resembles a
little is not a teacher of everyone, and because medians ignore the upper
half, a population full of one teacher's clones does not turn that teacher
"generic" (up to half of a row may be clones on a prompt).

The null, leaving clones out
----------------------------
``F0`` for the pair (S, T) pools the residuals of S and of T with every
other model M, ``e[S, M, :]`` and ``e[M, T, :]``, *except* pairs that a first
pass flags as derived (estimated share above ``clone_cutoff`` against a
robust Gaussian null: median and lower-half MAD of all residuals). A student
population of one teacher therefore does not inflate the teacher's null.
When fewer than ``min_models`` models are present, the population cannot
centre anything and the shuffled-prompt null (``S_p`` against ``T_pi(p)``)
is used instead, on raw scores.

What it cannot tell
-------------------
Direction: the pair is symmetric, so "S copies T" and "T copies S" (or both
copy a third model) give the same share. Heavy edits (paraphrase) move some
derived answers below ``tau``: those count as unrelated, so the share is
underestimated by the fraction of derived answers the edit hides (see
docs/calibration.md for measured numbers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SERIES", "residuals", "flag_derived", "share_series", "share_from_means"]

SERIES = ("below", "null_below", "null_count")


def residuals(t: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """Median double-centred residuals of a (m, m, n) similarity tensor (NaN
    diagonal / missing). Pairs marked in the (m, m) bool ``exclude`` (derived
    pairs) do not enter the medians; every pair still gets a residual."""
    c = t if exclude is None else np.where(exclude[:, :, None], np.nan, t)
    with np.errstate(invalid="ignore"), _quiet():
        row = np.nanmedian(c, axis=1)  # (m, n)
        allm = np.nanmedian(c.reshape(-1, c.shape[-1]), axis=0)  # (n,)
    return t - row[:, None, :] - row[None, :, :] + allm[None, None, :]


class _quiet:
    """Silence numpy's all-NaN slice warnings (all-NaN medians are NaN on purpose)."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)


def _share_of(x: np.ndarray, tau: float, f0: float) -> float:
    ok = np.isfinite(x)
    if not ok.any() or not f0 > 0:
        return float("nan")
    return 1.0 - float((x[ok] < tau).mean()) / f0


def flag_derived(e: np.ndarray, *, quantile: float, cutoff: float) -> np.ndarray:
    """First pass: (m, m) bool, True where a pair's share exceeds ``cutoff``
    against a robust Gaussian null of all residuals (median, lower-half MAD)."""
    m = e.shape[0]
    iu = np.triu_indices(m, 1)
    vals = e[iu].ravel()
    vals = vals[np.isfinite(vals)]
    flags = np.zeros((m, m), dtype=bool)
    if vals.size < 10:
        return flags
    med = float(np.median(vals))
    low = vals[vals <= med]
    sigma = 1.4826 * float(np.median(med - low)) if low.size else 0.0
    if not sigma > 0:
        return flags
    from statistics import NormalDist

    tau = med + sigma * NormalDist().inv_cdf(quantile)
    for a, b in zip(*iu):
        r = max(_share_of(e[a, b], tau, quantile), _share_of(e[b, a], tau, quantile))
        if r > cutoff:
            flags[a, b] = flags[b, a] = True
    return flags


def share_series(
    t: np.ndarray,
    null_t: np.ndarray | None,
    si: np.ndarray,
    ci: np.ndarray,
    *,
    quantile: float = 0.98,
    clone_cutoff: float = 0.1,
    min_models: int = 4,
) -> dict[str, np.ndarray]:
    """Per-prompt series of the share estimator for a student x candidate grid.

    Returns ``{"below", "null_below", "null_count", "baseline"}`` each (nS, nC,
    n): ``below`` is 1 where S's answer to p looks unrelated to T's (residual
    under ``tau``), 0 where it stands out, NaN where the pair has no score;
    ``null_below`` / ``null_count`` count the null pool's residuals under
    ``tau`` / in total at p; ``baseline`` is the per-prompt centre subtracted
    (the robust pair-mean baseline, in score units). The share is
    ``1 - mean(below) / (sum(null_below) / sum(null_count))``.
    """
    m, _, n = t.shape
    nS, nC = len(si), len(ci)
    out = {k: np.full((nS, nC, n), np.nan) for k in SERIES + ("baseline",)}
    use_pop = m >= min_models
    if use_pop:
        flags = flag_derived(residuals(t), quantile=quantile, cutoff=clone_cutoff)
        e = residuals(t, flags)
        base = t - e
    elif null_t is None:
        return out
    for a_pos, s in enumerate(si):
        for b_pos, c in enumerate(ci):
            if s == c:
                continue
            if use_pop:
                x = e[s, c]
                others = [k for k in range(m) if k not in (s, c)]
                pool_rows = [e[s, k] for k in others if not flags[s, k]]
                pool_rows += [e[k, c] for k in others if not flags[k, c]]
                if not pool_rows:  # everyone is a clone: fall back to every other pair
                    pool_rows = [e[s, k] for k in others] + [e[k, c] for k in others]
                pool = np.stack(pool_rows)  # (k, n)
                out["baseline"][a_pos, b_pos] = base[s, c]
            else:
                x = t[s, c]
                pool = null_t[s, c][None, :]
            vals = pool[np.isfinite(pool)]
            valid = np.isfinite(x)
            if vals.size == 0 or not valid.any():
                continue
            tau = float(np.quantile(vals, quantile))
            fin = np.isfinite(pool)
            below = np.where(valid, (x < tau).astype(np.float64), np.nan)
            nb = np.where(valid, ((pool < tau) & fin).sum(axis=0).astype(np.float64), np.nan)
            nc = np.where(valid, fin.sum(axis=0).astype(np.float64), np.nan)
            out["below"][a_pos, b_pos] = below
            out["null_below"][a_pos, b_pos] = nb
            out["null_count"][a_pos, b_pos] = nc
    return out


def share_from_means(below: np.ndarray, null_below: np.ndarray, null_count: np.ndarray) -> np.ndarray:
    """The share from means over prompts (elementwise; NaN where undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        f0 = null_below / null_count
        return np.where(f0 > 0, 1.0 - below / f0, np.nan)
