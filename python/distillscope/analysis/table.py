"""The score table: per-prompt similarity scores of model pairs, per granularity.

The input of calibration (:mod:`distillscope.analysis.degree`): per
granularity one float array of per-prompt scores per ordered model pair
``(student, candidate)`` over one shared prompt index (NaN where a model lacks
the prompt), optionally per-model self-similarity and per-pair
shuffled-prompt null arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = ["COMBINED", "ScoreTable", "pair_key"]

COMBINED = "combined"  # the level name of the combined degree; reserved as a granularity name


def pair_key(key: Any, where: str) -> tuple[str, str]:
    """``key`` checked to be a ``(student, candidate)`` tuple of model names."""
    if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
        raise TypeError(f"{where}: pair keys must be (student, candidate) tuples of model names, got {key!r}")
    return key


# --------------------------------------------------------------------------- validation steps
def _check_models(models: Any) -> tuple[str, ...]:
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
    return models


class _Arrays:
    """Checks score arrays and turns them into private read-only copies; every
    array must cover the same number of prompts (the first one seen sets it)."""

    def __init__(self, models: tuple[str, ...]) -> None:
        self.models = models
        self.index = {m: i for i, m in enumerate(models)}
        self.n: int | None = None

    def array(self, v: Any, where: str) -> np.ndarray:
        try:
            a = np.array(v, dtype=np.float64)  # always a private copy
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: scores must be numeric arrays ({exc})") from None
        if a.ndim != 1:
            raise ValueError(f"{where}: expected a 1-D array of per-prompt scores, got shape {a.shape}")
        if self.n is None:
            self.n = a.shape[0]
        elif a.shape[0] != self.n:
            raise ValueError(
                f"{where}: has {a.shape[0]} prompts but other arrays have {self.n}; every array must "
                "cover the same shared prompt index (use NaN where a model lacks a prompt)"
            )
        if np.isinf(a).any():
            raise ValueError(f"{where}: contains inf; scores must be finite or NaN (missing)")
        a.setflags(write=False)
        return a

    def model(self, m: Any, where: str) -> int:
        if m not in self.index:
            raise ValueError(f"{where}: unknown model {m!r}; add it to models={list(self.models)} or drop it")
        return self.index[m]

    def pair_map(self, src: Any, where: str, grans: set[str] | None) -> dict[str, dict[tuple[str, str], np.ndarray]]:
        """``{granularity: {(student, candidate): array}}`` checked and copied."""
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
                a, b = pair_key(key, f"{where}[{g!r}]")
                self.model(a, f"{where}[{g!r}][{key!r}]")
                self.model(b, f"{where}[{g!r}][{key!r}]")
                if a == b:
                    raise ValueError(
                        f"{where}[{g!r}]: pair {key!r} compares a model with itself; pass that as self_similarity"
                    )
                d[(a, b)] = self.array(v, f"{where}[{g!r}][{key!r}]")
            out[g] = d
        return out

    def model_map(self, src: Any, grans: set[str]) -> dict[str, dict[str, np.ndarray]]:
        """``self_similarity``: ``{granularity: {model: array}}`` checked and copied."""
        selfsim: dict[str, dict[str, np.ndarray]] = {}
        if not isinstance(src or {}, Mapping):
            raise TypeError("self_similarity must be a mapping {granularity: {model: array}}")
        for g, per_model in (src or {}).items():
            if g not in grans:
                raise ValueError(f"self_similarity: granularity {g!r} has no scores; known: {sorted(grans)}")
            if not isinstance(per_model, Mapping):
                raise TypeError(f"self_similarity[{g!r}] must be a mapping {{model: array}}")
            selfsim[g] = {}
            for m, v in per_model.items():
                self.model(m, f"self_similarity[{g!r}]")
                selfsim[g][m] = self.array(v, f"self_similarity[{g!r}][{m!r}]")
        return selfsim


def _check_prompt_ids(pids: Any, n_prompts: int) -> tuple[str, ...] | None:
    if pids is None:
        return None
    pids = tuple(str(p) for p in pids)
    if len(pids) != n_prompts:
        raise ValueError(f"prompt_ids has {len(pids)} entries but the score arrays have {n_prompts} prompts")
    return pids


def _check_signatures(signatures: Any) -> dict[str, str]:
    sigs = dict(signatures or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in sigs.items()):
        raise TypeError("signatures must map str -> str")
    return sigs


def _dense_pairs(
    d: Mapping[tuple[str, str], np.ndarray], index: Mapping[str, int], n_prompts: int, mirror: bool
) -> np.ndarray:
    """Read-only (models, models, prompts) tensor of pair scores, NaN where absent."""
    n_models = len(index)
    t = np.full((n_models, n_models, n_prompts), np.nan)
    for (a, b), v in d.items():
        t[index[a], index[b]] = v
    if mirror:
        for (a, b), v in d.items():
            if (b, a) not in d:
                t[index[b], index[a]] = v
    t.setflags(write=False)
    return t


def _dense_models(d: Mapping[str, np.ndarray], index: Mapping[str, int], n_prompts: int) -> np.ndarray:
    """Read-only (models, prompts) matrix of per-model scores, NaN where absent."""
    c = np.full((len(index), n_prompts), np.nan)
    for name, v in d.items():
        c[index[name]] = v
    c.setflags(write=False)
    return c


def _frozen(d: Mapping[str, Mapping[Any, np.ndarray]]) -> Mapping[str, Mapping[Any, np.ndarray]]:
    return MappingProxyType({g: MappingProxyType(dict(v)) for g, v in d.items()})


# --------------------------------------------------------------------------- ScoreTable
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
    matched, matched_null:
        Optional, like ``scores`` / ``null``, for prompts where a model has
        several samples: each sample of the student against its closest
        sample of the candidate and each sample of the candidate against its
        closest of the student, the two means averaged (equal to ``scores``
        where both have one sample). The degree reads these when given
        (a derived sample is derived from *one* of the teacher's samples;
        ``scores``, the mean over all sample pairs, dilutes it by the
        teacher's own sampling noise); the similarity summaries read
        ``scores``. A granularity left out of ``matched`` uses ``scores``.
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
    matched: Mapping[str, Mapping[tuple[str, str], np.ndarray]] = field(default_factory=dict)
    matched_null: Mapping[str, Mapping[tuple[str, str], np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        models = _check_models(self.models)
        if not isinstance(self.scores, Mapping) or not self.scores:
            raise ValueError("scores must be a non-empty {granularity: {(student, candidate): array}} mapping")
        arrays = _Arrays(models)
        scores = arrays.pair_map(self.scores, "scores", None)
        grans = set(scores)
        null = arrays.pair_map(self.null or {}, "null", grans)
        selfsim = arrays.model_map(self.self_similarity, grans)
        matched = arrays.pair_map(self.matched or {}, "matched", grans)
        matched_null = arrays.pair_map(self.matched_null or {}, "matched_null", set(matched))
        for g in matched:
            if (g in null) != (g in matched_null):
                raise ValueError(f"matched_null[{g!r}] must be given exactly when null[{g!r}] is")
        n_prompts = int(arrays.n or 0)
        if n_prompts == 0:
            raise ValueError("score arrays are empty; need at least one prompt")
        pids = _check_prompt_ids(self.prompt_ids, n_prompts)
        sigs = _check_signatures(self.signatures)
        index = arrays.index

        set_ = object.__setattr__
        set_(self, "models", models)
        set_(self, "scores", _frozen(scores))
        set_(self, "null", _frozen(null))
        set_(self, "self_similarity", _frozen(selfsim))
        set_(self, "matched", _frozen(matched))
        set_(self, "matched_null", _frozen(matched_null))
        set_(self, "prompt_ids", pids)
        set_(self, "signatures", MappingProxyType(sigs))
        set_(self, "_index", index)
        set_(self, "_n", n_prompts)
        set_(self, "_sim", {g: _dense_pairs(d, index, n_prompts, self.mirror) for g, d in scores.items()})
        set_(self, "_null", {g: _dense_pairs(d, index, n_prompts, self.mirror) for g, d in null.items()})
        set_(self, "_ceil", {g: _dense_models(d, index, n_prompts) for g, d in selfsim.items()})
        set_(self, "_match", {g: _dense_pairs(d, index, n_prompts, self.mirror) for g, d in matched.items()})
        set_(self, "_match_null", {g: _dense_pairs(d, index, n_prompts, self.mirror) for g, d in matched_null.items()})

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

    def degree_tensors(self, granularity: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The (models, models, prompts) scores and null the degree reads:
        ``matched`` / ``matched_null`` where given, else ``scores`` / ``null``."""
        self._check_gran(granularity)
        if granularity in self._match:  # type: ignore[attr-defined]
            return self._match[granularity], self._match_null.get(granularity)  # type: ignore[attr-defined]
        return self._sim[granularity], self._null.get(granularity)  # type: ignore[attr-defined]

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
