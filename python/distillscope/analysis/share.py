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
threshold ``tau`` (about the 98th percentile of ``F0``), then for a student that takes a share ``r``
of its answers from T::

    P(x_p < tau) = (1 - r) * F0(tau)   =>   r = 1 - P(x_p < tau) / F0(tau)

This is a two-component mixture ("unrelated" = ``F0``, "derived" = above
``tau``) whose weight is read off the lower part of the distribution, where
only unrelated answers live. The estimator is linear in per-prompt
indicators, so the paired prompt bootstrap of :mod:`.degree` applies as is.

The residual (the higher of the two partners' centres)
------------------------------------------------------
Per prompt ``p``, with ``med_a(p; not b)`` the median similarity of ``a``'s
answer to every other model's answer to ``p`` except ``b``'s (how generic
``a``'s answer is)::

    e[a, b, p] = t[a, b, p] - max(med_a(p; not b), med_b(p; not a))

S's answer stands out as derived from T's when it is closer to T's answer
than the other models' answers are to T's (``t - med_T``) AND closer to T's
than to the other models' answers (``t - med_S``): the residual is the
smaller of those two excesses. A teacher everyone resembles a little is not
a teacher of everyone (``t - med_T`` stays near 0 for its strangers), a
student with a generic answer is not derived from everyone (``t - med_S``
does the same). Medians ignore the upper half, so a population full of one
teacher's clones does not turn that teacher "generic" (up to half of a row
may be clones on a prompt).

Why not the double-centred ``t - med_S - med_T + med`` (degree v3): when S
copies T's answer to ``p``, S's answer *is* T's, so ``med_S(p)`` rises to
``med_T(p)`` on exactly the copied prompts and double centring subtracts
the teacher's genericness twice. With a generic teacher and several samples
per prompt that pushed copies under ``tau`` (an exact copy measured 0.94,
a light one 0.89) and biased intervals (coverage 46-91 %); the larger
centre subtracts it once (docs/calibration.md).

The null, leaving clones out
----------------------------
``F0`` for the pair (S, T) pools the residuals of S and of T with every
other model M, ``e[S, M, :]`` and ``e[M, T, :]``, except pairs flagged as
derived (share above ``clone_cutoff``, found in rounds by
:func:`find_clones`); flagged pairs leave the medians too, and every
row median leaves the pair itself out. When exactly one partner is generic (its mean centre a robust outlier
among the models', see :func:`_generic_side`), the pool is that partner's
side only: an unrelated answer's residual against a generic model is
distributed like the other models' residuals against it. ``tau`` is set from the pool's centre
and lower spread (median + k x (median - lower quartile)), which clones
in its upper tail cannot move; pool entries beyond a fence far above
``tau`` leave the count (weak clones that slipped in). With fewer than
``min_models`` models the shuffled-prompt null (``S_p`` against
``T_pi(p)``, raw scores) is the pool.

The zero's spread (v7)
----------------------
``F0`` is one rate pooled over a handful of unrelated pairs, and real
unrelated pairs do not share one rate (on AlpacaEval a stranger's own share
toward a teacher runs from -0.03 to +0.01). ``null_spread`` is the
between-row standard deviation of the pool rows' rates under ``tau``
(:func:`_between_rows_sd`, DerSimonian-Laird: 0 when the rows differ by no
more than binomial noise); :mod:`.degree` carries it to the share
(``zero_sd``) and widens the interval by it. The share itself does not use it.

What it cannot tell
-------------------
Direction: the pair is symmetric, so "S copies T" and "T copies S" (or both
copy a third model) give the same share. Heavy edits (paraphrase) move some
derived answers below ``tau``: those count as unrelated, so the share is
underestimated by the fraction of derived answers the edit hides (see
docs/calibration.md for measured numbers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["SERIES", "residuals", "find_clones", "share_series", "share_from_means"]

SERIES = ("below", "null_below", "null_count", "null_spread")
_CENTRE = 0.5  # row centres: medians (clones are left out of them by find_clones)
_FENCE = 2.0
_MIN_SIDE_ROWS = 4  # unrelated pairs a one-sided null needs (else both sides pool)
_GENERIC_Z = 3.0  # robust z of a model's mean centre that makes it generic (its own null side)
MAX_SCORE = 1.0  # every granularity's similarity of identical answers (all metrics are on a 0-1 scale)
_UPPER = 0.9  # a pair's upper decile: what clone detection looks at
_MIN_ROW_PROMPTS = 10  # a pool row's prompts needed for its own rate (between-row spread)
_OUTLIER = 3.5  # MADs above the pairs' median that flag a pair  # fence = tau + 2 (tau - median): ~6 sigma above the centre of a Gaussian null


def residuals(t: np.ndarray, exclude: np.ndarray | None = None, *, double: bool = False, centres: bool = False) -> Any:
    """Residuals ``e[a, b] = t[a, b] - max(med(a; not b), med(b; not a))`` of a
    (m, m, n) similarity tensor (NaN diagonal / missing): the pair's score
    above the higher of the two partners' median score to the other models.

    Each row's median leaves the pair itself out, so every residual is out of
    sample (a pair's own score never pulls its centre towards it, whether the
    pair is a clone or not, which keeps the target pair and its null pool
    alike). Pairs marked in the (m, m) bool ``exclude`` (derived pairs) do not
    enter any median; a row left with nothing falls back to its plain values.
    ``double`` gives v3's double-centred ``t - med(a) - med(b) + med(all)``,
    which :func:`find_clones` uses to find the clones. ``centres`` also
    returns the row medians ``row[a, b] = med(a; not b)``, (m, m, n).
    """
    m, _, n = t.shape
    c = t if exclude is None else np.where(exclude[:, :, None], np.nan, t)
    row = np.empty((m, m, n))  # row[a, b] = median of row a without b
    with np.errstate(invalid="ignore"), _quiet():
        for b in range(m):
            cb = c.copy()
            cb[:, b, :] = np.nan
            r = _nanq(cb, _CENTRE, 1)
            fallback = _nanq(np.delete(t, b, axis=1), _CENTRE, 1)
            row[:, b] = np.where(np.isfinite(r), r, fallback)
        if double:
            allm = _nanq(c.reshape(-1, n), _CENTRE, 0)
            allm = np.where(np.isfinite(allm), allm, _nanq(t.reshape(-1, n), _CENTRE, 0))
            return t - row - np.swapaxes(row, 0, 1) + allm[None, None, :]
    e = t - np.fmax(row, np.swapaxes(row, 0, 1))
    return (e, row) if centres else e


def _nanq(x: np.ndarray, q: float, axis: int) -> np.ndarray:
    """NaN-ignoring linear quantile along ``axis`` (vectorized: np.nanquantile
    loops in Python over every slice). All-NaN slices give NaN."""
    s = np.sort(np.moveaxis(x, axis, -1), axis=-1)  # NaN sorts last
    k = np.isfinite(s).sum(axis=-1)
    pos = q * np.maximum(k - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
    vlo = np.take_along_axis(s, lo[..., None], axis=-1)[..., 0]
    vhi = np.take_along_axis(s, hi[..., None], axis=-1)[..., 0]
    return np.where(k > 0, vlo + (vhi - vlo) * (pos - lo), np.nan)


class _quiet:
    """Silence numpy's all-NaN slice warnings (all-NaN medians are NaN on purpose)."""

    def __enter__(self) -> None:
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._w.__exit__(*exc)  # type: ignore[arg-type]


def _generic_side(row: np.ndarray) -> Any:
    """``side_of(s, c)``: which side's residuals make the null of the pair.

    A model whose answers every other model resembles (a generic model: its
    mean centre a robust outlier, more than ``_GENERIC_Z`` robust standard
    deviations above the models' median) has a null of its own: an
    unrelated answer's residual against a generic T is distributed like the
    other models' residuals against T (measured on the simulator at r = 0:
    2.2 % above tau for the pair, 1.9 % for T's side, 1.0 % for S's side, so
    pooling both sides read strangers to a generic teacher at 0.006-0.009).
    When neither partner (or both) stands out, both sides pool."""
    m = row.shape[0]
    with np.errstate(invalid="ignore"), _quiet():
        per_pair = np.nanmean(row, axis=-1)  # [a, b]: a's mean centre with b left out
        g = np.array([np.nanmean(np.delete(per_pair[a], a)) for a in range(m)])
        med = np.nanmedian(g)
        mad = 1.4826 * np.nanmedian(np.abs(g - med))
    z = (g - med) / mad if mad > 0 else np.zeros(m)
    generic = np.nan_to_num(z, nan=0.0) > _GENERIC_Z

    def side_of(s: int, c: int) -> str:
        if generic[s] == generic[c]:
            return "both"
        return "s" if generic[s] else "c"

    return side_of


def _pool(e: np.ndarray, s: int, c: int, flags: np.ndarray, side: str = "both") -> np.ndarray:
    """Null pool of the pair (s, c): residuals of s and of c with every other model
    whose pair is not flagged as derived, (k, n); every other pair when all are.

    ``side``: ``"s"`` keeps only s's residuals, ``"c"`` only c's, when that side
    has at least ``_MIN_SIDE_ROWS`` of them (else both sides pool)."""
    others = [k for k in range(e.shape[0]) if k not in (s, c)]
    srows = [e[s, k] for k in others if not flags[s, k]]
    crows = [e[k, c] for k in others if not flags[k, c]]
    if side == "s" and len(srows) >= _MIN_SIDE_ROWS:
        crows = []
    elif side == "c" and len(crows) >= _MIN_SIDE_ROWS:
        srows = []
    rows = srows + crows
    if not rows:
        rows = [e[s, k] for k in others] + [e[k, c] for k in others]
    return np.stack(rows) if rows else np.full((1, e.shape[-1]), np.nan)


def _pair_terms(
    x: np.ndarray, pool: np.ndarray, threshold: float, headroom: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(below, null_below, null_count, null_spread) per prompt for scores x against a null
    pool (the attribution tie-break is ``strength`` in analysis/terms.py).

    ``headroom`` (per prompt): the residual a copy of the candidate's answer
    would have (``MAX_SCORE`` minus the candidate's centre: it must not depend
    on the student's answer, or copied prompts would be kept more often than
    the others and the share would read high). Where it is under ``tau`` not even a copy
    could stand out (every model's answer is already about as close to T's
    as a copy: a saturated granularity on a formulaic prompt), so the prompt
    tells nothing about derivation and leaves the pair's series (NaN), for
    the pair and its null alike."""
    fin = np.isfinite(pool)
    valid = np.isfinite(x)
    if not fin.any() or not valid.any():
        return None
    vals = pool[fin]
    # tau from the centre and lower spread of the pool (robust to clones in its
    # upper tail): median + k (median - lower quartile), ~ the 98th percentile
    # of a Gaussian null for k = 3
    med, q1 = np.quantile(vals, [0.5, 0.25])
    tau = float(med + threshold * (med - q1))
    # pool entries beyond the fence are derived answers that slipped into the
    # null (a weak clone that was not flagged): they leave the count, not only the tail
    fence = tau + _FENCE * (tau - float(med))
    if headroom is not None:
        valid = valid & (np.nan_to_num(headroom, nan=np.inf) >= tau)
    below = np.where(valid, (x < tau).astype(np.float64), np.nan)
    nb = np.where(valid, ((pool < tau) & fin).sum(axis=0).astype(np.float64), np.nan)
    nc = np.where(valid, ((pool < fence) & fin).sum(axis=0).astype(np.float64), np.nan)
    spread = np.where(valid, _between_rows_sd(pool, fin & valid[None, :], tau, fence), np.nan)
    return below, nb, nc, spread


def _between_rows_sd(pool: np.ndarray, ok: np.ndarray, tau: float, fence: float) -> float:
    """How much the rate under ``tau`` differs between the pool's unrelated pairs
    beyond what their prompts' sampling explains: the between-row standard
    deviation of a random-effects model (DerSimonian-Laird moment estimator;
    0 when the rows agree up to binomial noise).

    The share's zero is "as alike as an unrelated model": the pool estimates
    that rate from a handful of real pairs, and real unrelated pairs do not
    all sit at one rate (on AlpacaEval a stranger's own share toward a
    teacher runs from -0.03 to +0.01). A student's non-derived answers come
    from one such model, not from the pool's average, so the interval has to
    carry that spread; the prompt bootstrap alone cannot see it."""
    inside = ok & (pool < fence)
    cnt = inside.sum(axis=1).astype(np.float64)
    keep = cnt >= _MIN_ROW_PROMPTS
    if keep.sum() < 2:
        return 0.0
    cnt = cnt[keep]
    rate = ((pool < tau) & inside).sum(axis=1)[keep] / cnt
    f0 = float((rate * cnt).sum() / cnt.sum())
    v = f0 * (1.0 - f0)
    if v <= 0.0:
        return 0.0
    w = cnt / v  # inverse binomial variances
    q = float((w * (rate - f0) ** 2).sum())
    denom = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (len(cnt) - 1)) / denom) if denom > 0 else 0.0
    return math.sqrt(tau2)


def _share_point(terms: tuple[np.ndarray, ...] | None) -> float:
    if terms is None:
        return float("nan")
    below, nb, nc = terms[:3]
    ok = np.isfinite(below)
    return float(share_from_means(below[ok].mean(), nb[ok].sum(), nc[ok].sum()))


def _binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (exact)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return float(min(1.0, math.exp(top) * sum(math.exp(x - top) for x in terms)))


def _stands_out(terms: tuple[np.ndarray, ...] | None, alpha: float) -> bool:
    """Whether more of the pair's prompts clear ``tau`` than unrelated answers
    would by chance: a one-sided binomial test of the count above ``tau``
    against the null pool's rate above it."""
    if terms is None:
        return False
    below, nb, nc = terms[:3]
    ok = np.isfinite(below)
    n = int(ok.sum())
    k = n - int(below[ok].sum())
    p0 = 1.0 - float(nb[ok].sum()) / max(float(nc[ok].sum()), 1.0)
    return _binom_sf(k, n, max(p0, 1.0 / max(n, 1))) < alpha


def find_clones(t: np.ndarray, *, threshold: float, cutoff: float, rounds: int = 3, alpha: float = 1e-3) -> np.ndarray:
    """(m, m) bool: pairs whose share exceeds ``cutoff`` AND whose count of
    prompts above ``tau`` is significant (binomial test at ``alpha``): with
    few prompts a share of a few percent is one or two chance prompts, and
    flagging such pairs would strip the row medians and null pools of the
    very unrelated pairs they need.

    Detection uses the double-centred residual of degree v3 (it finds a
    family of students that make up most of their teacher's row, the larger
    centre does not); the share itself then uses the larger centre. Round 1
    centres with every pair and pools every other pair: clones in a pool
    raise ``tau`` and clones in a row raise its centre, so round 1
    under-flags rather than over-flags. Each next round leaves the flagged
    pairs out of centres and pools and re-scores every pair, until the flags
    stop changing.
    """
    m = t.shape[0]
    flags = np.zeros((m, m), dtype=bool)
    for _ in range(rounds):
        # clones are found with the double-centred residual: when most of a
        # row are one teacher's blends, every centre is high and the larger
        # centre leaves no pair standing out (the pool's lower spread, from
        # the strangers, then puts tau out of reach)
        e = residuals(t, flags if flags.any() else None, double=True)
        new = np.zeros_like(flags)
        for a in range(m):
            for b in range(a + 1, m):
                ab = _pair_terms(e[a, b], _pool(e, a, b, flags), threshold)
                ba = _pair_terms(e[b, a], _pool(e, b, a, flags), threshold)
                if any(_share_point(x) > cutoff and _stands_out(x, alpha) for x in (ab, ba)):
                    new[a, b] = new[b, a] = True
        if np.array_equal(new, flags):
            break
        flags = new
    return flags


def share_series(
    t: np.ndarray,
    null_t: np.ndarray | None,
    si: np.ndarray,
    ci: np.ndarray,
    *,
    threshold: float = 3.0,
    clone_cutoff: float = 0.05,
    min_models: int = 4,
) -> dict[str, np.ndarray]:
    """Per-prompt series of the share estimator for a student x candidate grid.

    Returns ``{"below", "null_below", "null_count", "null_spread", "baseline"}`` each
    (nS, nC, n): ``below`` is 1 where S's answer to p looks unrelated to T's
    (residual under ``tau``), 0 where it stands out, NaN where the pair has no score;
    ``null_below`` / ``null_count`` count the null pool's residuals under
    ``tau`` / in total at p; ``null_spread`` is the pair's between-row spread
    of the pool's rate (constant over the pair's prompts); ``baseline`` is the per-prompt centre subtracted
    (the robust pair-mean baseline, in score units). The share is
    ``1 - mean(below) / (sum(null_below) / sum(null_count))``. The flags
    (which pairs are clones) depend on the whole table only, so a pair's
    numbers do not depend on which students or candidates are asked for.
    """
    m, _, n = t.shape
    nS, nC = len(si), len(ci)
    out = {k: np.full((nS, nC, n), np.nan) for k in SERIES + ("baseline",)}
    use_pop = m >= min_models
    if use_pop:
        flags = find_clones(t, threshold=threshold, cutoff=clone_cutoff)
        e, row = residuals(t, flags, centres=True)
        base = t - e
        side_of = _generic_side(row)
    elif null_t is None:
        return out
    for a_pos, s in enumerate(si):
        for b_pos, c in enumerate(ci):
            if s == c:
                continue
            if use_pop:
                pool = _pool(e, s, c, flags, side_of(s, c))
                # a copy of c's answer has c's centre: whether it could stand out
                # depends on c alone, never on whether s's answer is a copy
                terms = _pair_terms(e[s, c], pool, threshold, MAX_SCORE - row[c, s])
                out["baseline"][a_pos, b_pos] = base[s, c]
            else:
                terms = _pair_terms(t[s, c], null_t[s, c][None, :], threshold)  # type: ignore[index]
            if terms is not None:
                for k, v in zip(SERIES, terms):
                    out[k][a_pos, b_pos] = v
    return out


def share_from_means(below: np.ndarray, null_below: np.ndarray, null_count: np.ndarray) -> np.ndarray:
    """The share from means over prompts (elementwise; NaN where undefined)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        f0 = null_below / null_count
        return np.where(f0 > 0, 1.0 - below / f0, np.nan)
