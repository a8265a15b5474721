"""LLM-judge mode of response similarity (RSE), run through the gatherer.

A judge model reads two models' answers to the same prompt and rates how
much they resemble each other on three aspects — *style*, *logical
structure* and *content detail* — plus an *overall* resemblance, each on a
1–5 scale (the judge variant of the published RSE method; the prompt here
is this project's own, see docs/judge.md).

Pipeline
--------
* :func:`build_items` picks, for each requested model pair, the prompts both
  answered (sample ``sample``, successful records), optionally a seeded
  subset of them, and decides per item — from a seeded hash of
  ``(seed, model_a, model_b, prompt_id)``, so the choice does not depend on
  which other items are judged — which answer is shown first. With
  ``both_orders`` each item is judged in both orders and the parsed scores
  are averaged. With ``null`` every pair is also judged on shuffled prompts
  (A's answer to prompt p against B's answer to prompt π(p), π the
  calibration derangement), which gives the calibration its chance level.
* The requests go through :func:`distillscope.gather.run_requests`: rate
  limited, retried with backoff (``Retry-After`` honoured), appended to a
  JSONL store as they finish. Re-running sends nothing already recorded;
  a request whose text changed (e.g. the answers were re-gathered) is
  asked again and the newest record wins.
* :func:`parse_pair_answer` reads each answer; anything that is not a clean
  1–5 score is recorded as ``unparsed`` with its reason, a failed request
  as ``failed`` with the gatherer's error — never a made-up number.
* :class:`JudgeResult` holds per-item numpy columns keyed by
  ``(model_a, model_b, prompt_id)``; :func:`to_score_table` turns them into
  a :class:`~distillscope.calibrate.ScoreTable` (granularity ``"judge"``,
  scaled ``(score - 1) / 4``) so judge scores calibrate like the others;
  :func:`agreement_report` compares them with the judge-free scores.

:func:`gatherer_complete` adapts the gatherer to the ``complete(specs) ->
texts`` callable that :class:`distillscope.identity_judge.IdentityJudge`
expects.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.table import ScoreTable
    from ..gather.config import ModelConfig
    from ..gather.prompts import RequestSpec
    from ..store.table import ResponseTable

JUDGE_PROMPT_VERSION = "rse-judge-1"
ASPECTS = ("style", "structure", "content")
SCORE_FIELDS = ("overall",) + ASPECTS
STATUSES = ("ok", "unparsed", "failed")
AGREEMENT_GRANULARITIES = ("lexical", "semantic", "structural", "style", "combined")
# judge aspect -> judge-free granularities it is compared with (first present wins)
ASPECT_PEERS = {"style": ("style",), "structure": ("structural",), "content": ("semantic", "lexical")}

# --------------------------------------------------------------------------- the prompt
_SYSTEM = (
    "You will see one user request and two answers to it, written by two different AI assistants. Do not "
    "decide which answer is better. Judge how much the two answers resemble each other, the way an examiner "
    "would look for signs that one was imitated from the other or that both were learned from the same "
    "source.\n\n"
    "Rate each aspect from 1 (nothing in common) to 5 (practically the same):\n"
    "- style: voice and tone, formatting (headings, bullet or numbered lists, bold text, code blocks, "
    "tables), length, recurring phrases, and the way each answer opens and signs off.\n"
    "- structure: the shape of the reasoning — which points are made in which order, how the explanation "
    "or procedure is split into steps or sections, where the conclusion sits.\n"
    "- content: the particular facts, examples, figures, caveats and recommendations. Count shared "
    "specifics, not a shared topic.\n\n"
    "Then rate the overall resemblance from 1 to 5:\n"
    "1 = unrelated beyond what the request itself forces;\n"
    "2 = faint: the same obvious points, otherwise different;\n"
    "3 = clear overlap in structure or in details, yet plausibly written independently;\n"
    "4 = strong: parallel structure and many of the same specific details or wordings;\n"
    "5 = one reads as a copy or a light rewording of the other.\n\n"
    "Overlap that any competent answer must have (for example both giving the one correct fact that was "
    "asked for) counts for little. Correctness, quality and length alone are not resemblance. The order in "
    "which the answers are shown means nothing.\n\n"
    "Answer with a single JSON object and no other text. Its keys: \"style\", \"structure\", \"content\" and "
    "\"overall\", each an integer from 1 to 5, and \"reason\", one short sentence."
)


def _clip_text(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def judge_messages(prompt: str | None, first: str, second: str, *, max_answer_chars: int = 6000) -> list[dict[str, str]]:
    """The chat messages of one judge request (system + user)."""
    req = prompt if prompt else "(the request text is not available; judge from the answers alone)"
    user = (
        f"<request>\n{_clip_text(req, max_answer_chars)}\n</request>\n\n"
        f"<answer_1>\n{_clip_text(first, max_answer_chars)}\n</answer_1>\n\n"
        f"<answer_2>\n{_clip_text(second, max_answer_chars)}\n</answer_2>"
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- parsing
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
    "overall": ("overall", "overall_score", "overall_similarity", "overall_resemblance", "similarity", "resemblance",
                "score", "rating", "final_score", "total", "overall_rating"),
    "style": ("style", "style_score", "response_style", "stylistic", "stylistic_similarity", "style_similarity", "tone"),
    "structure": ("structure", "structure_score", "logical_structure", "logic", "logical", "structural",
                  "structure_similarity", "reasoning_structure", "organization", "organisation"),
    "content": ("content", "content_score", "content_detail", "content_details", "detail", "details",
                "content_similarity"),
}.items():
    for _n in _names:
        _KEY_SYNONYMS[_n] = _canon
_REASON_KEYS = ("reason", "reasoning", "explanation", "rationale", "justification", "comment")


def _norm_key(k: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(k).strip().lower())


_NUM_TEXT = re.compile(r"^\s*\**\s*(?P<n>[+-]?\d+(?:\.\d+)?)\s*(?:(?:/|out\s+of)\s*(?P<d>\d+(?:\.\d+)?))?\s*\**\s*\.?\s*$",
                       re.IGNORECASE)


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
_OVERALL_LABELS = {"score", "rating", "final score", "final rating", "similarity", "resemblance", "total",
                   "final", "verdict", "overall"}


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
    for chunk in ([*fenced, body] if fenced else [body]):
        objs = _top_objects(chunk)
        parsed = [p for p in (_from_object(o) for o in objs) if p is not None]
        if parsed:
            # the last complete answer wins (judges sometimes restate the schema first)
            ok = [p for p in parsed if p.status == "ok"]
            return ok[-1] if ok else parsed[-1]
    no_code = _FENCE.sub(" ", body) if fenced else body
    return _from_text(no_code)


# --------------------------------------------------------------------------- items
@dataclass(frozen=True)
class JudgeConfig:
    """How pairs are judged.

    seed: seeds which answer is shown first (and the prompt subset).
    both_orders: judge every item in both orders and average the parsed
        overall (and aspect) scores; doubles the requests.
    null: also judge each pair on shuffled prompts (A's answer to p vs B's
        answer to π(p), π = ``calibrate.derangement(n_prompts, null_seed)``)
        to give calibration a chance level.
    max_prompts: judge at most this many prompts per pair (a seeded subset,
        shared across pairs as far as their prompts overlap).
    sample: which sample of each model's answers is judged.
    max_answer_chars: longer answers (and prompts) are cut, identically for
        both sides, with a note saying how much was cut.
    temperature, max_tokens: the judge's sampling parameters.
    """

    seed: int = 0
    both_orders: bool = False
    null: bool = False
    null_seed: int = 0
    max_prompts: int | None = None
    sample: int = 0
    max_answer_chars: int = 6000
    temperature: float = 0.0
    max_tokens: int = 300

    def __post_init__(self) -> None:
        for k in ("seed", "null_seed", "sample", "max_answer_chars", "max_tokens"):
            v = getattr(self, k)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{k} must be an integer >= 0, got {v!r}")
        if self.max_prompts is not None and (not isinstance(self.max_prompts, int) or self.max_prompts < 1):
            raise ValueError(f"max_prompts must be an integer >= 1 or None, got {self.max_prompts!r}")
        if not (isinstance(self.temperature, (int, float)) and 0 <= self.temperature <= 2):
            raise ValueError(f"temperature must be in [0, 2], got {self.temperature!r}")
        if self.max_tokens < 16:
            raise ValueError(f"max_tokens must be >= 16 (the JSON answer needs room), got {self.max_tokens}")

    def signature(self, judge_model: str) -> str:
        return (f"judge:{JUDGE_PROMPT_VERSION}|model:{judge_model}|orders:{2 if self.both_orders else 1}|"
                f"seed={self.seed}|T={self.temperature:g}|max_tokens={self.max_tokens}|"
                f"cut={self.max_answer_chars}|sample={self.sample}")


def _hash(*parts: Any) -> str:
    blob = json.dumps([str(p) for p in parts], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def show_b_first(seed: int, model_a: str, model_b: str, prompt_id: str) -> bool:
    """The seeded position draw of one item: True if B's answer is shown first.

    A hash of ``(seed, a, b, prompt_id)`` rather than a stream of random
    numbers, so an item's order is the same whatever else is judged."""
    return int(_hash("order", seed, model_a, model_b, prompt_id)[:8], 16) & 1 == 1


def parse_pairs(spec: str | Sequence[Any] | None, models: Sequence[str]) -> list[tuple[str, str]]:
    """``"A:B,C:D"`` or [(A, B), ...] → pairs; None → every unordered pair of ``models``."""
    models = [str(m) for m in models]
    if spec is None or spec == "":
        return [(models[i], models[j]) for i in range(len(models)) for j in range(i + 1, len(models))]
    items: list[Any] = [s.strip() for s in spec.split(",") if s.strip()] if isinstance(spec, str) else list(spec)
    out: list[tuple[str, str]] = []
    for it in items:
        if isinstance(it, str):
            a, sep, b = it.partition(":")
            if not sep:
                raise ValueError(f"pair {it!r} must look like MODEL_A:MODEL_B")
        else:
            a, b = it
        a, b = str(a).strip(), str(b).strip()
        for m in (a, b):
            if m not in models:
                raise ValueError(f"pair {a}:{b}: unknown model {m!r}; available: {models}")
        if a == b:
            raise ValueError(f"pair {a}:{b} compares a model with itself; pick two different models")
        if (a, b) in out or (b, a) in out:
            raise ValueError(f"pair {a}:{b} is listed twice (the judge is symmetric: A:B covers B:A)")
        out.append((a, b))
    if not out:
        raise ValueError("no pairs given; use --pairs A:B[,C:D...]")
    return out


@dataclass(frozen=True)
class JudgeItem:
    """One judged comparison: ``kind`` ``"raw"`` (same prompt) or ``"null"``
    (A's answer to ``prompt_id``, B's to ``prompt_b``)."""

    model_a: str
    model_b: str
    prompt_id: str
    kind: str
    prompt_b: str
    b_first: bool
    prompt: str | None
    answer_a: str
    answer_b: str

    def custom_id(self, order: int) -> str:
        h = _hash(JUDGE_PROMPT_VERSION, self.kind, self.model_a, self.model_b, self.prompt_id, self.prompt_b)
        return f"rsej-{h[:24]}-{order}"

    def shown(self, order: int) -> tuple[str, str]:
        """Models shown as answer 1 and 2 in ``order`` (0 = the seeded order, 1 = reversed)."""
        b_first = self.b_first != (order == 1)
        return (self.model_b, self.model_a) if b_first else (self.model_a, self.model_b)

    def request(self, order: int, cfg: JudgeConfig) -> "RequestSpec":
        from ..gather.prompts import RequestSpec

        first, _ = self.shown(order)
        texts = (self.answer_b, self.answer_a) if first == self.model_b else (self.answer_a, self.answer_b)
        msgs = judge_messages(self.prompt, texts[0], texts[1], max_answer_chars=cfg.max_answer_chars)
        return RequestSpec(
            self.custom_id(order),
            tuple(msgs),
            params={"temperature": float(cfg.temperature), "max_tokens": int(cfg.max_tokens)},
            meta={"task": "rse-judge", "version": JUDGE_PROMPT_VERSION, "kind": self.kind,
                  "model_a": self.model_a, "model_b": self.model_b, "prompt_id": self.prompt_id,
                  "prompt_b": self.prompt_b, "first": first, "order": order},
        )


def _answers(table: "ResponseTable", sample: int) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    answers: dict[tuple[str, str], str] = {}
    prompts: dict[str, str] = {}
    models, pids = table.model, table.prompt_id
    for i in np.nonzero(table.ok & (table.sample == sample))[0].tolist():
        answers[(str(models[i]), str(pids[i]))] = str(table.response[i])
    for i in range(len(table)):
        p = table.prompt[i]
        if isinstance(p, str) and p.strip():
            prompts.setdefault(str(pids[i]), p)
    return answers, prompts


def build_items(
    table: "ResponseTable", pairs: Sequence[tuple[str, str]], config: JudgeConfig | None = None
) -> tuple[list[JudgeItem], tuple[str, ...]]:
    """The items to judge and the shared prompt index (sorted ids) they cover."""
    from ..stats import derangement

    cfg = config or JudgeConfig()
    answers, prompt_text = _answers(table, cfg.sample)
    known = {str(m) for m in table.models}
    for a, b in pairs:
        for m in (a, b):
            if m not in known:
                raise ValueError(f"model {m!r} has no responses; available: {sorted(known)}")
    # one seeded priority per prompt: max_prompts takes the same prompts for every pair where it can
    prio = {p: _hash("subset", cfg.seed, p) for p in (str(x) for x in table.prompt_ids)}
    chosen: dict[tuple[str, str], list[str]] = {}
    for a, b in pairs:
        shared = [p for p in prio if (a, p) in answers and (b, p) in answers]
        if cfg.max_prompts is not None and len(shared) > cfg.max_prompts:
            shared = sorted(shared, key=lambda p: prio[p])[: cfg.max_prompts]
        chosen[(a, b)] = sorted(shared)
    index = tuple(sorted({p for ps in chosen.values() for p in ps}))
    if not index:
        raise ValueError(f"the pairs {list(pairs)} share no prompt with a successful answer (sample {cfg.sample})")
    items: list[JudgeItem] = []
    for (a, b), ps in chosen.items():
        for p in ps:
            items.append(JudgeItem(a, b, p, "raw", p, show_b_first(cfg.seed, a, b, p), prompt_text.get(p),
                                   answers[(a, p)], answers[(b, p)]))
    if cfg.null:
        if len(index) < 2:
            raise ValueError("null=True needs at least 2 judged prompts")
        perm = derangement(len(index), cfg.null_seed)
        for a, b in pairs:
            for i, p in enumerate(index):
                q = index[int(perm[i])]
                if (a, p) in answers and (b, q) in answers:
                    items.append(JudgeItem(a, b, p, "null", q, show_b_first(cfg.seed, a, b, f"null:{p}"),
                                           prompt_text.get(p), answers[(a, p)], answers[(b, q)]))
    return items, index


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class JudgeResult:
    """Per-item judge scores as numpy columns (row i = one item).

    ``overall`` and the aspect columns are on the judge's 1–5 scale, NaN
    where the item is not ``ok``; with both orders they average the orders
    that parsed (``overall_by_order[:, k]`` keeps each order, NaN where not
    run or not parsed). ``first`` is the model shown as answer 1 in order 0.
    """

    judge: str
    model_a: np.ndarray
    model_b: np.ndarray
    prompt_id: np.ndarray
    kind: np.ndarray
    prompt_b: np.ndarray
    first: np.ndarray
    overall: np.ndarray
    style: np.ndarray
    structure: np.ndarray
    content: np.ndarray
    overall_by_order: np.ndarray
    status: np.ndarray
    problem: np.ndarray
    reason: np.ndarray
    prompt_index: tuple[str, ...]
    config: JudgeConfig
    signature: str
    requested: int = 0
    already_done: int = 0
    failed_requests: int = 0
    orders: int = 1
    _lookup: dict[tuple[str, str, str, str], int] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.overall.shape[0])

    def row(self, model_a: str, model_b: str, prompt_id: str, kind: str = "raw") -> int:
        """Row of an item; ``(b, a)`` finds the item judged as ``(a, b)``."""
        for key in ((model_a, model_b, prompt_id, kind), (model_b, model_a, prompt_id, kind)):
            if key in self._lookup:
                return self._lookup[key]
        raise KeyError(f"no {kind} item for ({model_a!r}, {model_b!r}, {prompt_id!r})")

    def pair(self, model_a: str, model_b: str, kind: str = "raw") -> dict[str, np.ndarray]:
        """One pair's items as arrays (``prompt_id``, scores, ``status``, ``first``), in prompt order.

        ``(b, a)`` gives the pair judged as ``(a, b)``."""
        sel = (self.model_a == model_a) & (self.model_b == model_b) & (self.kind == kind)
        if not sel.any():
            sel = (self.model_a == model_b) & (self.model_b == model_a) & (self.kind == kind)
        if not sel.any():
            raise KeyError(f"no {kind} items for the pair ({model_a!r}, {model_b!r}); judged: {self.pairs}")
        idx = np.nonzero(sel)[0]
        idx = idx[np.argsort(self.prompt_id[idx].astype(str), kind="stable")]
        out = {f: getattr(self, f)[idx] for f in ("prompt_id", *SCORE_FIELDS, "status", "first", "problem")}
        out["scaled"] = (out["overall"] - 1.0) / 4.0
        return out

    @property
    def pairs(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for a, b in zip(self.model_a.tolist(), self.model_b.tolist()):
            seen.setdefault((a, b), None)
        return list(seen)

    def scaled(self) -> np.ndarray:
        """Overall scores mapped to [0, 1] as (score - 1) / 4."""
        return (self.overall - 1.0) / 4.0

    def rows(self, *, kind: str | None = "raw") -> list[dict[str, Any]]:
        out = []
        for i in range(len(self)):
            if kind is not None and self.kind[i] != kind:
                continue
            r = {"model_a": self.model_a[i], "model_b": self.model_b[i], "prompt_id": self.prompt_id[i],
                 "kind": self.kind[i], "first": self.first[i], "status": self.status[i],
                 "overall": self.overall[i], "style": self.style[i], "structure": self.structure[i],
                 "content": self.content[i], "problem": self.problem[i], "reason": self.reason[i]}
            if self.kind[i] == "null":
                r["prompt_b"] = self.prompt_b[i]
            if self.orders == 2:
                r["overall_order0"], r["overall_order1"] = self.overall_by_order[i]
            out.append(r)
        return out

    def summary(self) -> list[dict[str, Any]]:
        """Per pair (raw items): counts by status, mean scores, position effects."""
        out = []
        for a, b in self.pairs:
            sel = (self.model_a == a) & (self.model_b == b) & (self.kind == "raw")
            ok = sel & (self.status == "ok")
            r: dict[str, Any] = {"model_a": a, "model_b": b, "n": int(sel.sum()), "ok": int(ok.sum()),
                                 "unparsed": int((sel & (self.status == "unparsed")).sum()),
                                 "failed": int((sel & (self.status == "failed")).sum())}
            for f in SCORE_FIELDS:
                v = getattr(self, f)[ok]
                v = v[np.isfinite(v)]
                r[f] = float(v.mean()) if v.size else None
            r["overall_scaled"] = None if r["overall"] is None else (r["overall"] - 1.0) / 4.0
            o = self.overall
            for who, label in ((a, "mean_when_a_first"), (b, "mean_when_b_first")):
                v = o[ok & (self.first == who)]
                r[label] = float(v.mean()) if v.size else None
            if self.orders == 2:
                both = sel & np.isfinite(self.overall_by_order).all(axis=1)
                gap = np.abs(self.overall_by_order[both, 0] - self.overall_by_order[both, 1])
                r["order_pairs"] = int(both.sum())
                r["mean_abs_order_gap"] = float(gap.mean()) if gap.size else None
                r["order_agreement"] = float((gap == 0).mean()) if gap.size else None
            nsel = (self.model_a == a) & (self.model_b == b) & (self.kind == "null") & (self.status == "ok")
            if nsel.any():
                r["null_overall"] = float(self.overall[nsel].mean())
            out.append(r)
        return out

    def problems(self) -> dict[str, int]:
        """How often each reason for an unparsed or failed item occurred."""
        out: dict[str, int] = {}
        for s, p in zip(self.status.tolist(), self.problem.tolist()):
            if s != "ok":
                detail = re.sub(r"\[[^\]]*\]", "[...]", re.sub(r"\([^)]*\)", "(...)", str(p)))
                key = f"{s}: {detail[:80]}"
                out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def to_dict(self, *, items: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "judge": self.judge, "signature": self.signature, "prompt_version": JUDGE_PROMPT_VERSION,
            "orders": self.orders, "n_items": len(self),
            "requests": {"sent": self.requested, "already_in_store": self.already_done,
                         "failed": self.failed_requests},
            "status": {s: int((self.status == s).sum()) for s in STATUSES},
            "problems": self.problems(), "pairs": self.summary(),
        }
        if items:
            d["items"] = self.rows(kind=None)
        return d


def _collect(items: Sequence[JudgeItem], records: Mapping[tuple[str, int], Mapping[str, Any]], orders: int,
             judge: str, index: tuple[str, ...], cfg: JudgeConfig, rep: Any) -> JudgeResult:
    n = len(items)
    cols = {f: np.full(n, np.nan) for f in SCORE_FIELDS}
    by_order = np.full((n, 2), np.nan)
    status = np.empty(n, dtype=object)
    problem = np.empty(n, dtype=object)
    reason = np.empty(n, dtype=object)
    for i, it in enumerate(items):
        parsed: list[ParsedJudgement] = []
        for k in range(orders):
            rec = records.get((it.custom_id(k), 0))
            if rec is None:
                parsed.append(ParsedJudgement("failed", problem="no record in the store"))
            elif rec.get("error") is not None or rec.get("response") is None:
                kind = rec.get("error_kind") or "error"
                parsed.append(ParsedJudgement("failed", problem=f"{kind}: {rec.get('error')}"))
            else:
                parsed.append(parse_pair_answer(rec["response"]))
            if parsed[-1].status == "ok":
                by_order[i, k] = parsed[-1].overall
        ok = [p for p in parsed if p.status == "ok"]
        if ok:
            status[i] = "ok"
            for f in SCORE_FIELDS:
                v = np.array([getattr(p, f) for p in ok])
                v = v[np.isfinite(v)]
                cols[f][i] = v.mean() if v.size else np.nan
            bad = [p.problem for p in parsed if p.status != "ok"]
            problem[i] = f"one order not usable: {bad[0]}" if bad else None
            reason[i] = " | ".join(p.reason for p in ok if p.reason) or None
        else:
            # unparsed beats failed: the judge answered, its answer is the finding
            worst = next((p for p in parsed if p.status == "unparsed"), parsed[0])
            status[i], problem[i], reason[i] = worst.status, worst.problem, worst.reason
    obj = lambda xs: np.array(list(xs), dtype=object)
    res = JudgeResult(
        judge=judge,
        model_a=obj(it.model_a for it in items), model_b=obj(it.model_b for it in items),
        prompt_id=obj(it.prompt_id for it in items), kind=obj(it.kind for it in items),
        prompt_b=obj(it.prompt_b for it in items), first=obj(it.shown(0)[0] for it in items),
        overall=cols["overall"], style=cols["style"], structure=cols["structure"], content=cols["content"],
        overall_by_order=by_order, status=status, problem=problem, reason=reason,
        prompt_index=index, config=cfg, signature=cfg.signature(judge), orders=orders,
        requested=int(getattr(rep, "requested", 0)), already_done=int(getattr(rep, "already_done", 0)),
        failed_requests=int(getattr(rep, "failed", 0)),
    )
    res._lookup.update({(it.model_a, it.model_b, it.prompt_id, it.kind): i for i, it in enumerate(items)})
    return res


def judge_pairs(
    table: "ResponseTable",
    judge_model: "ModelConfig",
    store: str | Path,
    pairs: str | Sequence[Any] | None = None,
    config: JudgeConfig | None = None,
    *,
    progress: str = "none",
    retry_failed: bool = False,
    on_params_change: str = "rerun",
) -> JudgeResult:
    """Judge model pairs on their shared prompts through the gatherer.

    ``table``: the responses (:func:`distillscope.store.load_table`).
    ``judge_model``: a :class:`~distillscope.gather.ModelConfig` of the judge
    endpoint (its rate limits, concurrency and retries apply). ``store``:
    the judge's append-only JSONL store (cache and resume). ``pairs``:
    ``"A:B,C:D"``, ``[(A, B), ...]`` or None for every pair of the table's
    models. ``retry_failed`` re-asks items whose recorded request failed.
    ``on_params_change`` is the gatherer's policy for recorded items whose
    request text changed (``"rerun"``: ask again, newest wins).
    """
    from ..gather.config import ModelConfig
    from ..gather.run import run_requests

    if not isinstance(judge_model, ModelConfig):
        raise TypeError(f"judge_model must be a distillscope.gather.ModelConfig, got {type(judge_model).__name__}")
    cfg = config or JudgeConfig()
    if not isinstance(cfg, JudgeConfig):
        raise TypeError(f"config must be a JudgeConfig, got {type(cfg).__name__}")
    pair_list = parse_pairs(pairs, [str(m) for m in table.models])
    items, index = build_items(table, pair_list, cfg)
    orders = 2 if cfg.both_orders else 1
    specs = [it.request(k, cfg) for it in items for k in range(orders)]
    res = run_requests(judge_model, specs, store, progress=progress, retry_failed=retry_failed,
                       on_params_change=on_params_change, seed=cfg.seed)
    return _collect(items, res.records, orders, judge_model.name, index, cfg, res.report)


# --------------------------------------------------------------------------- calibration export
def to_score_table(
    result: JudgeResult,
    models: Sequence[str] | None = None,
    *,
    granularity: str = "judge",
    aspects: bool = False,
) -> "ScoreTable":
    """Judge scores as a :class:`~distillscope.calibrate.ScoreTable`.

    One array per judged pair over ``result.prompt_index`` (NaN where the
    pair was not judged or the item is not ``ok``), scaled to [0, 1] as
    ``(score - 1) / 4``; the judge is symmetric by design (randomised
    order), so ``(b, a)`` mirrors ``(a, b)``. Null items become the table's
    shuffled-prompt null arrays (same derangement as the judge-free
    scores). ``aspects=True`` adds ``<granularity>_style``, ``_structure``
    and ``_content`` granularities.
    """
    from ..analysis.table import ScoreTable

    if not isinstance(result, JudgeResult):
        raise TypeError(f"result must be a JudgeResult, got {type(result).__name__}")
    names = list(dict.fromkeys([*result.model_a.tolist(), *result.model_b.tolist()]))
    if models is not None:
        extra = [m for m in names if m not in models]
        if extra:
            raise ValueError(f"models must include every judged model; missing {extra}")
        names = list(models)
    pos = {p: i for i, p in enumerate(result.prompt_index)}
    P = len(pos)
    fields = {granularity: "overall"}
    if aspects:
        fields.update({f"{granularity}_{a}": a for a in ASPECTS})
    scores: dict[str, dict[tuple[str, str], np.ndarray]] = {g: {} for g in fields}
    null: dict[str, dict[tuple[str, str], np.ndarray]] = {g: {} for g in fields}
    for i in range(len(result)):
        a, b = result.model_a[i], result.model_b[i]
        target = scores if result.kind[i] == "raw" else null
        for g, f in fields.items():
            arr = target[g].setdefault((a, b), np.full(P, np.nan))
            v = getattr(result, f)[i]
            if result.status[i] == "ok" and np.isfinite(v):
                arr[pos[result.prompt_id[i]]] = (v - 1.0) / 4.0
    scores = {g: d for g, d in scores.items() if d and any(np.isfinite(v).any() for v in d.values())}
    if not scores:
        raise ValueError("no judged item parsed; nothing to export (see result.problems())")
    null = {g: d for g, d in null.items() if g in scores and d}
    sigs = {g: f"{result.signature}|field={f}|scale=(s-1)/4" for g, f in fields.items() if g in scores}
    if null:
        sigs["null"] = f"shuffled-prompt derangement seed={result.config.null_seed}"
    return ScoreTable(models=tuple(names), scores=scores, null=null, prompt_ids=result.prompt_index,
                      signatures=sigs, mirror=True)


# --------------------------------------------------------------------------- agreement
def _combined_series(table: "ScoreTable") -> np.ndarray | None:
    from ..analysis.degree import DEFAULT_WEIGHTS

    grans = [g for g in DEFAULT_WEIGHTS if g in table.scores]
    if not grans:
        return None
    num = den = None
    for g in grans:
        t = np.asarray(table.tensor(g))
        w = float(DEFAULT_WEIGHTS[g])
        ok = np.isfinite(t)
        contrib = np.where(ok, t, 0.0) * w
        weight = ok * w
        num = contrib if num is None else num + contrib
        den = weight if den is None else den + weight
    assert num is not None and den is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def agreement_report(
    result: JudgeResult,
    scores: "ScoreTable",
    *,
    granularities: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """How the judge's overall score agrees with the judge-free scores.

    For each granularity present in ``scores`` (default: lexical, semantic,
    structural, style and their weighted ``combined`` mean, with the
    calibration's default weights renormalised per prompt) the judged items
    (raw, ``ok``) are matched to the judge-free per-prompt score of the
    same pair and :func:`distillscope.calibrate.judge_agreement` gives
    Spearman's rho with a bootstrap interval and the judge-free mean per
    judge score bucket. ``aspects`` compares each judge aspect with its
    judge-free counterpart (style ↔ style, structure ↔ structural,
    content ↔ semantic, else lexical).
    """
    from ..analysis.agreement import judge_agreement
    from ..analysis.table import ScoreTable

    if not isinstance(result, JudgeResult):
        raise TypeError(f"result must be a JudgeResult, got {type(result).__name__}")
    if not isinstance(scores, ScoreTable):
        raise TypeError(f"scores must be a ScoreTable (distillscope.similarity.response_similarity), got "
                        f"{type(scores).__name__}")
    if scores.prompt_ids is None:
        raise ValueError("scores has no prompt_ids; build it with response_similarity() so items can be matched")
    ppos = {p: i for i, p in enumerate(scores.prompt_ids)}
    mpos = {m: i for i, m in enumerate(scores.models)}
    sel = [i for i in range(len(result)) if result.kind[i] == "raw" and result.status[i] == "ok"
           and result.model_a[i] in mpos and result.model_b[i] in mpos and result.prompt_id[i] in ppos]
    ia = np.array([mpos[result.model_a[i]] for i in sel], dtype=np.int64)
    ib = np.array([mpos[result.model_b[i]] for i in sel], dtype=np.int64)
    ip = np.array([ppos[result.prompt_id[i]] for i in sel], dtype=np.int64)
    rows = np.array(sel, dtype=np.int64)

    def free(g: str) -> np.ndarray | None:
        if g == "combined":
            t = _combined_series(scores)
        elif g in scores.scores:
            t = np.asarray(scores.tensor(g))
        else:
            return None
        if t is None:
            return None
        # the judge is symmetric; a judge-free metric need not be: average both directions
        x, y = t[ia, ib, ip], t[ib, ia, ip]
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(x) & np.isfinite(y), 0.5 * (x + y), np.where(np.isfinite(x), x, y))

    wanted = list(AGREEMENT_GRANULARITIES if granularities is None else granularities)
    out: dict[str, Any] = {"judge": result.judge, "signature": result.signature, "n_items": len(sel),
                           "n_boot": n_boot, "seed": seed, "granularities": {}, "aspects": {}}
    judge_overall = result.overall[rows] if len(rows) else np.zeros(0)
    for g in wanted:
        f = free(g)
        if f is None:
            continue
        out["granularities"][g] = judge_agreement(judge_overall, f, n_boot=n_boot, seed=seed, confidence=confidence)
        out["granularities"][g]["signature"] = scores.signatures.get(g, "combined(lexical,semantic,structural,style)")
    for aspect, peers in ASPECT_PEERS.items():
        peer = next((p for p in peers if p in scores.scores), None)
        if peer is None or not len(rows):
            continue
        f = free(peer)
        assert f is not None
        a = getattr(result, aspect)[rows]
        rep = judge_agreement(a, f, n_boot=n_boot, seed=seed, confidence=confidence)
        rep["judge_free"] = peer
        out["aspects"][aspect] = rep
    return out


def _fmt(x: Any, d: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{d}f}"


def render_agreement(report: Mapping[str, Any], fmt: str = "markdown") -> str:
    """The agreement report as ``json`` or a ``markdown`` section."""
    from .._io import clean_json

    if fmt == "json":
        return json.dumps(clean_json(report), indent=2, ensure_ascii=False, allow_nan=False)
    if fmt != "markdown":
        raise ValueError(f"format must be 'json' or 'markdown', got {fmt!r}")
    lines = [f"### Judge vs judge-free agreement ({report['judge']}, {report['n_items']} judged items)", "",
             "| judge-free | n | Spearman | CI low | CI high | mean @1 | mean @2 | mean @3 | mean @4 | mean @5 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, rep in [*report["granularities"].items(),
                      *((f"judge {a} ~ {r['judge_free']}", r) for a, r in report["aspects"].items())]:
        b = {x["judge"]: x for x in rep["buckets"]}
        means = [(_fmt(b[k]["mean"]) + f" (n={b[k]['n']})") if b[k]["n"] else "" for k in range(1, 6)]
        lines.append(f"| {name} | {rep['n']} | {_fmt(rep['spearman'])} | {_fmt(rep['ci_low'])} | "
                     f"{_fmt(rep['ci_high'])} | " + " | ".join(means) + " |")
    lines += ["", ("Spearman's rho between the judge's overall (or aspect) score and the judge-free similarity "
                   "of the same pair on the same prompt, with a percentile bootstrap interval over items; "
                   "'mean @k' is the mean judge-free score of the items the judge scored k (rounded)."), ""]
    return "\n".join(lines)


def render_summary(result: JudgeResult, fmt: str = "markdown", *, items: bool = False) -> str:
    """Per-pair summary (or, with ``items``, every item) as json, csv or markdown."""
    from .._io import clean_json
    from ..analysis.tables import render_table

    if fmt == "json":
        return json.dumps(clean_json(result.to_dict(items=items)), indent=2, ensure_ascii=False, allow_nan=False)
    if items:
        return render_table(result.rows(kind=None), fmt)
    body = render_table(result.summary(), fmt)
    if fmt == "csv":
        return body
    st = {s: int((result.status == s).sum()) for s in STATUSES}
    head = (f"### LLM judge: {result.judge}\n\n{len(result)} items ({st['ok']} ok, {st['unparsed']} unparsed, "
            f"{st['failed']} failed); {result.requested} requests sent, {result.already_done} already in the store. "
            f"Scores 1-5.\n\n")
    probs = result.problems()
    tail = "" if not probs else "\nNot scored:\n\n" + "\n".join(f"- {k}: {v}" for k, v in probs.items()) + "\n"
    return head + body + tail + f"\nsignature: `{result.signature}`\n"


# --------------------------------------------------------------------------- identity-judge wiring
def gatherer_complete(
    model: "ModelConfig",
    store: str | Path,
    *,
    progress: str = "none",
    retry_failed: bool = False,
    seed: int | None = None,
) -> Callable[[list[dict[str, Any]]], list[str | None]]:
    """A ``complete(specs) -> texts`` callable backed by the gatherer.

    Each spec is an OpenAI-style dict (``model``, ``messages`` and sampling
    keys such as ``temperature`` / ``max_tokens``), as
    :class:`~distillscope.identity_judge.IdentityJudge` builds them. They are
    sent with :func:`~distillscope.gather.run_requests` under ``model``'s
    rate limits and retries into ``store``; the custom id is a hash of the
    whole spec, so asking the same thing again is answered from the store
    without a request. A spec naming another API model than ``model.model``
    is sent to the same endpoint with that model name. Failed requests give
    None.
    """
    from ..gather.config import ModelConfig
    from ..gather.prompts import RequestSpec
    from ..gather.run import run_requests

    if not isinstance(model, ModelConfig):
        raise TypeError(f"model must be a distillscope.gather.ModelConfig, got {type(model).__name__}")
    store = Path(store)

    def complete(specs: list[dict[str, Any]]) -> list[str | None]:
        groups: dict[str, list[tuple[int, RequestSpec]]] = {}
        for i, s in enumerate(specs):
            if not isinstance(s, Mapping) or "messages" not in s:
                raise TypeError(f"spec {i} must be a dict with 'messages' (and optionally 'model' and sampling keys)")
            api_model = str(s.get("model") or model.model)
            params = {k: v for k, v in s.items() if k not in ("model", "messages")}
            cid = "cmpl-" + _hash(api_model, json.dumps(s["messages"], sort_keys=True, ensure_ascii=False),
                                  json.dumps(params, sort_keys=True, default=str))[:32]
            groups.setdefault(api_model, []).append((i, RequestSpec(cid, tuple(s["messages"]), params=params)))
        out: list[str | None] = [None] * len(specs)
        for api_model, entries in groups.items():
            cfg = model if api_model == model.model else replace(model, model=api_model)
            unique = list({sp.custom_id: sp for _, sp in entries}.values())
            res = run_requests(cfg, unique, store, progress=progress, retry_failed=retry_failed, seed=seed)
            for i, sp in entries:
                out[i] = res.response(sp.custom_id)
        return out

    return complete


# --------------------------------------------------------------------------- CLI
def _load_inputs(files: Sequence[str]) -> "ResponseTable":
    from ..store.store import latest_records
    from ..store.table import load_table

    recs: list[dict[str, Any]] = []
    for f in files:
        p = Path(f)
        if not p.is_file():
            raise FileNotFoundError(f"response store {p} not found")
        recs.extend(latest_records(p).values())
    if not recs:
        raise ValueError(f"no records in {list(files)}")
    return load_table(recs)


def configure_judge(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="response stores (JSONL records with model, prompt_id, sample, response)")
    p.add_argument("--judge-base-url", required=True, help="OpenAI-compatible base URL of the judge, e.g. https://api.openai.com/v1")
    p.add_argument("--judge-model", required=True, help="model name the judge API expects")
    p.add_argument("--judge-name", default=None, help="name recorded in the judge store; None: the --judge-model value")
    p.add_argument("--api-key-env", default=None, help="environment variable holding the judge's API key; None: send no key")
    p.add_argument("--pairs", default=None, help="A:B,C:D,...; None: every pair of models in FILES")
    p.add_argument("--max-prompts", type=int, default=None, help="judge at most N prompts per pair (seeded subset); None: all shared prompts")
    p.add_argument("--store", default="judge.jsonl", help="append-only judge store (cache; re-runs ask nothing twice)")
    p.add_argument("--format", choices=("json", "csv", "markdown"), default="markdown", help="output format")
    p.add_argument("--items", action="store_true", help="print every judged item instead of the per-pair summary")
    p.add_argument("--seed", type=int, default=0, help="seed of the answer order (and prompt subset)")
    p.add_argument("--both-orders", action="store_true", help="judge each item in both orders and average")
    p.add_argument("--null", action="store_true", help="also judge shuffled-prompt pairs (calibration chance level)")
    p.add_argument("--sample", type=int, default=0, help="which sample of each model's answers to judge")
    p.add_argument("--max-tokens", type=int, default=300, help="judge answer budget")
    p.add_argument("--concurrency", type=int, default=8, help="judge requests in flight")
    p.add_argument("--rpm", type=float, default=None, help="judge requests per minute; None: no limit")
    p.add_argument("--retry-failed", action="store_true", help="re-ask items whose recorded request failed")
    p.add_argument("--agreement", action="store_true", help="also compute judge-free scores and report agreement")
    p.add_argument("--encoder", default="none",
                   help="for --agreement: 'none' (lexical + style), 'auto', a model name or directory")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of the agreement intervals")
    p.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto")


def run_judge(args: argparse.Namespace) -> int:
    from ..gather.config import ModelConfig

    table = _load_inputs(args.files)
    judge_model = ModelConfig(
        name=args.judge_name or args.judge_model, base_url=args.judge_base_url, model=args.judge_model,
        api_key_env=args.api_key_env, concurrency=args.concurrency, requests_per_minute=args.rpm,
    )
    cfg = JudgeConfig(seed=args.seed, both_orders=args.both_orders, null=args.null, max_prompts=args.max_prompts,
                      sample=args.sample, max_tokens=args.max_tokens)
    res = judge_pairs(table, judge_model, args.store, args.pairs, cfg, progress=args.progress,
                      retry_failed=args.retry_failed)
    judged = set(res.pairs)
    for a, b in parse_pairs(args.pairs, [str(m) for m in table.models]):
        if (a, b) not in judged:
            print(f"note: {a}:{b} share no prompt with a successful answer (sample {args.sample}); not judged",
                  file=sys.stderr)
    agreement = None
    if args.agreement:
        from ..analysis.similarity import RSEConfig, available_granularities, resolve_encoder, response_similarity

        encoder = resolve_encoder(args.encoder)
        names = list(dict.fromkeys([*res.model_a.tolist(), *res.model_b.tolist()]))
        free = response_similarity(table, names, encoder=encoder,
                                   config=RSEConfig(granularities=available_granularities(encoder)))
        agreement = agreement_report(res, free, n_boot=args.bootstrap, seed=args.seed)
    if args.format == "json":
        from .._io import clean_json

        d = res.to_dict(items=args.items)
        if agreement is not None:
            d["agreement"] = agreement
        print(json.dumps(clean_json(d), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(render_summary(res, args.format, items=args.items), end="")
        if agreement is not None and args.format == "markdown":
            print()
            print(render_agreement(agreement, "markdown"))
        elif agreement is not None:  # csv: one table only on stdout; agreement to stderr
            print(render_agreement(agreement, "markdown"), file=sys.stderr)
    n_ok = int((res.status == "ok").sum())
    return 0 if n_ok > 0 else 1


__all__ = [
    "JUDGE_PROMPT_VERSION",
    "JudgeConfig",
    "JudgeItem",
    "JudgeResult",
    "ParsedJudgement",
    "agreement_report",
    "build_items",
    "gatherer_complete",
    "judge_messages",
    "judge_pairs",
    "parse_pair_answer",
    "parse_pairs",
    "render_agreement",
    "render_summary",
    "show_b_first",
    "to_score_table",
]
