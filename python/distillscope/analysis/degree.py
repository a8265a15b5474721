"""Distillation degree (≈ share of S's answers derived from T) and bootstrap intervals.

Input is a :class:`ScoreTable`: per *granularity* (``"lexical"``,
``"semantic"``, ``"structural"``, ``"style"`` or a single metric such as
``"rougeL"``) one float array of per-prompt similarity scores per ordered
model pair ``(student, candidate)``, all over the same prompt index set
(NaN where a model lacks the prompt); optionally per-model self-similarity
arrays and per-pair shuffled-prompt null arrays.

The distillation degree (v6: a share)
------------------------------------
``degree_g(S, T)`` estimates **the share of S's answers derived from T**:
0 when S resembles T no more than an unrelated model answering the same
prompts does, 1 when every answer derives from T (an exact copy gives 1.0),
r for a student that takes r of its answers from T. The estimator and its
justification are in :mod:`distillscope.analysis.share`; in short, per
prompt ``p``::

    e_p    = s_p(S, T) - max(med_p(S; not T), med_p(T; not S))   residual over the higher centre
    pool   = e_p(S, M), e_p(M, T) for every other model M not flagged as T's / S's clone
             (only the generic partner's side when exactly one of S, T is generic)
    tau    = median(pool) + k * (median(pool) - lower quartile(pool))         (k = ``threshold``)
    below  = mean_p [e_p < tau]                     share of S's answers that look unrelated
    F0     = #pool < tau / #pool < fence            the same for unrelated answers (null_level)

    degree_g(S, T) = clip( 1 - below / F0, 0, 1 )

    over the prompts where even an identical answer could stand out
    (headroom 1 - med_p(T; not S) >= tau: a copy of T's answer has T's
    centre): where every model's answer is already about
    as close to T's as a copy would be (a saturated granularity, e.g. sentence
    cosine on a formulaic prompt), a prompt says nothing about derivation and
    leaves the pair and its null alike (v5; v4 counted such copies as
    unrelated: a verbatim copy of a real AlpacaEval model read 0.74 at the
    semantic granularity and 0.87 combined, now 1.0 and 0.999). v5-v6 read
    the headroom off the pair's centre, max(S's, T's), so a prompt where S's
    own, non-copied answer was generic left while every copied prompt stayed:
    copies were over-represented and a real-answer mixture read high at the
    semantic granularity (r = 0.5: 0.53-0.55; coverage 0.83). v7 uses T's
    centre alone, which does not depend on whether S copied (0.96).

    With several samples per prompt, ``s_p`` is sample-matched (v6): every
    sample of S against its closest sample of T and every sample of T against
    its closest of S, the two means averaged (``ScoreTable.matched``; equal to
    the plain score with one sample). A derived sample comes from *one* of
    T's samples; v5's mean over all sample pairs diluted it by T's own
    sampling noise, and a lightly edited copy of a generic teacher with four
    samples read 0.98 with intervals that missed r in 23 % of cases.

A derived answer stands out (``e_p >= tau``); an unrelated one falls under
``tau`` with probability F0; so ``below = (1 - r) F0``. Clones of T in the
population (several students of one teacher) are found (share above
``clone_cutoff`` AND a count of prompts above ``tau`` that a one-sided
binomial test against the pool's rate finds significant at 1e-3; found with
v3's double-centred residual, which also finds blend families) and left
out of the medians and the pool, so they do not make T look "generic"; a teacher that
everyone resembles a little is centred away by its median, and a copy of it is
not (v3 subtracted both partners' medians, and on a copied prompt S's median
is T's: a generic teacher's copies were centred away twice). With fewer than
4 models (or ``baseline="null"``) the shuffled-prompt null replaces the
population. The degree cannot tell direction: S copying T, T copying S and
both copying a third model give the same share. Heavy edits hide some
derived answers under ``tau`` and lower the share (docs/calibration.md).

Reported with it, per granularity (means over the pair's prompts): ``raw``
similarity, ``population`` (today's pair-mean: ½ [mean_M s(S, M) + mean_M
s(T, M)]), ``baseline`` (the robust per-prompt centre the residual
subtracts), ``null`` (shuffled-prompt null, when given), ``ceiling`` (the
self-similarity ceiling, sqrt(self(S) self(T)), or ``max_score``; context
only), ``unrelated`` (= below) and ``null_level`` (= F0).

``tau`` uses k = 3 lower spreads (~2 sigma of a Gaussian null): on the
simulator (analysis/simulate.py; rates 0/0.3/0.7/1 x samples 1, 2 x
populations one/four/generic, 150 prompts) v3 gave mean |degree - r| 0.023
(exact), 0.024 (light edit), 0.11 (heavy), r = 1 -> 0.99; k = 5 gave 0.031 /
0.043 / 0.22 and r = 1 -> 0.95 (lightly edited copies near the unrelated
range's top were missed). With v4, k = 2 and 2.5 raised the degree of
strangers to a generic teacher to 0.035 / 0.015 at r = 0 (the null pool
fits the pair's unrelated answers less well further down the tail), so
k = 3 stays.

Derivation is about content, so the combined degree is estimated on the
content granularities: it is the weighted mean of the granularity degrees
that are defined for the pair (weights renormalised over them), by default
``lexical`` and ``semantic`` weigh 1, ``structural``, ``style`` and the
opt-in ``token`` 0 (all still reported per granularity). Unrelated models that share a house habit
(the same list format, the same closer) sit above the population on every
prompt at the format-sensitive granularities, so those do not separate a
derived answer from a same-format stranger (in the demo, style alone gave an
unrelated same-format pair 0.67). A table with none of those weighs all its
granularities equally. Each granularity estimates the same share, so their
weighted mean does too.

Attribution ties: when the best and the runner-up do not differ
significantly (paired bootstrap), the candidate S is closer to on the prompts
where S's answer stands out ranks first (``strength``: the mean score the
share reads, over the prompts where S stands out against *some* model of
the table, one set for every candidate so the comparison is paired; v5 used
each candidate's own set): a copy of T is closer to T than to another
student's copy of T, which resolves a student and its sibling copier.

Bootstrap
---------
Prompts are resampled with replacement ``n_boot`` times from one seeded
generator: the (B, n) index matrix is turned into a count matrix ``W`` and
every mean of every series (all pairs, all granularities, all terms) is
``W @ (x * valid) / W @ valid`` per block of resamples: one matrix-vector
product per distinct series (so a pair's numbers never depend on which other
series share the call) and one integer matrix product for the counts, no
Python loop over pairs or resamples. Differences between two candidates
for the same student use the same resampled prompts (paired bootstrap).
Intervals are percentile intervals, or BCa (``interval="bca"``, with a
closed-form jackknife over prompts), widened by the spread of the zero
point (v7): the unrelated models that set the share's zero do not all sit
at one rate (on AlpacaEval a stranger's own share toward a teacher runs
from -0.03 to +0.01), and a student's non-derived answers come from one of
them, not from their average. ``zero_sd`` is the pool rows' between-row
standard deviation of the rate under ``tau`` (DerSimonian-Laird: what is
left after each row's binomial noise; 0 when the rows agree), times the
share's sensitivity to that rate, ``(1 - share) / F0``; each side of the
interval adds ``z * zero_sd`` in quadrature. The bootstrap samples
(``boot``) and the paired tests between candidates are the prompt
bootstrap's alone. On the real-data construction (docs/calibration.md)
this lifted the coverage of lightly edited students from 0.885 to 0.925
(0.87 in v6, before bigram Jaccard scored identical one-word answers 1). Results depend only on the seed, the
number of prompts and the data — not on how many students or candidates are
requested together, nor on how the caller built the arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from ..stats import BOOT_BLOCK, as_count, as_seed, bootstrap_counts, counts_from_indices, finite_or_none, quantiles
from .table import COMBINED, ScoreTable
from .terms import TERMS, degree_from_means, pair_series

__all__ = [
    "DEFAULT_WEIGHTS",
    "COMBINED",
    "DEGREE_MEANING",
    "DegreeConfig",
    "DegreeResult",
    "compute_degrees",
]

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"lexical": 1.0, "semantic": 1.0, "structural": 0.0, "style": 0.0, "token": 0.0}
)
DEGREE_MEANING = (
    "≈ share of the student's answers derived from the candidate (0 = no more alike than "
    "unrelated models, 1 = a copy); direction (who copied whom) is not identified"
)
_CALIBRATION_VERSION = "7"
_TIE = 1e-12  # degree differences this small are floating-point noise
_BLOCK_ELEMENTS = 1 << 22  # series elements per student block (~32 MB per float64 array)


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class DegreeConfig:
    """How degrees and intervals are computed (see the module docstring).

    weights: granularity -> weight in the combined degree; None uses
        :data:`DEFAULT_WEIGHTS` restricted to the granularities present (or
        equal weights when none of those is present). Granularities missing
        from an explicit mapping weigh 0.
    baseline: ``"pair-mean"`` (the null of unrelated answers comes from the
        population on the same prompts, over the higher of the pair's median centres; the
        shuffled-prompt null when fewer than 4 models) or ``"null"``
        (shuffled-prompt null only, for populations that are all one family).
    threshold: ``tau`` = median + threshold x (median - lower quartile) of the
        null; a derived answer must exceed it (3 ~ the 98th percentile of a
        Gaussian null).
    (pairs that resemble each other beyond the population are found and
    left out of the centres and nulls automatically, see analysis/share.py)
    interval: ``"percentile"`` or ``"bca"``.
    clip: range the degree is clipped to ((0, 1): it is a share).
    min_span, max_score: only for the reported ``ceiling`` (self-similarity
        ceiling, or ``max_score`` when it is missing or within ``min_span``
        of the null); the degree does not use it.
    """

    weights: Mapping[str, float] | None = None
    baseline: Literal["pair-mean", "null"] = "pair-mean"
    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    interval: Literal["percentile", "bca"] = "percentile"
    clip: tuple[float, float] = (0.0, 1.0)
    min_span: float = 0.05
    max_score: float = 1.0
    threshold: float = 3.0

    def __post_init__(self) -> None:
        if self.baseline not in ("pair-mean", "null"):
            raise ValueError(f"baseline must be 'pair-mean' or 'null', got {self.baseline!r}")
        if self.interval not in ("percentile", "bca"):
            raise ValueError(f"interval must be 'percentile' or 'bca', got {self.interval!r}")
        n_boot = as_count(self.n_boot, "n_boot")
        if n_boot < 10:
            raise ValueError(f"n_boot must be >= 10 for meaningful intervals, got {n_boot}")
        as_seed(self.seed)
        if not 0.0 < float(self.confidence) < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        lo, hi = (float(x) for x in self.clip)
        if not lo < hi:
            raise ValueError(f"clip must be (low, high) with low < high, got {self.clip}")
        if not 0.5 <= float(self.threshold) <= 20.0:
            raise ValueError(f"threshold must be in [0.5, 20], got {self.threshold}")
        if not float(self.min_span) >= 0:
            raise ValueError(f"min_span must be >= 0, got {self.min_span}")
        if self.weights is not None:
            if not isinstance(self.weights, Mapping):
                raise TypeError("weights must be a mapping {granularity: weight}")
            for k, w in self.weights.items():
                if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                    raise ValueError(f"weight of {k!r} must be a finite number >= 0, got {w!r}")
            if not any(w > 0 for w in self.weights.values()):
                raise ValueError("at least one weight must be > 0")
            object.__setattr__(self, "weights", MappingProxyType(dict(self.weights)))

    def resolve_weights(self, granularities: Sequence[str]) -> dict[str, float]:
        if self.weights is None:
            w = {g: float(DEFAULT_WEIGHTS[g]) for g in granularities if DEFAULT_WEIGHTS.get(g, 0.0) > 0}
            if not w:
                w = {g: 1.0 for g in granularities}
        else:
            unknown = sorted(set(self.weights) - set(granularities))
            if unknown:
                raise ValueError(f"weights name granularities without scores: {unknown}; known: {list(granularities)}")
            w = {g: float(self.weights.get(g, 0.0)) for g in granularities}
            if not any(v > 0 for v in w.values()):
                raise ValueError("every granularity present has weight 0; give one a positive weight")
        return {g: v for g, v in w.items() if v > 0}

    def signature(self, granularities: Sequence[str] | None = None) -> str:
        w = self.resolve_weights(granularities) if granularities is not None else (self.weights or DEFAULT_WEIGHTS)
        ws = ",".join(f"{k}:{float(v):g}" for k, v in sorted(w.items()))
        return (
            f"degree:v{_CALIBRATION_VERSION}|share|baseline={self.baseline}|tau=med+{self.threshold:g}iqr_low|"
            f"clones=out|generic=own-side|saturated=out|samples=matched|clip={self.clip[0]:g}:{self.clip[1]:g}|weights={ws}|boot={self.n_boot}|"
            f"seed={self.seed}|ci={self.interval}@{self.confidence:g}+zero-spread"
        )


@dataclass(frozen=True)
class DegreeResult:
    """Degrees of every (student, candidate) pair at every level.

    ``levels`` are the granularities followed by ``"combined"``. Arrays are
    indexed ``[level, student, candidate]``; ``boot`` adds a trailing
    resample axis and holds the bootstrap degrees (for paired tests).
    Self pairs (student == candidate) are NaN.
    """

    students: tuple[str, ...]
    candidates: tuple[str, ...]
    levels: tuple[str, ...]
    weights: Mapping[str, float]
    config: DegreeConfig
    degree: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    raw: np.ndarray
    population: np.ndarray
    null: np.ndarray
    baseline: np.ndarray
    ceiling: np.ndarray
    unrelated: np.ndarray
    null_level: np.ndarray
    strength: np.ndarray
    zero_sd: np.ndarray
    n_prompts: np.ndarray
    boot: np.ndarray
    signature: str
    metric_signatures: Mapping[str, str]

    def _loc(self, student: str, candidate: str, level: str) -> tuple[int, int, int]:
        try:
            li = self.levels.index(level)
        except ValueError:
            raise ValueError(f"unknown level {level!r}; known: {list(self.levels)}") from None
        if student not in self.students:
            raise ValueError(f"{student!r} is not among the students {list(self.students)}")
        if candidate not in self.candidates:
            raise ValueError(f"{candidate!r} is not among the candidates {list(self.candidates)}")
        return li, self.students.index(student), self.candidates.index(candidate)

    def get(self, student: str, candidate: str, level: str = COMBINED) -> dict[str, float | None]:
        """JSON-ready numbers of one pair at one level."""
        li, s, c = self._loc(student, candidate, level)
        return {
            "degree": finite_or_none(self.degree[li, s, c]),
            "ci_low": finite_or_none(self.ci_low[li, s, c]),
            "ci_high": finite_or_none(self.ci_high[li, s, c]),
            "raw": finite_or_none(self.raw[li, s, c]),
            "baseline": finite_or_none(self.baseline[li, s, c]),
            "population": finite_or_none(self.population[li, s, c]),
            "null": finite_or_none(self.null[li, s, c]),
            "ceiling": finite_or_none(self.ceiling[li, s, c]),
            "unrelated": finite_or_none(self.unrelated[li, s, c]),
            "null_level": finite_or_none(self.null_level[li, s, c]),
            "strength": finite_or_none(self.strength[li, s, c]),
            "zero_sd": finite_or_none(self.zero_sd[li, s, c]),
        }

    def ranking(self, student: str, level: str = COMBINED) -> list[str]:
        """Candidates (other than the student) by degree, highest first; NaN last.
        When the best and the runner-up do not differ significantly (paired
        bootstrap), the one the student is closer to on the prompts where its
        answers stand out (``strength``, the same prompts for every candidate)
        comes first; exact ties otherwise go by name."""
        li, s, _ = self._loc(student, self.candidates[0], level)
        rows = [(c, float(self.degree[li, s, j])) for j, c in enumerate(self.candidates) if c != student]
        rows.sort(key=lambda r: (not math.isfinite(r[1]), -r[1] if math.isfinite(r[1]) else 0.0, r[0]))
        order = [c for c, _ in rows]
        # A tie in share (the runner-up within the paired bootstrap's noise of
        # the best) is broken by how close S is to each on the prompts where
        # S stands out: a copy of T is closer to T than to another student's
        # copy of T, so the source beats a sibling that shares the same
        # derived prompts.
        if len(order) >= 2 and math.isfinite(rows[1][1]):
            top, run = order[0], order[1]
            if not self.paired_difference(student, top, run, level)["significant"]:
                st = self.strength[li, s, self.candidates.index(top)]
                sr = self.strength[li, s, self.candidates.index(run)]
                if math.isfinite(float(sr)) and (not math.isfinite(float(st)) or sr > st + _TIE):
                    order[0], order[1] = run, top
        return order

    def paired_difference(self, student: str, a: str, b: str, level: str = COMBINED) -> dict[str, Any]:
        """Paired bootstrap of degree(student, a) - degree(student, b).

        Both degrees come from the same resampled prompts. ``p_value`` is the
        one-sided bootstrap p-value for "a beats b":
        (1 + #{resamples with difference <= 0}) / (1 + #resamples), where
        differences within 1e-12 of zero count as ties (<= 0).
        """
        li, s, ja = self._loc(student, a, level)
        _, _, jb = self._loc(student, b, level)
        diff = self.boot[li, s, ja] - self.boot[li, s, jb]
        point = self.degree[li, s, ja] - self.degree[li, s, jb]
        alpha = 1.0 - self.config.confidence
        lo, hi = quantiles(diff, alpha / 2), quantiles(diff, 1 - alpha / 2)
        ok = np.isfinite(diff)
        nb = int(ok.sum())
        # differences within rounding of zero are ties, never evidence
        p = (1.0 + float((diff[ok] <= _TIE).sum())) / (1.0 + nb) if nb else float("nan")
        return {
            "student": student,
            "best": a,
            "runner_up": b,
            "level": level,
            "difference": finite_or_none(point),
            "ci_low": finite_or_none(lo),
            "ci_high": finite_or_none(hi),
            "p_value": finite_or_none(p),
            "significant": bool(math.isfinite(p) and p < alpha and math.isfinite(float(point)) and point > _TIE),
            "n_boot": nb,
        }

    def matrix(self, level: str = COMBINED, what: str = "degree") -> np.ndarray:
        """(students, candidates) array of one quantity at one level."""
        if level not in self.levels:
            raise ValueError(f"unknown level {level!r}; known: {list(self.levels)}")
        if what not in (
            "degree",
            "ci_low",
            "ci_high",
            "raw",
            "baseline",
            "population",
            "null",
            "ceiling",
            "unrelated",
            "null_level",
            "strength",
            "zero_sd",
        ):
            raise ValueError(f"unknown quantity {what!r}")
        return np.array(getattr(self, what)[self.levels.index(level)])


def _resolve_names(table: ScoreTable, names: Sequence[str] | None, what: str) -> tuple[str, ...]:
    if names is None:
        return table.models
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = tuple(names)
    if not names:
        raise ValueError(f"{what} is empty; name at least one model")
    for n in names:
        if n not in table.models:
            raise ValueError(f"{what}: unknown model {n!r}; known: {list(table.models)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} lists a model twice: {list(names)}")
    return names


def compute_degrees(
    table: ScoreTable,
    students: Sequence[str] | None = None,
    candidates: Sequence[str] | None = None,
    config: DegreeConfig | None = None,
    *,
    indices: np.ndarray | None = None,
) -> DegreeResult:
    """Degrees, intervals and bootstrap samples for every student x candidate.

    ``students`` and ``candidates`` default to every model of the table.
    ``indices`` optionally replaces the seeded resamples by an explicit
    (B, n_prompts) matrix of prompt indices (e.g. to share resamples between
    tables scored separately); ``config.n_boot``/``seed`` are then unused.
    """
    cfg = _check_inputs(table, config)
    studs = _resolve_names(table, students, "students")
    cands = _resolve_names(table, candidates, "candidates")
    grans = table.granularities
    weights = cfg.resolve_weights(grans)
    _check_baseline(table, cfg)
    si = np.array([table.index_of(s) for s in studs])
    ci = np.array([table.index_of(c) for c in cands])
    n = table.n_prompts
    n_boot, idx = _explicit_indices(indices, n, cfg.n_boot)
    # Students are processed in blocks so memory stays bounded (every pair's
    # numbers are independent of the block it is computed in).
    per_student = len(grans) * len(TERMS) * len(ci) * max(n, n_boot)
    step = max(1, _BLOCK_ELEMENTS // max(per_student, 1))
    parts = [
        _degree_block(table, si[k : k + step], ci, studs[k : k + step], cands, cfg, weights, n_boot, idx)
        for k in range(0, len(si), step)
    ]
    cat = {key: np.concatenate([p[key] for p in parts], axis=1) for key in parts[0]}
    for arr in cat.values():
        arr.setflags(write=False)  # results are frozen like the dataclass
    return DegreeResult(
        students=studs,
        candidates=cands,
        levels=tuple(grans) + (COMBINED,),
        weights=MappingProxyType(weights),
        config=cfg,
        degree=cat["degree"],
        ci_low=cat["ci_low"],
        ci_high=cat["ci_high"],
        raw=cat["raw"],
        population=cat["population"],
        null=cat["null"],
        baseline=cat["baseline"],
        ceiling=cat["ceiling"],
        unrelated=cat["unrelated"],
        null_level=cat["null_level"],
        strength=cat["strength"],
        zero_sd=cat["zero_sd"],
        n_prompts=cat["n_prompts"],
        boot=cat["boot"],
        signature=cfg.signature(grans),
        metric_signatures=table.signatures,
    )


def _check_inputs(table: Any, config: Any) -> DegreeConfig:
    if not isinstance(table, ScoreTable):
        raise TypeError(f"table must be a ScoreTable, got {type(table).__name__}")
    cfg = config if config is not None else DegreeConfig()
    if not isinstance(cfg, DegreeConfig):
        raise TypeError(f"config must be a DegreeConfig, got {type(cfg).__name__}")
    return cfg


def _check_baseline(table: ScoreTable, cfg: DegreeConfig) -> None:
    if cfg.baseline == "pair-mean" and len(table.models) < 4 and not table._null:  # type: ignore[attr-defined]
        raise ValueError(
            f"no baseline: with {len(table.models)} models there is no population (4 or more needed); pass null arrays "
            "(shuffled prompts, see derangement()) or add models"
        )
    if cfg.baseline == "null" and not table._null:  # type: ignore[attr-defined]
        raise ValueError("baseline='null' needs null arrays in the ScoreTable (see derangement())")


def _explicit_indices(indices: np.ndarray | None, n: int, n_boot: int) -> tuple[int, np.ndarray | None]:
    """``(n_boot, idx)``: the configured count and no matrix, or the checked
    explicit (B, n) index matrix and its B."""
    if indices is None:
        return n_boot, None
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.shape[1] != n or idx.shape[0] < 1:
        raise ValueError(f"indices must have shape (n_boot, {n}), got {idx.shape}")
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"indices must be integers, got {idx.dtype}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"indices must lie in [0, {n})")
    return idx.shape[0], idx.astype(np.int64)


def _degree_block(
    table: ScoreTable,
    si: np.ndarray,
    ci: np.ndarray,
    studs: Sequence[str],
    cands: Sequence[str],
    cfg: DegreeConfig,
    weights: Mapping[str, float],
    n_boot: int,
    idx: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Every quantity for one block of students x all candidates; arrays are
    indexed [level, student, candidate(, resample)]."""
    grans = table.granularities
    n = table.n_prompts
    shape = (len(grans), len(TERMS), len(si), len(ci))
    XV, V = _stacked_series(table, si, ci, studs, cands, cfg)
    Vf = V.astype(np.float64)
    counts_point = Vf.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        point_means = np.where(counts_point > 0, XV.sum(axis=0) / counts_point, np.nan).reshape(shape)
    boot_means = _boot_means(XV, V, Vf, shape, n_boot, cfg.seed, idx)

    w = np.array([weights.get(g, 0.0) for g in grans]).reshape((len(grans), 1, 1))
    point = _levels_from(point_means, w, cfg)
    boot = np.moveaxis(_levels_from(boot_means, w, cfg)["degree"], 0, -1)  # (L, nS, nC, B)
    del boot_means
    alpha = 1.0 - cfg.confidence
    if cfg.interval == "percentile":
        lo = quantiles(boot, alpha / 2)
        hi = quantiles(boot, 1 - alpha / 2)
    else:
        # jackknife (leave one prompt out) in closed form for every series
        with np.errstate(invalid="ignore", divide="ignore"):
            jk_num = XV.sum(axis=0)[None, :] - XV
            jk_den = counts_point[None, :] - Vf
            jk_means = np.where(jk_den > 0, jk_num / jk_den, np.nan).reshape((n,) + shape)
        jk = _levels_from(jk_means, w, cfg)["degree"]  # (n, L, nS, nC)
        lo, hi = _bca(point["degree"], boot, np.moveaxis(jk, 0, -1), alpha)
    lo, hi = _widen(point["degree"], lo, hi, point["zero_sd"], alpha, cfg.clip)

    n_valid = V.reshape((n,) + shape)[:, :, 0].sum(axis=0)  # (G, nS, nC) prompts with a raw score
    n_comb = n_valid.max(axis=0, initial=0)[None]
    return {
        "degree": point["degree"],
        "ci_low": lo,
        "ci_high": hi,
        "raw": point["raw"],
        "population": point["population"],
        "null": point["null"],
        "baseline": point["baseline"],
        "ceiling": point["ceiling"],
        "unrelated": point["unrelated"],
        "null_level": point["null_level"],
        "strength": point["strength"],
        "zero_sd": point["zero_sd"],
        "n_prompts": np.concatenate([n_valid, n_comb], axis=0),
        "boot": boot,
    }


def _widen(
    d: np.ndarray, lo: np.ndarray, hi: np.ndarray, zero_sd: np.ndarray, alpha: float, clip: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The prompt bootstrap's interval widened by the spread of the zero point.

    The bootstrap resamples prompts; it cannot see that the unrelated models
    that set the share's zero do not all sit at one rate (``zero_sd``: the
    between-pair sd of the pool's rate, carried to the share). The two are
    independent, so their half-widths add in quadrature on each side:
    ``d -/+ sqrt(half_side^2 + (z zero_sd)^2)``, clipped to the degree's range.
    Where the pool's pairs agree up to their sampling noise (``zero_sd`` = 0)
    the interval is the bootstrap's, digit for digit.

    A percentile interval can miss ``d`` (all resamples on one side of the
    estimate, e.g. a skewed bootstrap of few prompts). Such an end moves
    outward by the same amount the quadrature adds to a half-width,
    ``sqrt(h^2 + (z zero_sd)^2) - |h|``, so the interval changes continuously
    as ``zero_sd`` grows from 0 (mirroring the end through ``d`` would jump)."""
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    extra = np.where(np.isfinite(zero_sd), z * zero_sd, 0.0)
    with np.errstate(invalid="ignore"):
        h_lo, h_hi = d - lo, hi - d
        wider_lo = np.where(
            h_lo >= 0, d - np.sqrt(h_lo**2 + extra**2), lo - (np.sqrt(h_lo**2 + extra**2) - np.abs(h_lo))
        )
        wider_hi = np.where(
            h_hi >= 0, d + np.sqrt(h_hi**2 + extra**2), hi + (np.sqrt(h_hi**2 + extra**2) - np.abs(h_hi))
        )
    lo = np.where(extra > 0, np.clip(wider_lo, clip[0], clip[1]), lo)
    hi = np.where(extra > 0, np.clip(wider_hi, clip[0], clip[1]), hi)
    return lo, hi


def _stacked_series(
    table: ScoreTable, si: np.ndarray, ci: np.ndarray, studs: Sequence[str], cands: Sequence[str], cfg: DegreeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Every series of the block as columns: ``(XV, V)``, both (n, K) with
    K = granularities x terms x students x candidates; ``V`` marks defined
    values and ``XV`` holds them (0 elsewhere). Self pairs are undefined."""
    grans = table.granularities
    n = table.n_prompts
    nS, nC, G = len(si), len(ci), len(grans)
    self_mask = np.array(studs)[:, None] == np.array(cands)[None, :]
    # stacked series: (G, terms, nS, nC, n) -> X (n, K)
    series = np.empty((G, len(TERMS), nS, nC, n))
    for gi, g in enumerate(grans):
        ps = pair_series(
            table,
            g,
            si,
            ci,
            threshold=cfg.threshold,
            min_models=4 if cfg.baseline == "pair-mean" else len(table.models) + 1,
        )
        for ti, term in enumerate(TERMS):
            series[gi, ti] = ps[term]
    series[..., self_mask, :] = np.nan
    X = series.reshape(-1, n).T  # (n, K)
    del series
    V = np.isfinite(X)
    return np.where(V, X, 0.0), V


def _boot_means(
    XV: np.ndarray,
    V: np.ndarray,
    Vf: np.ndarray,
    shape: tuple[int, ...],
    n_boot: int,
    seed: int,
    idx: np.ndarray | None,
) -> np.ndarray:
    """(B,) + shape resampled means of every series: ``W @ XV / W @ V`` per
    block of resamples ``W`` (counts of each prompt)."""
    n = XV.shape[0]
    blocks: Iterator[np.ndarray]
    if idx is None:
        blocks = bootstrap_counts(n, n_boot, seed)
    else:
        blocks = (counts_from_indices(idx[r : r + BOOT_BLOCK], n) for r in range(0, n_boot, BOOT_BLOCK))
    # Most series share a validity pattern (every series of a pair shares the
    # raw score's): resampled prompt counts are computed once per pattern.
    # They are sums of integer counts, so exact whatever the grouping.
    _, first, inverse = np.unique(np.packbits(V, axis=0), axis=1, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    V_unique = Vf[:, first]
    # Many series are duplicates too (mirrored pairs of symmetric metrics, the
    # per-model ceilings repeated for every partner): multiply each distinct
    # column once. Identical columns give identical results, so nothing changes
    # but the work.
    xfirst, xinverse = _distinct_columns(XV)
    XV_unique = np.ascontiguousarray(XV[:, xfirst])
    boot_means = np.empty((n_boot,) + shape)
    row = 0
    for W in blocks:
        num = _columnwise_product(W, XV_unique)[:, xinverse]
        den = (W @ V_unique)[:, inverse]
        with np.errstate(invalid="ignore", divide="ignore"):
            boot_means[row : row + W.shape[0]] = np.where(den > 0, num / den, np.nan).reshape((-1,) + shape)
        row += W.shape[0]
    return boot_means


def _columnwise_product(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``W @ X`` one column of ``X`` at a time.

    A matrix product's summation order depends on the shapes BLAS sees (its
    blocking and micro-kernels), so a column's result could change with the
    number of other columns in the call, i.e. with which students share a
    block. One matrix-vector product per column sees the same shape for every
    column: each pair's numbers are bit-identical however the work is split.
    (The counts product ``W @ V`` sums integers and is exact anyway.)"""
    out = np.empty((W.shape[0], X.shape[1]))
    for j in range(X.shape[1]):
        out[:, j] = W @ X[:, j]
    return out


def _levels_from(means: np.ndarray, w: np.ndarray, cfg: DegreeConfig) -> dict[str, np.ndarray]:
    """means (..., G, terms, nS, nC) -> per-level quantities (..., G+1, nS, nC);
    the last level is the ``w``-weighted combination of the granularities."""
    terms = [means[..., :, t, :, :] for t in range(len(TERMS))]
    d = degree_from_means(*terms, baseline=cfg.baseline, clip=cfg.clip, min_span=cfg.min_span, max_score=cfg.max_score)
    raw, pop, nul = terms[:3]
    out = {
        "degree": d["degree"],
        "raw": raw,
        "population": pop,
        "null": nul,
        "baseline": d["baseline"],
        "ceiling": d["ceiling"],
        "unrelated": d["unrelated"],
        "null_level": d["null_level"],
        "strength": d["strength"],
        "zero_sd": d["zero_sd"],
    }
    for k, v in list(out.items()):
        fin = np.isfinite(v)
        wsum = (w * fin).sum(axis=-3)
        with np.errstate(invalid="ignore", divide="ignore"):
            comb = np.where(wsum > 0, (w * np.where(fin, v, 0.0)).sum(axis=-3) / wsum, np.nan)
        out[k] = np.concatenate([v, comb[..., None, :, :]], axis=-3)
    return out


def _distinct_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)`` with ``x[:, first][:, inverse] == x`` exactly.

    Columns are grouped by a fixed random projection (cheap), then the
    grouping is verified element by element; if any column differs from its
    group's representative, no deduplication is done.
    """
    k = x.shape[1]
    probe = np.random.default_rng(0x5EED).standard_normal(x.shape[0])
    fingerprint = probe @ x
    _, first, inverse = np.unique(fingerprint, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    if np.array_equal(x[:, first][:, inverse], x):
        return first, inverse
    return np.arange(k), np.arange(k)  # pragma: no cover - needs a projection collision


def _bca(theta: np.ndarray, boot: np.ndarray, jack: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected and accelerated percentile interval, elementwise.

    theta (...), boot (..., B), jack (..., n). Falls back to the percentile
    interval where the correction is undefined (all resamples on one side,
    or a degenerate jackknife).
    """
    nd = NormalDist()
    fin = np.isfinite(boot)
    nb = fin.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = ((boot < theta[..., None]) & fin).sum(axis=-1) + 0.5 * ((boot == theta[..., None]) & fin).sum(axis=-1)
        frac = below / nb
        jf = np.isfinite(jack)
        jmean = np.where(jf, jack, 0.0).sum(axis=-1) / jf.sum(axis=-1)
        dev = np.where(jf, jmean[..., None] - jack, 0.0)
        num = (dev**3).sum(axis=-1)
        den = 6.0 * (dev**2).sum(axis=-1) ** 1.5
        acc = np.where(den > 0, num / den, 0.0)
    ok = np.isfinite(theta) & (nb > 0) & (frac > 0) & (frac < 1)
    frac_safe = np.where(ok, frac, 0.5)
    z0 = np.vectorize(nd.inv_cdf, otypes=[float])(frac_safe) if frac_safe.size else frac_safe
    za = nd.inv_cdf(alpha / 2)
    zb = nd.inv_cdf(1 - alpha / 2)
    cdf = np.vectorize(nd.cdf, otypes=[float])

    def adj(z: float) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            t = z0 + (z0 + z) / (1 - acc * (z0 + z))
        q = cdf(np.where(np.isfinite(t), t, 0.0)) if t.size else t
        return np.where(ok & np.isfinite(t), q, np.where(z < 0, alpha / 2, 1 - alpha / 2))

    return quantiles(boot, adj(za)), quantiles(boot, adj(zb))
