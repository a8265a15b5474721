"""A simulator of students that copy a known share of their answers.

Used to validate the distillation degree as a rate (docs/calibration.md,
tests/analysis/test_share.py). Answers are vectors, not texts: every model
answers prompt ``p`` with ``topic_p`` (what any answer to ``p`` shares) +
its own style + an answer-specific part, per granularity; samples add
sampling noise. A student takes its answer to a prompt from the teacher
with probability ``rate`` (all its samples of that prompt then derive from
the teacher's samples), plus copy noise:

``exact``  the teacher's answer itself;
``light``  small edits (similarity to the original ~0.9);
``heavy``  paraphrase (similarity ~0.6, near the unrelated range's top).

Populations (the student is ``S``, its teacher ``T``):

``one``      T, S and five unrelated models;
``four``     T, S, three more students of T (rates 0.3, 0.6, 0.9), four
             unrelated models: the population is full of T's clones;
``generic``  T is generic (its answers are the prompt's common core, so
             every model resembles it a little), S and five unrelated models.

Scores are cosines; with several samples per prompt the per-prompt score is
the mean over all sample pairs and the sample-matched score (each sample
against its closest sample of the other model, both ways, averaged) is the
table's ``matched`` (as :mod:`.similarity` computes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..stats import derangement
from .table import ScoreTable

__all__ = ["SimSpec", "NOISE", "POPULATIONS", "simulate_table", "copied_share"]

NOISE = {"exact": 0.0, "light": 0.5, "heavy": 1.35}
POPULATIONS = ("one", "four", "generic")
# (topic weight, style weight, edit-noise factor): unrelated answers share ~0.25 lexically and ~0.7
# semantically; a paraphrase keeps more meaning than words
_GRANS = {"lexical": (0.65, 0.55, 1.0), "semantic": (1.65, 0.5, 0.5)}
_SAMPLE_NOISE = 1.0  # self-similarity of an answer's samples ~ 1 / (1 + 1.0**2)


@dataclass(frozen=True)
class SimSpec:
    rate: float
    samples: int = 1
    noise: Literal["exact", "light", "heavy"] = "light"
    population: Literal["one", "four", "generic"] = "one"
    n_prompts: int = 200
    dim: int = 32
    seed: int = 0


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def copied_share(spec: SimSpec) -> float:
    """The share of prompts on which ``S`` copies ``T`` in :func:`simulate_table`'s
    draw for ``spec`` (the realised share; ``spec.rate`` is its expectation)."""
    rng = np.random.default_rng(spec.seed)
    return float((rng.random(spec.n_prompts) < spec.rate).mean())  # S's draw comes first


def simulate_table(spec: SimSpec) -> ScoreTable:
    """A :class:`ScoreTable` of the population in ``spec``; the pair of interest is ("S", "T")."""
    if spec.noise not in NOISE:
        raise ValueError(f"noise must be one of {sorted(NOISE)}, got {spec.noise!r}")
    if spec.population not in POPULATIONS:
        raise ValueError(f"population must be one of {POPULATIONS}, got {spec.population!r}")
    if not 0.0 <= spec.rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {spec.rate}")
    rng = np.random.default_rng(spec.seed)
    n, d, k = spec.n_prompts, spec.dim, spec.samples
    students: dict[str, float] = {"S": spec.rate}
    n_unrelated = 5
    if spec.population == "four":
        students.update({"S2": 0.3, "S3": 0.6, "S4": 0.9})
        n_unrelated = 4
    models = ["T", *students, *(f"U{i}" for i in range(1, n_unrelated + 1))]
    # which prompts each student copies (fixed across granularities and samples)
    copied = {s: rng.random(n) < r for s, r in students.items()}  # "S" first: see copied_share
    perm = derangement(n, spec.seed + 1)
    scores: dict[str, dict] = {}
    null: dict[str, dict] = {}
    matched: dict[str, dict] = {}
    matched_null: dict[str, dict] = {}
    selfsim: dict[str, dict] = {}
    eta = NOISE[spec.noise]
    for g, (w_topic, w_style, edit_factor) in _GRANS.items():
        topic = rng.standard_normal((n, d))
        ans: dict[str, np.ndarray] = {}
        # orthogonal styles: unrelated models share nothing beyond the prompt's topic
        styles = np.linalg.qr(rng.standard_normal((d, len(models))))[0].T * np.sqrt(d)
        for m, style in zip(models, styles):
            own = rng.standard_normal((n, d))
            if m == "T" and spec.population == "generic":
                base = 1.6 * topic + 0.5 * own
            else:
                base = w_topic * topic + w_style * style + own
            ans[m] = _unit(base)[:, None, :] + _SAMPLE_NOISE / np.sqrt(d) * rng.standard_normal((n, k, d))
        for s in students:
            t_unit = _unit(ans["T"])  # an edit keeps 1 / sqrt(1 + (eta * factor)^2) of the original
            edit = t_unit + eta * edit_factor / np.sqrt(d) * rng.standard_normal((n, k, d))
            ans[s] = np.where(copied[s][:, None, None], edit, ans[s])
        unit = {m: _unit(a) for m, a in ans.items()}
        scores[g], null[g], selfsim[g], matched[g], matched_null[g] = {}, {}, {}, {}, {}
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                for sink, msink, other in ((scores, matched, unit[b]), (null, matched_null, unit[b][perm])):
                    cos = np.einsum("nid,njd->nij", unit[a], other)
                    sink[g][(a, b)] = cos.mean(axis=(1, 2))
                    msink[g][(a, b)] = 0.5 * (cos.max(axis=2).mean(axis=1) + cos.max(axis=1).mean(axis=1))
            if k > 1:
                gram = np.einsum("nid,njd->nij", unit[a], unit[a])
                selfsim[g][a] = (gram.sum(axis=(1, 2)) - k) / (k * (k - 1))
    if k == 1:  # one sample: the matched scores are the scores
        return ScoreTable(models, scores, {}, null)  # type: ignore[arg-type]
    return ScoreTable(models, scores, selfsim, null, matched=matched, matched_null=matched_null)  # type: ignore[arg-type]
