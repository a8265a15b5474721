"""Reading a judge answer into 1-5 scores (JSON objects, fenced blocks or labelled text)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ASPECTS = ("style", "structure", "content")
SCORE_FIELDS = ("overall",) + ASPECTS


@dataclass(frozen=True)
class ParsedJudgement:
    """One judge answer read into numbers.

    ``status`` is ``"ok"`` (``overall`` in [1, 5]), ``"unparsed"`` (the
    answer held no usable overall score; ``problem`` says why and every
    score is NaN) or ``"failed"`` (the request failed; ``problem`` is the
    gatherer's error). Aspect scores the judge left out are NaN.
    """

    status: str
    overall: float = math.nan
    style: float = math.nan
    structure: float = math.nan
    content: float = math.nan
    problem: str | None = None
    reason: str | None = None  # the judge's own one-line explanation

    def scores(self) -> dict[str, float]:
        return {f: getattr(self, f) for f in SCORE_FIELDS}


_KEY_SYNONYMS: dict[str, str] = {}
for _canon, _names in {
    "overall": (
        "overall",
        "overall_score",
        "overall_similarity",
        "overall_resemblance",
        "similarity",
        "resemblance",
        "score",
        "rating",
        "final_score",
        "total",
        "overall_rating",
    ),
    "style": (
        "style",
        "style_score",
        "response_style",
        "stylistic",
        "stylistic_similarity",
        "style_similarity",
        "tone",
    ),
    "structure": (
        "structure",
        "structure_score",
        "logical_structure",
        "logic",
        "logical",
        "structural",
        "structure_similarity",
        "reasoning_structure",
        "organization",
        "organisation",
    ),
    "content": (
        "content",
        "content_score",
        "content_detail",
        "content_details",
        "detail",
        "details",
        "content_similarity",
    ),
}.items():
    for _n in _names:
        _KEY_SYNONYMS[_n] = _canon
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale", "justification", "comment")


def _norm_key(k: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(k).strip().lower())


_NUM_TEXT = re.compile(
    r"^\s*\**\s*(?P<n>[+-]?\d+(?:\.\d+)?)\s*(?:(?:/|out\s+of)\s*(?P<d>\d+(?:\.\d+)?))?\s*\**\s*\.?\s*$", re.IGNORECASE
)


def _score_value(v: Any) -> tuple[float | None, str | None]:
    """(value, None) for a usable 1-5 score, else (None, problem)."""
    if isinstance(v, Mapping):  # {"score": 4, "reason": ...}
        for k in ("score", "value", "rating"):
            if k in v:
                return _score_value(v[k])
        return None, "no number in nested object"
    if isinstance(v, bool) or v is None:
        return None, f"not a number ({v!r})"
    den: float | None = None
    if isinstance(v, (int, float)):
        x = float(v)
    elif isinstance(v, str):
        m = _NUM_TEXT.match(v)
        if not m:
            return None, f"not a number ({v[:30]!r})"
        x = float(m.group("n"))
        den = float(m.group("d")) if m.group("d") else None
    else:
        return None, f"not a number ({type(v).__name__})"
    return _check_range(x, den)


def _check_range(x: float, den: float | None) -> tuple[float | None, str | None]:
    if den is not None and den != 5:
        return None, f"wrong scale ({x:g}/{den:g}; expected 1-5)"
    if not math.isfinite(x):
        return None, "not a finite number"
    if not 1.0 <= x <= 5.0:
        return None, f"out of range ({x:g}; expected 1-5)"
    return x, None


def _flatten(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level keys plus one level of nesting ({"scores": {...}})."""
    flat: dict[str, Any] = {}
    for k, v in obj.items():
        nk = _norm_key(k)
        if isinstance(v, Mapping) and nk not in _KEY_SYNONYMS:
            for k2, v2 in v.items():
                flat.setdefault(_norm_key(k2), v2)
        else:
            flat[nk] = v
    return flat


def _from_object(obj: Mapping[str, Any]) -> ParsedJudgement | None:
    """Read one JSON object; None if it holds no score key at all."""
    flat = _flatten(obj)
    found: dict[str, Any] = {}
    for k, v in flat.items():
        canon = _KEY_SYNONYMS.get(k)
        if canon is not None and canon not in found:
            found[canon] = v
    if not found:
        return None
    reason = next((flat[k] for k in _REASON_KEYS if isinstance(flat.get(k), str)), None)
    values: dict[str, float] = {}
    for f in SCORE_FIELDS:
        if f in found:
            x, problem = _score_value(found[f])
            if problem is not None:
                return ParsedJudgement("unparsed", problem=f"{f}: {problem}", reason=reason)
            assert x is not None
            values[f] = x
    if "overall" not in values:
        return ParsedJudgement("unparsed", problem="no overall score in the JSON answer", reason=reason)
    return ParsedJudgement("ok", problem=None, reason=reason, **values)  # type: ignore[arg-type]


# "Label: 4", "**Overall**: 4/5", "Style score = 3 out of 5", "overall similarity is 2"
_LABELLED = re.compile(
    r"(?P<label>[A-Za-z][A-Za-z _\-]{0,40}?)\s*(?:\*\*|__)?\s*(?:[:=：]|\bis\b)\s*(?:\*\*|__)?\s*"
    r"(?P<n>[+-]?\d+(?:\.\d+)?)(?:\s*(?:/|out\s+of)\s*(?P<d>\d+(?:\.\d+)?))?",
    re.IGNORECASE,
)
_BARE_FRACTION = re.compile(r"(?<![\d.])(?P<n>\d+(?:\.\d+)?)\s*(?:/|out\s+of)\s*(?P<d>\d+(?:\.\d+)?)", re.IGNORECASE)
_OVERALL_LABELS = {
    "score",
    "rating",
    "final score",
    "final rating",
    "similarity",
    "resemblance",
    "total",
    "final",
    "verdict",
    "overall",
}


def _label_field(label: str) -> str | None:
    lab = re.sub(r"[\s_\-]+", " ", label.strip().lower())
    if "overall" in lab:
        return "overall"
    if "style" in lab or "stylistic" in lab or lab.endswith("tone"):
        return "style"
    if "structur" in lab or "logic" in lab or "organi" in lab:
        return "structure"
    if "content" in lab or "detail" in lab:
        return "content"
    # the last one or two words: "my score", "the final rating"
    words = lab.split()
    for k in (2, 1):
        if len(words) >= k and " ".join(words[-k:]) in _OVERALL_LABELS:
            return "overall"
    return None


def _single(x: float | None, problem: str | None) -> ParsedJudgement:
    if problem is None and x is not None:
        return ParsedJudgement("ok", overall=x)
    return ParsedJudgement("unparsed", problem=f"overall: {problem}")


def _from_text(body: str) -> ParsedJudgement:
    seen: dict[str, list[tuple[float | None, str | None]]] = {}
    for m in _LABELLED.finditer(body):
        f = _label_field(m.group("label"))
        if f is None:
            continue
        den = float(m.group("d")) if m.group("d") else None
        seen.setdefault(f, []).append(_check_range(float(m.group("n")), den))
    if "overall" not in seen:
        stripped = body.strip().strip("*").strip()
        whole = _NUM_TEXT.match(stripped)
        if whole:  # the whole answer is a number ("4", "4/5")
            x, problem = _score_value(stripped)
            return _single(x, problem)
        fr = [(float(m.group("n")), float(m.group("d"))) for m in _BARE_FRACTION.finditer(body)]
        if len(fr) == 1 and not seen:  # "I'd give these a 4/5."
            return _single(*_check_range(*fr[0]))
        return ParsedJudgement("unparsed", problem="no overall score found in the answer")
    values: dict[str, float] = {}
    for f, hits in seen.items():
        bad = [p for _, p in hits if p is not None]
        if bad:
            return ParsedJudgement("unparsed", problem=f"{f}: {bad[0]}")
        distinct = sorted({float(x) for x, _ in hits if x is not None})
        if len(distinct) > 1:
            return ParsedJudgement("unparsed", problem=f"{f}: ambiguous, the answer gives {distinct}")
        values[f] = distinct[0]
    return ParsedJudgement("ok", **values)  # type: ignore[arg-type]


_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def _top_objects(text: str) -> list[dict[str, Any]]:
    """The outermost JSON objects in ``text``, in order, after light repair
    (trailing commas, Python ``True``/``False``/``None``, single quotes when
    nothing decodes otherwise). Objects nested in another are not returned
    on their own."""
    fixed = re.sub(r",\s*([}\]])", r"\1", text)
    fixed = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", fixed)))
    dec = json.JSONDecoder()
    for cand in (fixed, fixed.replace("'", '"')):
        out: list[dict[str, Any]] = []
        end = 0
        for m in re.finditer(r"\{", cand):
            if m.start() < end:
                continue  # inside an object already read
            try:
                obj, stop = dec.raw_decode(cand, m.start())
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
                end = stop
        if out:
            return out
    return []


def parse_pair_answer(text: str | None) -> ParsedJudgement:
    """Read a judge's answer (never raises).

    Tries, in order: JSON objects inside code fences, JSON objects anywhere
    in the text (light repair: trailing commas, Python literals, single
    quotes), then labelled lines (``Overall: 4``, ``**Style**: 3/5``,
    ``Score: 4 out of 5``), then a bare number or a single ``n/5``. A value
    outside 1–5, on another scale (``8/10``), not a number, or given twice
    with different values makes the answer ``unparsed`` — with the reason —
    rather than a guessed score.
    """
    if text is None:
        return ParsedJudgement("failed", problem="no answer")
    if not isinstance(text, str):
        return ParsedJudgement("unparsed", problem=f"answer is not text ({type(text).__name__})")
    body = re.sub(r"<think>.*?</think>", "", text, flags=re.DOTALL | re.IGNORECASE).strip()
    if not body:
        return ParsedJudgement("unparsed", problem="empty answer")
    fenced = [m.group(1) for m in _FENCE.finditer(body)]
    for chunk in [*fenced, body] if fenced else [body]:
        objs = _top_objects(chunk)
        parsed = [p for p in (_from_object(o) for o in objs) if p is not None]
        if parsed:
            # the last complete answer wins (judges sometimes restate the schema first)
            ok = [p for p in parsed if p.status == "ok"]
            return ok[-1] if ok else parsed[-1]
    no_code = _FENCE.sub(" ", body) if fenced else body
    return _from_text(no_code)


__all__ = ["ASPECTS", "SCORE_FIELDS", "ParsedJudgement", "parse_pair_answer"]
