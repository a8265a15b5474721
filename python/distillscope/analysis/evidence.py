"""Evidence behind a degree: the prompts that contribute most, with both answers
and the spans they share.

For a student S and its top candidate T, the degree is the share of prompts
where S's answer stands out from the unrelated answers to the same prompt
(:mod:`distillscope.analysis.share`): its per-prompt residual ``e_p`` (the
score minus the higher of the two models' median scores to the population) is above
the cut-off. A prompt's *contribution* is that residual, weighted over the
granularities::

    contribution_p = sum_g w_g e_p,g(S, T) / sum_g w_g

(the shuffled-prompt null replaces the baseline when there are fewer than 4
models), with the calibration weights ``w_g`` over the granularities defined
on that prompt: the prompts counted as derived come first.
The prompts with the largest contributions are the ones a reader should
look at to see why the degree is high (or, when it is near 0, that even the
closest answers are ordinary).

Shared spans are maximal runs of at least ``n`` consecutive units (words,
single CJK characters, punctuation marks) that occur in both answers, after
the normalization of the ``unicode`` tokenizer (:mod:`distillscope.text.tokenize`:
lower-case, full-width folded), so they match what the lexical metrics count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..text.tokenize import token_strings
from .share import share_series
from .table import ScoreTable

__all__ = ["build_evidence", "shared_spans"]

# words (letters, digits, marks), one CJK / kana / hangul character, or one other mark
_UNIT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+|\S")


def _units(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    spans = [(m.start(), m.end()) for m in _UNIT.finditer(text)]
    return spans, [text[a:b] for a, b in spans]


def _keys(words: Sequence[str]) -> list[str]:
    """The tokenizer's normalized form of each unit (a unit it drops keeps its text)."""
    if not words:
        return []
    toks = token_strings(list(words), "unicode")
    return [" ".join(t) if t else w for t, w in zip(toks, words)]


def _marked(keys: list[str], other: set[tuple[str, ...]], n: int) -> np.ndarray:
    mark = np.zeros(len(keys), dtype=bool)
    for i in range(len(keys) - n + 1):
        if tuple(keys[i : i + n]) in other:
            mark[i : i + n] = True
    return mark


def _runs(mark: np.ndarray, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(mark):
        if mark[i]:
            j = i
            while j + 1 < len(mark) and mark[j + 1]:
                j += 1
            out.append((spans[i][0], spans[j][1]))
            i = j + 1
        else:
            i += 1
    return out


def _longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest common contiguous run of units (O(len a * len b))."""
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                if cur[j] > best:
                    best = cur[j]
        prev = cur
    return best


def shared_spans(a: str, b: str, n: int = 5) -> dict[str, Any]:
    """Character spans of ``a`` and of ``b`` covered by a run of ≥ ``n`` units
    that both texts contain, and the longest common run (in units).

    Returns ``{"a": [[start, end], ...], "b": [...], "longest": int,
    "shared_fraction_a": float, "shared_fraction_b": float}`` (fractions of
    each text's units inside a shared span).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    sa, wa = _units(a)
    sb, wb = _units(b)
    ka, kb = _keys(wa), _keys(wb)
    grams_a = {tuple(ka[i : i + n]) for i in range(len(ka) - n + 1)}
    grams_b = {tuple(kb[i : i + n]) for i in range(len(kb) - n + 1)}
    ma, mb = _marked(ka, grams_b, n), _marked(kb, grams_a, n)
    return {
        "a": [list(s) for s in _runs(ma, sa)],
        "b": [list(s) for s in _runs(mb, sb)],
        "longest": _longest_common_run(ka, kb),
        "shared_fraction_a": float(ma.mean()) if len(ma) else 0.0,
        "shared_fraction_b": float(mb.mean()) if len(mb) else 0.0,
    }


def _clip_text(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    cut = text.rfind(" ", 0, max_chars)
    return text[: cut if cut > max_chars // 2 else max_chars], True


def _contribution(
    scores: ScoreTable, student: str, cand: str, weights: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-prompt weighted excess over the population (see the module docstring)."""
    si, ci = scores.index_of(student), scores.index_of(cand)
    num = np.zeros(scores.n_prompts)
    den = np.zeros(scores.n_prompts)
    per_g: dict[str, np.ndarray] = {}
    for g, w in weights.items():
        if g not in scores.scores or not w > 0:
            continue
        t, _ = scores.degree_tensors(g)  # the scores the degree reads (sample-matched where given)
        s = t[si, ci]
        per_g[g] = s
        if len(scores.models) >= 4:  # the degree's own per-prompt baseline
            pop = share_series(t, None, np.array([si]), np.array([ci]))["baseline"][0, 0]
        else:
            nul = scores.null.get(g, {}).get((student, cand))
            pop = np.asarray(nul) if nul is not None else np.zeros_like(s)
        ex = s - pop
        ok = np.isfinite(ex)
        num[ok] += w * ex[ok]
        den[ok] += w
    with np.errstate(invalid="ignore", divide="ignore"):
        contrib = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return contrib, per_g


def _answers(responses: Any) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """(model, prompt_id) -> first successful sample's text; prompt_id -> prompt text."""
    ans: dict[tuple[str, str], tuple[int, str]] = {}
    prompts: dict[str, str] = {}
    models, pids = responses.models, responses.prompt_ids
    for r in range(len(responses)):
        text = responses.response[r]
        pid = str(pids[responses.prompt_code[r]])
        ptxt = responses.prompt[r]
        if ptxt and pid not in prompts:
            prompts[pid] = str(ptxt)
        if not responses.ok[r] or text is None:
            continue
        key = (str(models[responses.model_code[r]]), pid)
        smp = int(responses.sample[r])
        if key not in ans or smp < ans[key][0]:
            ans[key] = (smp, str(text))
    return {k: v[1] for k, v in ans.items()}, prompts


def build_evidence(
    scores: ScoreTable,
    responses: Any,
    attribution: Mapping[str, Any],
    *,
    per_student: int = 3,
    max_chars: int = 1200,
    n: int = 5,
) -> list[dict[str, Any]]:
    """For each student's top-ranked candidate, the ``per_student`` prompts with
    the largest contribution, both answers (first sample, cut to ``max_chars``
    characters) and their shared spans. JSON-ready; the report's
    ``evidence=`` argument."""
    if per_student < 0 or max_chars < 50:
        raise ValueError("per_student must be >= 0 and max_chars >= 50")
    if per_student == 0 or scores.prompt_ids is None:
        return []
    weights = {str(k): float(v) for k, v in (attribution.get("weights") or {}).items()}
    if not weights:
        weights = {g: 1.0 for g in scores.granularities}
    answers, prompts = _answers(responses)
    out = []
    for student, ranked in attribution["students"].items():
        if not ranked or student not in scores.models or ranked[0].get("candidate") not in scores.models:
            continue
        top = ranked[0]
        cand = str(top["candidate"])
        contrib, per_g = _contribution(scores, student, cand, weights)
        order = [
            int(p) for p in np.argsort(-np.nan_to_num(contrib, nan=-np.inf), kind="stable") if math.isfinite(contrib[p])
        ]
        items = []
        for p in order:
            pid = str(scores.prompt_ids[p])
            a, b = answers.get((student, pid)), answers.get((cand, pid))
            if a is None or b is None:
                continue
            a, cut_a = _clip_text(a, max_chars)
            b, cut_b = _clip_text(b, max_chars)
            sp = shared_spans(a, b, n)
            prompt, cut_p = _clip_text(prompts.get(pid, ""), 400)
            items.append(
                {
                    "prompt_id": pid,
                    "prompt": prompt + (" …" if cut_p else ""),
                    "contribution": float(contrib[p]),
                    "scores": {g: (float(v[p]) if math.isfinite(v[p]) else None) for g, v in per_g.items()},
                    "student_answer": a,
                    "candidate_answer": b,
                    "student_truncated": cut_a,
                    "candidate_truncated": cut_b,
                    "student_spans": sp["a"],
                    "candidate_spans": sp["b"],
                    "longest_shared_run": sp["longest"],
                    "shared_fraction": sp["shared_fraction_a"],
                }
            )
            if len(items) >= per_student:
                break
        out.append(
            {
                "student": student,
                "candidate": cand,
                "degree": top.get("degree"),
                "ci_low": top.get("ci_low"),
                "ci_high": top.get("ci_high"),
                "min_run": n,
                "prompts": items,
            }
        )
    return out
