"""Calibrated distillation degree, bootstrap intervals and teacher attribution.

Input is a :class:`ScoreTable`: per *granularity* (``"lexical"``,
``"semantic"``, ``"structural"``, ``"style"`` or a single metric such as
``"rougeL"``) one float array of per-prompt similarity scores per ordered
model pair ``(student, candidate)``, all over the same prompt index set
(NaN where a model lacks the prompt); optionally per-model self-similarity
arrays and per-pair shuffled-prompt null arrays.

The distillation degree
-----------------------
For granularity ``g``, student ``S`` and candidate ``T``, every term below is
a mean over the prompts where ``s(S, T)`` is defined (and the term is)::

    s    = mean_p s_p(S, T)                          raw similarity
    pop  = mean_p ½ [ m_p(S; ¬T) + m_p(T; ¬S) ]      population baseline
           m_p(X; ¬Y) = mean over models M ∉ {X, Y} of s_p(X, M)
    null = mean_p s(S_p, T_π(p))                     shuffled-prompt null
    b    = max(pop, null)    (baseline="pair-mean", the default)
         = null              (baseline="null")
    c    = sqrt( mean_p self_p(S) * mean_p self_p(T) )   self-similarity ceiling
           (the known side when only one is; max_score when neither is,
           or when c - f < min_span: the ceiling is then uninformative)
    f    = null   (the chance level; = b when no null arrays are given)

    degree_g(S, T) = clip( (s - b) / (c - f), -1, 1 )

The numerator is the similarity the population does not explain; the
denominator is the attainable range above chance, from unrelated answers
(the null) to resampled answers of the same model (the ceiling). 0 means "no
closer than the population predicts"; 1 means "the whole attainable range
is unexplained excess": a copy of a teacher nobody else resembles. A perfect
copy of a teacher that everyone resembles scores less than 1 — the part of
its similarity that genericness explains is not counted as evidence.
Keeping the baseline out of the denominator matters: with ``(c - b)`` there,
a candidate everyone resembles (large ``b``) would have its excess divided
by a small span and win by default again.
The ratio is taken of means over prompts, never a mean of per-prompt
ratios (which blows up on prompts where ceiling and null nearly coincide).

The ceiling is the geometric mean of the two self-similarities: if a
model's answers are a reproducible part plus sampling noise, its
self-similarity estimates the squared size of the reproducible part, and
by Cauchy-Schwarz two models' similarity cannot exceed the geometric mean
(Spearman's correction for attenuation). Verbatim copies of one sample score
above the ceiling and are clipped to 1.

The population term subtracts half of each model's "genericness": a
candidate that everyone resembles is penalised by how much it resembles the
others, so it does not win attribution by default; it does not remove it
completely, because in a population where many models copied the same
teacher, full (double-centred) correction would explain the teacher away as
"generic" and invert the ranking for weak copiers (see docs/analysis.md).

The combined degree is the weighted mean of the granularity degrees that are
defined for the pair (weights renormalised over them); by default
``lexical``, ``semantic`` and ``structural`` weigh 1 and ``style`` 0.5, and a
table with none of those weighs all its granularities equally.

Bootstrap
---------
Prompts are resampled with replacement ``n_boot`` times from one seeded
generator: the (B, n) index matrix is turned into a count matrix ``W`` and
every mean of every series (all pairs, all granularities, all terms) is
``W @ (x * valid) / W @ valid`` — one matrix product per block of resamples,
no Python loop over pairs or resamples. Differences between two candidates
for the same student use the same resampled prompts (paired bootstrap).
Intervals are percentile intervals, or BCa (``interval="bca"``, with a
closed-form jackknife over prompts). Results depend only on the seed, the
number of prompts and the data — not on how many students or candidates are
requested together, nor on how the caller built the arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from types import MappingProxyType
from typing import Any, Iterator, Literal, Mapping, Sequence

import numpy as np

from ..stats import BOOT_BLOCK, as_count, as_seed, bootstrap_counts, counts_from_indices, finite_or_none, quantiles
from .table import COMBINED, ScoreTable

__all__ = [
    "DEFAULT_WEIGHTS",
    "COMBINED",
    "DegreeConfig",
    "DegreeResult",
    "compute_degrees",
]

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"lexical": 1.0, "semantic": 1.0, "structural": 1.0, "style": 0.5}
)
_CALIBRATION_VERSION = "1"
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
    baseline: ``"pair-mean"`` (max of population baseline and null) or
        ``"null"`` (shuffled-prompt null only, for populations that are all
        one family).
    interval: ``"percentile"`` or ``"bca"``.
    clip: range the degree is clipped to.
    min_span: smallest ceiling - null gap that counts as informative.
    max_score: the metrics' maximum (identical texts), used as the ceiling
        when no informative self-similarity is available.
    """

    weights: Mapping[str, float] | None = None
    baseline: Literal["pair-mean", "null"] = "pair-mean"
    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    interval: Literal["percentile", "bca"] = "percentile"
    clip: tuple[float, float] = (-1.0, 1.0)
    min_span: float = 0.05
    max_score: float = 1.0

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
            w = {g: float(DEFAULT_WEIGHTS[g]) for g in granularities if g in DEFAULT_WEIGHTS}
            if not w:
                w = {g: 1.0 for g in granularities}
        else:
            unknown = sorted(set(self.weights) - set(granularities))
            if unknown:
                raise ValueError(
                    f"weights name granularities without scores: {unknown}; known: {list(granularities)}"
                )
            w = {g: float(self.weights.get(g, 0.0)) for g in granularities}
            if not any(v > 0 for v in w.values()):
                raise ValueError("every granularity present has weight 0; give one a positive weight")
        return {g: v for g, v in w.items() if v > 0}

    def signature(self, granularities: Sequence[str] | None = None) -> str:
        w = self.resolve_weights(granularities) if granularities is not None else (self.weights or DEFAULT_WEIGHTS)
        ws = ",".join(f"{k}:{float(v):g}" for k, v in sorted(w.items()))
        return (
            f"degree:v{_CALIBRATION_VERSION}|baseline={self.baseline}|ceiling=self-sim,min_span={self.min_span:g},"
            f"max={self.max_score:g}|clip={self.clip[0]:g}:{self.clip[1]:g}|weights={ws}|boot={self.n_boot}|"
            f"seed={self.seed}|ci={self.interval}@{self.confidence:g}"
        )


# --------------------------------------------------------------------------- core
_TERMS = ("raw", "population", "null", "ceil_s", "ceil_t")


def _pair_series(table: ScoreTable, g: str, si: np.ndarray, ci: np.ndarray) -> dict[str, np.ndarray]:
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
        pop = _nanmean2(ms, mt)
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
    return out


def _nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    fa, fb = np.isfinite(a), np.isfinite(b)
    with np.errstate(invalid="ignore"):
        both = (a + b) / 2.0
    return np.where(fa & fb, both, np.where(fa, a, np.where(fb, b, np.nan)))


def _degree_from_means(
    raw: np.ndarray, pop: np.ndarray, null: np.ndarray, ceil_s: np.ndarray, ceil_t: np.ndarray,
    cfg: DegreeConfig,
) -> dict[str, np.ndarray]:
    """The formula, elementwise over arrays of means (any shape)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        fs, ft = np.isfinite(ceil_s), np.isfinite(ceil_t)
        geo = np.sqrt(np.maximum(ceil_s, 0.0) * np.maximum(ceil_t, 0.0))
        ceil = np.where(fs & ft, geo, np.where(fs, ceil_s, np.where(ft, ceil_t, np.nan)))
        if cfg.baseline == "null":
            base = null
        else:
            base = np.fmax(pop, null)  # fmax ignores a NaN side
        floor = np.where(np.isfinite(null), null, base)
        informative = np.isfinite(ceil) & (ceil - floor >= cfg.min_span)
        c_eff = np.where(informative, ceil, cfg.max_score)
        span = c_eff - floor
        deg = np.where(span > 0, (raw - base) / span, np.nan)
        deg = np.clip(deg, cfg.clip[0], cfg.clip[1])
    return {"degree": deg, "baseline": base, "ceiling": c_eff}


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
        }

    def ranking(self, student: str, level: str = COMBINED) -> list[str]:
        """Candidates (other than the student) by degree, highest first; NaN last,
        ties broken by name."""
        li, s, _ = self._loc(student, self.candidates[0], level)
        rows = [
            (c, float(self.degree[li, s, j]))
            for j, c in enumerate(self.candidates)
            if c != student
        ]
        rows.sort(key=lambda r: (not math.isfinite(r[1]), -r[1] if math.isfinite(r[1]) else 0.0, r[0]))
        return [c for c, _ in rows]

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
        if what not in ("degree", "ci_low", "ci_high", "raw", "baseline", "population", "null", "ceiling"):
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
    _check_baseline(table, cfg)
    si = np.array([table.index_of(s) for s in studs])
    ci = np.array([table.index_of(c) for c in cands])
    grans = table.granularities
    weights = cfg.resolve_weights(grans)
    n = table.n_prompts
    n_boot, idx = _explicit_indices(indices, n, cfg.n_boot)
    # Students are processed in blocks so memory stays bounded (every pair's
    # numbers are independent of the block it is computed in).
    per_student = len(grans) * len(_TERMS) * len(ci) * max(n, n_boot)
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
    if cfg.baseline == "pair-mean" and len(table.models) < 3 and not table._null:  # type: ignore[attr-defined]
        raise ValueError(
            "no baseline: with only 2 models there is no population; pass null arrays "
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
    shape = (len(grans), len(_TERMS), len(si), len(ci))
    XV, V = _stacked_series(table, si, ci, studs, cands)
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

    n_valid = V.reshape((n,) + shape)[:, :, 0].sum(axis=0)  # (G, nS, nC) prompts with a raw score
    n_comb = n_valid.max(axis=0, initial=0)[None]
    return {
        "degree": point["degree"], "ci_low": lo, "ci_high": hi, "raw": point["raw"],
        "population": point["population"], "null": point["null"], "baseline": point["baseline"],
        "ceiling": point["ceiling"], "n_prompts": np.concatenate([n_valid, n_comb], axis=0), "boot": boot,
    }


def _stacked_series(
    table: ScoreTable, si: np.ndarray, ci: np.ndarray, studs: Sequence[str], cands: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Every series of the block as columns: ``(XV, V)``, both (n, K) with
    K = granularities x terms x students x candidates; ``V`` marks defined
    values and ``XV`` holds them (0 elsewhere). Self pairs are undefined."""
    grans = table.granularities
    n = table.n_prompts
    nS, nC, G = len(si), len(ci), len(grans)
    self_mask = np.array(studs)[:, None] == np.array(cands)[None, :]
    # stacked series: (G, terms, nS, nC, n) -> X (n, K)
    series = np.empty((G, len(_TERMS), nS, nC, n))
    for gi, g in enumerate(grans):
        ps = _pair_series(table, g, si, ci)
        for ti, term in enumerate(_TERMS):
            series[gi, ti] = ps[term]
    series[..., self_mask, :] = np.nan
    X = series.reshape(-1, n).T  # (n, K)
    del series
    V = np.isfinite(X)
    return np.where(V, X, 0.0), V


def _boot_means(
    XV: np.ndarray, V: np.ndarray, Vf: np.ndarray, shape: tuple[int, ...], n_boot: int, seed: int,
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
    raw, pop, nul, cs, ct = (means[..., :, t, :, :] for t in range(len(_TERMS)))
    d = _degree_from_means(raw, pop, nul, cs, ct, cfg)
    out = {"degree": d["degree"], "raw": raw, "population": pop, "null": nul,
           "baseline": d["baseline"], "ceiling": d["ceiling"]}
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
