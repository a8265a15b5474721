"""Distillation degree (≈ share of S's answers derived from T), bootstrap intervals, attribution.

Input is a :class:`ScoreTable`: per *granularity* (``"lexical"``,
``"semantic"``, ``"structural"``, ``"style"`` or a single metric such as
``"rougeL"``) one float array of per-prompt similarity scores per ordered
model pair ``(student, candidate)``, all over the same prompt index set
(NaN where a model lacks the prompt); optionally per-model self-similarity
arrays and per-pair shuffled-prompt null arrays.

The distillation degree (v2: a share)
------------------------------------
``degree_g(S, T)`` estimates **the share of S's answers derived from T**:
0 when S resembles T no more than an unrelated model answering the same
prompts does, 1 when every answer derives from T (an exact copy gives 1.0),
r for a student that takes r of its answers from T. The estimator and its
justification are in :mod:`distillscope.analysis.share`; in short, per
prompt ``p``::

    e_p    = s_p(S, T) - med_p(S; not T) - med_p(T; not S) + med_p   median double-centred residual
    pool   = e_p(S, M), e_p(M, T) for every other model M not flagged as T's / S's clone
    tau    = median(pool) + k * (median(pool) - lower quartile(pool))         (k = ``threshold``)
    below  = mean_p [e_p < tau]                     share of S's answers that look unrelated
    F0     = #pool < tau / #pool < fence            the same for unrelated answers (null_level)

    degree_g(S, T) = clip( 1 - below / F0, 0, 1 )

A derived answer stands out (``e_p >= tau``); an unrelated one falls under
``tau`` with probability F0; so ``below = (1 - r) F0``. Clones of T in the
population (several students of one teacher) are found and left out of the
medians and the pool, so they do not make T look "generic"; a teacher that
everyone resembles a little is centred away by the medians. With fewer than
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

The combined degree is the weighted mean of the granularity degrees that are
defined for the pair (weights renormalised over them); by default
``lexical``, ``semantic`` and ``structural`` weigh 1 and ``style`` 0.5, and a
table with none of those weighs all its granularities equally. Each
granularity estimates the same share, so their weighted mean does too.

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
from dataclasses import dataclass, field
from statistics import NormalDist
from types import MappingProxyType
from typing import Any, Iterator, Literal, Mapping, Sequence

import numpy as np

from ..stats import spearman
from .share import share_from_means, share_series

__all__ = [
    "DEFAULT_WEIGHTS",
    "DEGREE_MEANING",
    "ScoreTable",
    "DegreeConfig",
    "DegreeResult",
    "derangement",
    "bootstrap_indices",
    "bootstrap_counts",
    "compute_degrees",
    "attribute",
    "degree_matrix",
    "judge_agreement",
    "spearman_rows",
]

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"lexical": 1.0, "semantic": 1.0, "structural": 1.0, "style": 0.5}
)
COMBINED = "combined"
DEGREE_MEANING = ("≈ share of the student's answers derived from the candidate (0 = no more alike than "
                  "unrelated models, 1 = a copy); direction (who copied whom) is not identified")
_CALIBRATION_VERSION = "2"
_TIE = 1e-12  # degree differences this small are floating-point noise
_BLOCK_ELEMENTS = 1 << 22  # series elements per student block (~32 MB per float64 array)
_BOOT_BLOCK = 256  # resamples per block: bounds memory at ~ (256 x n_prompts) floats


# --------------------------------------------------------------------------- helpers
def derangement(n: int, seed: int) -> np.ndarray:
    """A uniformly random permutation of ``range(n)`` with no fixed point.

    The caller uses it for the shuffled-prompt null: the student's answer to
    prompt ``p`` is scored against the candidate's answer to prompt
    ``perm[p]``. Rejection sampling of uniform permutations (about e tries on
    average), so every derangement is equally likely; deterministic given
    ``seed``. ``n == 0`` gives an empty array; ``n == 1`` has no derangement.
    """
    n = _as_count(n, "n")
    if n == 1:
        raise ValueError("a derangement needs n >= 2 prompts (n == 1 has none); skip the null for one prompt")
    rng = np.random.default_rng(_as_seed(seed))
    idx = np.arange(n)
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == idx):
            return perm.astype(np.int64)


def bootstrap_indices(n: int, n_boot: int, seed: int, *, block: int = _BOOT_BLOCK) -> Iterator[np.ndarray]:
    """Yield the seeded (B, n) bootstrap index matrix in row blocks.

    The blocks concatenated are the same matrix whatever ``block`` is (the
    generator draws row after row), so callers can bound memory freely.
    """
    n = _as_count(n, "n")
    n_boot = _as_count(n_boot, "n_boot")
    if n == 0:
        raise ValueError("cannot bootstrap zero prompts; check that the score arrays are not empty")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    rng = np.random.default_rng(_as_seed(seed))
    done = 0
    while done < n_boot:
        rows = min(block, n_boot - done)
        # one row at a time keeps the stream identical for any block size
        yield np.stack([rng.integers(0, n, size=n) for _ in range(rows)])
        done += rows


def bootstrap_counts(n: int, n_boot: int, seed: int, *, block: int = _BOOT_BLOCK) -> Iterator[np.ndarray]:
    """Like :func:`bootstrap_indices` but yields (rows, n) float64 count matrices
    ``W[b, p]`` = how often prompt ``p`` is drawn in resample ``b``."""
    for idx in bootstrap_indices(n, n_boot, seed, block=block):
        yield _counts_from_indices(idx, n)


def _counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    rows = idx.shape[0]
    flat = (idx + (np.arange(rows, dtype=np.int64) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def _as_count(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    return int(v)


def _as_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    return int(seed)


def _quantiles(samples: np.ndarray, q: np.ndarray | float) -> np.ndarray:
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


def _num(x: Any) -> float | None:
    """JSON-ready float: NaN/inf become None."""
    f = float(x)
    return f if math.isfinite(f) else None


# --------------------------------------------------------------------------- ScoreTable
def _pair_key(key: Any, where: str) -> tuple[str, str]:
    if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise TypeError(f"{where}: pair keys must be (student, candidate) tuples of model names, got {key!r}")
    return key


@dataclass(frozen=True)
class ScoreTable:
    """Per-prompt similarity scores of model pairs, per granularity.

    Parameters
    ----------
    models:
        Names of every model in the population (order is kept in outputs).
    scores:
        ``{granularity: {(student, candidate): array (n_prompts,)}}``. All
        arrays share one prompt index; NaN marks a prompt a model lacks.
    self_similarity:
        Optional ``{granularity: {model: array (n_prompts,)}}``: the mean
        similarity between a model's own samples for each prompt (NaN where it
        has fewer than two samples).
    null:
        Optional ``{granularity: {(student, candidate): array}}``: similarity
        of the student's answer to prompt ``p`` and the candidate's answer to
        prompt ``perm[p]``, with ``perm = derangement(n_prompts, seed)``.
    prompt_ids:
        Optional names of the prompts (length ``n_prompts``).
    signatures:
        Optional ``{granularity or metric: signature string}``, carried into
        the outputs so every number says how it was made.
    mirror:
        When ``(a, b)`` is given and ``(b, a)`` is not, use the same scores for
        ``(b, a)`` (right for symmetric metrics; pass both orders otherwise).
    """

    models: tuple[str, ...]
    scores: Mapping[str, Mapping[tuple[str, str], np.ndarray]]
    self_similarity: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    null: Mapping[str, Mapping[tuple[str, str], np.ndarray]] = field(default_factory=dict)
    prompt_ids: tuple[str, ...] | None = None
    signatures: Mapping[str, str] = field(default_factory=dict)
    mirror: bool = True

    def __post_init__(self) -> None:
        models = self.models
        if isinstance(models, str) or not isinstance(models, Sequence):
            raise TypeError("models must be a sequence of model names, e.g. ('A', 'B', 'C')")
        models = tuple(models)
        if len(models) < 2:
            raise ValueError(f"need at least 2 models to compare, got {len(models)}")
        if not all(isinstance(m, str) and m for m in models):
            raise TypeError("every model name must be a non-empty str")
        if len(set(models)) != len(models):
            dup = sorted({m for m in models if models.count(m) > 1})
            raise ValueError(f"model names must be unique; duplicated: {dup}")
        index = {m: i for i, m in enumerate(models)}
        if not isinstance(self.scores, Mapping) or not self.scores:
            raise ValueError("scores must be a non-empty {granularity: {(student, candidate): array}} mapping")

        n: list[int | None] = [None]

        def arr(v: Any, where: str) -> np.ndarray:
            try:
                a = np.array(v, dtype=np.float64)  # always a private copy
            except (TypeError, ValueError) as exc:
                raise TypeError(f"{where}: scores must be numeric arrays ({exc})") from None
            if a.ndim != 1:
                raise ValueError(f"{where}: expected a 1-D array of per-prompt scores, got shape {a.shape}")
            if n[0] is None:
                n[0] = a.shape[0]
            elif a.shape[0] != n[0]:
                raise ValueError(
                    f"{where}: has {a.shape[0]} prompts but other arrays have {n[0]}; every array must "
                    "cover the same shared prompt index (use NaN where a model lacks a prompt)"
                )
            if np.isinf(a).any():
                raise ValueError(f"{where}: contains inf; scores must be finite or NaN (missing)")
            a.setflags(write=False)
            return a

        def check_model(m: Any, where: str) -> int:
            if m not in index:
                raise ValueError(f"{where}: unknown model {m!r}; add it to models={list(models)} or drop it")
            return index[m]

        def pair_map(src: Mapping, where: str, grans: set[str] | None) -> dict[str, dict[tuple[str, str], np.ndarray]]:
            if not isinstance(src, Mapping):
                raise TypeError(f"{where} must be a mapping {{granularity: {{(student, candidate): array}}}}")
            out: dict[str, dict[tuple[str, str], np.ndarray]] = {}
            for g, pairs in src.items():
                if not isinstance(g, str) or not g:
                    raise TypeError(f"{where}: granularity names must be non-empty str, got {g!r}")
                if g == COMBINED:
                    raise ValueError(f"{where}: {COMBINED!r} is reserved for the combined degree; rename it")
                if grans is not None and g not in grans:
                    raise ValueError(f"{where}: granularity {g!r} has no scores; known: {sorted(grans)}")
                if not isinstance(pairs, Mapping) or not pairs:
                    raise ValueError(f"{where}[{g!r}] must be a non-empty {{(student, candidate): array}} mapping")
                d: dict[tuple[str, str], np.ndarray] = {}
                for key, v in pairs.items():
                    a, b = _pair_key(key, f"{where}[{g!r}]")
                    check_model(a, f"{where}[{g!r}][{key!r}]")
                    check_model(b, f"{where}[{g!r}][{key!r}]")
                    if a == b:
                        raise ValueError(
                            f"{where}[{g!r}]: pair {key!r} compares a model with itself; pass that as self_similarity"
                        )
                    d[(a, b)] = arr(v, f"{where}[{g!r}][{key!r}]")
                out[g] = d
            return out

        scores = pair_map(self.scores, "scores", None)
        grans = set(scores)
        null = pair_map(self.null or {}, "null", grans)
        selfsim: dict[str, dict[str, np.ndarray]] = {}
        if not isinstance(self.self_similarity or {}, Mapping):
            raise TypeError("self_similarity must be a mapping {granularity: {model: array}}")
        for g, per_model in (self.self_similarity or {}).items():
            if g not in grans:
                raise ValueError(f"self_similarity: granularity {g!r} has no scores; known: {sorted(grans)}")
            if not isinstance(per_model, Mapping):
                raise TypeError(f"self_similarity[{g!r}] must be a mapping {{model: array}}")
            selfsim[g] = {}
            for m, v in per_model.items():
                check_model(m, f"self_similarity[{g!r}]")
                selfsim[g][m] = arr(v, f"self_similarity[{g!r}][{m!r}]")
        n_prompts = int(n[0] or 0)
        if n_prompts == 0:
            raise ValueError("score arrays are empty; need at least one prompt")
        pids = self.prompt_ids
        if pids is not None:
            pids = tuple(str(p) for p in pids)
            if len(pids) != n_prompts:
                raise ValueError(f"prompt_ids has {len(pids)} entries but the score arrays have {n_prompts} prompts")
        sigs = dict(self.signatures or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in sigs.items()):
            raise TypeError("signatures must map str -> str")

        n_models = len(models)

        def dense_pairs(d: dict[tuple[str, str], np.ndarray]) -> np.ndarray:
            t = np.full((n_models, n_models, n_prompts), np.nan)
            for (a, b), v in d.items():
                t[index[a], index[b]] = v
            if self.mirror:
                for (a, b), v in d.items():
                    if (b, a) not in d:
                        t[index[b], index[a]] = v
            t.setflags(write=False)
            return t

        sim = {g: dense_pairs(d) for g, d in scores.items()}
        nul = {g: dense_pairs(d) for g, d in null.items()}
        ceil: dict[str, np.ndarray] = {}
        for g, d in selfsim.items():
            c = np.full((n_models, n_prompts), np.nan)
            for name, v in d.items():
                c[index[name]] = v
            c.setflags(write=False)
            ceil[g] = c

        set_ = object.__setattr__
        set_(self, "models", models)
        set_(self, "scores", MappingProxyType({g: MappingProxyType(d) for g, d in scores.items()}))
        set_(self, "null", MappingProxyType({g: MappingProxyType(d) for g, d in null.items()}))
        set_(self, "self_similarity", MappingProxyType({g: MappingProxyType(d) for g, d in selfsim.items()}))
        set_(self, "prompt_ids", pids)
        set_(self, "signatures", MappingProxyType(sigs))
        set_(self, "_index", index)
        set_(self, "_n", n_prompts)
        set_(self, "_sim", sim)
        set_(self, "_null", nul)
        set_(self, "_ceil", ceil)

    # ---- read access
    @property
    def n_prompts(self) -> int:
        return self._n  # type: ignore[attr-defined]

    @property
    def granularities(self) -> tuple[str, ...]:
        return tuple(self.scores)

    def index_of(self, model: str) -> int:
        try:
            return self._index[model]  # type: ignore[attr-defined]
        except KeyError:
            raise ValueError(f"unknown model {model!r}; known: {list(self.models)}") from None

    def tensor(self, granularity: str) -> np.ndarray:
        """Read-only (models, models, prompts) scores; NaN where absent (incl. the diagonal)."""
        self._check_gran(granularity)
        return self._sim[granularity]  # type: ignore[attr-defined]

    def raw_matrix(self, granularity: str) -> np.ndarray:
        """(models, models) mean raw similarity over each pair's prompts; diagonal NaN."""
        t = self.tensor(granularity)
        valid = np.isfinite(t)
        cnt = valid.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, np.where(valid, t, 0.0).sum(axis=-1) / cnt, np.nan)

    def _check_gran(self, g: str) -> None:
        if g not in self.scores:
            raise ValueError(f"unknown granularity {g!r}; known: {list(self.scores)}")


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class DegreeConfig:
    """How degrees and intervals are computed (see the module docstring).

    weights: granularity -> weight in the combined degree; None uses
        :data:`DEFAULT_WEIGHTS` restricted to the granularities present (or
        equal weights when none of those is present). Granularities missing
        from an explicit mapping weigh 0.
    baseline: ``"pair-mean"`` (the null of unrelated answers comes from the
        population on the same prompts, median double-centred; the
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
        n_boot = _as_count(self.n_boot, "n_boot")
        if n_boot < 10:
            raise ValueError(f"n_boot must be >= 10 for meaningful intervals, got {n_boot}")
        _as_seed(self.seed)
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
            f"degree:v{_CALIBRATION_VERSION}|share|baseline={self.baseline}|tau=med+{self.threshold:g}iqr_low|"
            f"clones=out|clip={self.clip[0]:g}:{self.clip[1]:g}|weights={ws}|boot={self.n_boot}|"
            f"seed={self.seed}|ci={self.interval}@{self.confidence:g}"
        )


# --------------------------------------------------------------------------- core
_TERMS = ("raw", "population", "null", "ceil_s", "ceil_t", "below", "null_below", "null_count", "center")


def _pair_series(table: ScoreTable, g: str, si: np.ndarray, ci: np.ndarray, cfg: DegreeConfig) -> dict[str, np.ndarray]:
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
    sh = share_series(t, nul_t, si, ci, threshold=cfg.threshold,
                      min_models=4 if cfg.baseline == "pair-mean" else len(table.models) + 1)
    for name in ("below", "null_below", "null_count"):
        out[name] = sh[name]
    out["center"] = sh["baseline"]
    return out


def _nanmean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    fa, fb = np.isfinite(a), np.isfinite(b)
    with np.errstate(invalid="ignore"):
        both = (a + b) / 2.0
    return np.where(fa & fb, both, np.where(fa, a, np.where(fb, b, np.nan)))


def _degree_from_means(
    raw: np.ndarray, pop: np.ndarray, null: np.ndarray, ceil_s: np.ndarray, ceil_t: np.ndarray,
    below: np.ndarray, null_below: np.ndarray, null_count: np.ndarray, center: np.ndarray,
    cfg: DegreeConfig,
) -> dict[str, np.ndarray]:
    """The share (see analysis/share.py) and the reported terms, elementwise over arrays of means."""
    share = np.clip(share_from_means(below, null_below, null_count), cfg.clip[0], cfg.clip[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        null_level = null_below / null_count
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
        del span
    base = np.where(np.isfinite(center), center, base)
    return {"degree": share, "baseline": base, "ceiling": c_eff, "unrelated": below, "null_level": null_level}


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
            "degree": _num(self.degree[li, s, c]),
            "ci_low": _num(self.ci_low[li, s, c]),
            "ci_high": _num(self.ci_high[li, s, c]),
            "raw": _num(self.raw[li, s, c]),
            "baseline": _num(self.baseline[li, s, c]),
            "population": _num(self.population[li, s, c]),
            "null": _num(self.null[li, s, c]),
            "ceiling": _num(self.ceiling[li, s, c]),
            "unrelated": _num(self.unrelated[li, s, c]),
            "null_level": _num(self.null_level[li, s, c]),
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
        lo, hi = _quantiles(diff, alpha / 2), _quantiles(diff, 1 - alpha / 2)
        ok = np.isfinite(diff)
        nb = int(ok.sum())
        # differences within rounding of zero are ties, never evidence
        p = (1.0 + float((diff[ok] <= _TIE).sum())) / (1.0 + nb) if nb else float("nan")
        return {
            "student": student,
            "best": a,
            "runner_up": b,
            "level": level,
            "difference": _num(point),
            "ci_low": _num(lo),
            "ci_high": _num(hi),
            "p_value": _num(p),
            "significant": bool(math.isfinite(p) and p < alpha and math.isfinite(float(point)) and point > _TIE),
            "n_boot": nb,
        }

    def matrix(self, level: str = COMBINED, what: str = "degree") -> np.ndarray:
        """(students, candidates) array of one quantity at one level."""
        if level not in self.levels:
            raise ValueError(f"unknown level {level!r}; known: {list(self.levels)}")
        if what not in ("degree", "ci_low", "ci_high", "raw", "baseline", "population", "null", "ceiling",
                        "unrelated", "null_level"):
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
    if not isinstance(table, ScoreTable):
        raise TypeError(f"table must be a ScoreTable, got {type(table).__name__}")
    cfg = config if config is not None else DegreeConfig()
    if not isinstance(cfg, DegreeConfig):
        raise TypeError(f"config must be a DegreeConfig, got {type(cfg).__name__}")
    studs = _resolve_names(table, students, "students")
    cands = _resolve_names(table, candidates, "candidates")
    weights = cfg.resolve_weights(table.granularities)
    if cfg.baseline == "pair-mean" and len(table.models) < 4 and not table._null:  # type: ignore[attr-defined]
        raise ValueError(
            f"no baseline: with {len(table.models)} models there is no population (4 or more needed); pass null arrays "
            "(shuffled prompts, see derangement()) or add models"
        )
    if cfg.baseline == "null" and not table._null:  # type: ignore[attr-defined]
        raise ValueError("baseline='null' needs null arrays in the ScoreTable (see derangement())")
    si = np.array([table.index_of(s) for s in studs])
    ci = np.array([table.index_of(c) for c in cands])
    grans = table.granularities
    n = table.n_prompts
    if indices is None:
        n_boot = cfg.n_boot
        idx = None
    else:
        idx = np.asarray(indices)
        if idx.ndim != 2 or idx.shape[1] != n or idx.shape[0] < 1:
            raise ValueError(f"indices must have shape (n_boot, {n}), got {idx.shape}")
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be integers, got {idx.dtype}")
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"indices must lie in [0, {n})")
        n_boot = idx.shape[0]
        idx = idx.astype(np.int64)
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
        unrelated=cat["unrelated"],
        null_level=cat["null_level"],
        n_prompts=cat["n_prompts"],
        boot=cat["boot"],
        signature=cfg.signature(grans),
        metric_signatures=table.signatures,
    )


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
    nS, nC, G = len(si), len(ci), len(grans)
    self_mask = np.array(studs)[:, None] == np.array(cands)[None, :]

    # stacked series: (G, terms, nS, nC, n) -> X (n, K)
    series = np.empty((G, len(_TERMS), nS, nC, n))
    for gi, g in enumerate(grans):
        ps = _pair_series(table, g, si, ci, cfg)
        for ti, term in enumerate(_TERMS):
            series[gi, ti] = ps[term]
    series[..., self_mask, :] = np.nan
    shape = (G, len(_TERMS), nS, nC)
    X = series.reshape(-1, n).T  # (n, K)
    del series
    V = np.isfinite(X)
    XV = np.where(V, X, 0.0)
    del X
    Vf = V.astype(np.float64)
    counts_point = Vf.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        point_means = np.where(counts_point > 0, XV.sum(axis=0) / counts_point, np.nan).reshape(shape)

    blocks: Iterator[np.ndarray]
    if idx is None:
        blocks = bootstrap_counts(n, n_boot, cfg.seed)
    else:
        blocks = (_counts_from_indices(idx[r : r + _BOOT_BLOCK], n) for r in range(0, n_boot, _BOOT_BLOCK))
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
        num = (W @ XV_unique)[:, xinverse]
        den = (W @ V_unique)[:, inverse]
        with np.errstate(invalid="ignore", divide="ignore"):
            boot_means[row : row + W.shape[0]] = np.where(den > 0, num / den, np.nan).reshape((-1,) + shape)
        row += W.shape[0]

    w = np.array([weights.get(g, 0.0) for g in grans]).reshape((G, 1, 1))

    def levels_from(means: np.ndarray) -> dict[str, np.ndarray]:
        """means (..., G, terms, nS, nC) -> per-level quantities (..., G+1, nS, nC)."""
        terms = [means[..., :, t, :, :] for t in range(len(_TERMS))]
        d = _degree_from_means(*terms, cfg)
        raw, pop, nul = terms[:3]
        out = {"degree": d["degree"], "raw": raw, "population": pop, "null": nul,
               "baseline": d["baseline"], "ceiling": d["ceiling"], "unrelated": d["unrelated"],
               "null_level": d["null_level"]}
        for k, v in list(out.items()):
            fin = np.isfinite(v)
            wsum = (w * fin).sum(axis=-3)
            with np.errstate(invalid="ignore", divide="ignore"):
                comb = np.where(wsum > 0, (w * np.where(fin, v, 0.0)).sum(axis=-3) / wsum, np.nan)
            out[k] = np.concatenate([v, comb[..., None, :, :]], axis=-3)
        return out

    point = levels_from(point_means)
    boot = np.moveaxis(levels_from(boot_means)["degree"], 0, -1)  # (L, nS, nC, B)
    del boot_means
    alpha = 1.0 - cfg.confidence
    if cfg.interval == "percentile":
        lo = _quantiles(boot, alpha / 2)
        hi = _quantiles(boot, 1 - alpha / 2)
    else:
        # jackknife (leave one prompt out) in closed form for every series
        with np.errstate(invalid="ignore", divide="ignore"):
            jk_num = XV.sum(axis=0)[None, :] - XV
            jk_den = counts_point[None, :] - Vf
            jk_means = np.where(jk_den > 0, jk_num / jk_den, np.nan).reshape((n,) + shape)
        jk = levels_from(jk_means)["degree"]  # (n, L, nS, nC)
        lo, hi = _bca(point["degree"], boot, np.moveaxis(jk, 0, -1), alpha)

    n_valid = V.reshape((n,) + shape)[:, :, 0].sum(axis=0)  # (G, nS, nC) prompts with a raw score
    n_comb = n_valid.max(axis=0, initial=0)[None]
    return {
        "degree": point["degree"], "ci_low": lo, "ci_high": hi, "raw": point["raw"],
        "population": point["population"], "null": point["null"], "baseline": point["baseline"],
        "ceiling": point["ceiling"], "unrelated": point["unrelated"], "null_level": point["null_level"],
        "n_prompts": np.concatenate([n_valid, n_comb], axis=0), "boot": boot,
    }


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

    return _quantiles(boot, adj(za)), _quantiles(boot, adj(zb))


# --------------------------------------------------------------------------- attribution
def attribute(
    table: ScoreTable,
    students: Sequence[str] | None = None,
    candidates: Sequence[str] | None = None,
    config: DegreeConfig | None = None,
    *,
    result: DegreeResult | None = None,
) -> dict[str, Any]:
    """Teacher attribution as a JSON-ready dict (the CLI ``attribute`` contract)::

        {"students": {student: [{"candidate", "rank", "degree", "ci_low", "ci_high",
                                  "raw", "baseline", "population", "null", "ceiling",
                                  "n_prompts", "granularities": {g: {...}}}, ...]},
         "best_vs_runner_up": {student: {"best", "runner_up", "difference", "ci_low",
                                         "ci_high", "p_value", "significant", ...} | None},
         "signature": str, "metric_signatures": {...}, "weights": {...},
         "n_prompts": int, "simulated": false}

    Candidates are ranked by combined degree, highest first. A student is
    never its own candidate. NaN becomes ``None``. Pass ``result`` to reuse
    degrees already computed by :func:`compute_degrees`.
    """
    res = result if result is not None else compute_degrees(table, students, candidates, config)
    out_students: dict[str, list[dict[str, Any]]] = {}
    best: dict[str, Any] = {}
    grans = res.levels[:-1]
    for s in res.students:
        rows = []
        order = res.ranking(s)
        for rank, c in enumerate(order, start=1):
            li, si, cj = res._loc(s, c, COMBINED)
            row: dict[str, Any] = {"candidate": c, "rank": rank}
            row.update(res.get(s, c, COMBINED))
            row["n_prompts"] = int(res.n_prompts[li, si, cj])
            row["granularities"] = {g: res.get(s, c, g) for g in grans}
            rows.append(row)
        out_students[s] = rows
        if len(order) >= 2 and rows[0]["degree"] is not None and rows[1]["degree"] is not None:
            best[s] = res.paired_difference(s, order[0], order[1])
        else:
            best[s] = None
    return {
        "students": out_students,
        "best_vs_runner_up": best,
        "signature": res.signature,
        "metric_signatures": dict(res.metric_signatures),
        "weights": dict(res.weights),
        "n_prompts": int(table.n_prompts),
        "degree_meaning": DEGREE_MEANING,
    }


def degree_matrix(
    table: ScoreTable, config: DegreeConfig | None = None, level: str = COMBINED
) -> tuple[tuple[str, ...], np.ndarray]:
    """(models, M) with ``M[i, j]`` = degree of model i (student) toward model j
    (candidate); the diagonal is 1 (a model is its own perfect copy)."""
    res = compute_degrees(table, None, None, config)
    m = res.matrix(level)
    np.fill_diagonal(m, 1.0)
    return res.students, m


# --------------------------------------------------------------------------- judge agreement
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
        for idx in bootstrap_indices(n, _as_count(n_boot, "n_boot"), seed):
            boots.append(spearman_rows(j[idx], f[idx]))
        b = np.concatenate(boots)
        alpha = 1.0 - confidence
        lo, hi = float(_quantiles(b, alpha / 2)), float(_quantiles(b, 1 - alpha / 2))
    buckets = []
    jr = np.rint(j).astype(int)
    for k in range(1, 6):
        sel = f[jr == k]
        buckets.append(
            {
                "judge": k,
                "n": int(sel.size),
                "mean": _num(sel.mean()) if sel.size else None,
                "std": _num(sel.std(ddof=1)) if sel.size > 1 else None,
            }
        )
    return {"n": n, "spearman": _num(rho), "ci_low": _num(lo), "ci_high": _num(hi),
            "confidence": confidence, "buckets": buckets}
