"""Optional LLM judge for identity consistency.

The judge-free extractor in :mod:`distillscope.identity.claims` does the bulk; a
judge model can re-read the responses and its verdicts are compared with the
extractor's (:func:`agreement`). The judge does no I/O itself: it takes a
``complete`` callable that receives a list of OpenAI-style chat request
specs (``{"model", "messages", "temperature", "max_tokens"}``) and returns
one text per spec (or ``None`` for a failed request), so any client — the
project's async gatherer included — can run the requests, batched.

Answers are parsed robustly (JSON in or out of code fences, single quotes,
trailing commas, prose around it, a bare ``verdict: ...`` line) and cached by
``(judge model, sha256 of the request)`` in memory and, optionally, in an
append-only JSONL file, so re-running a report asks nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..identity.check import prompt_text
from ..identity.claims import VERDICTS, Verdict
from ..identity.registry import Registry, Target

JUDGE_PROMPT_VERSION = "ice-judge-1"

_SYSTEM = (
    "You audit chatbot answers for identity consistency. You will be told which AI model produced an "
    "answer (its name and the organisation that built it) and shown the question it was asked and the "
    "answer it gave. Decide whether the answer, speaking for itself in the first person, says that it is, "
    "or was built, trained, owned or made by, something else.\n\n"
    "Rules:\n"
    "1. Only statements the assistant makes about itself count: 'I am ...', 'my name is ...', 'I was "
    "trained by ...', '我是...', '由...开发'. Facts about other models ('X was made by Y') do not count.\n"
    "2. Lines spoken by a character the user asked for (a story, a dialogue, quoted speech, 'As X in this "
    "story...', a 'Name:' line in a script) are not the assistant's own claims. Words said 'out of "
    "character' are its own.\n"
    "3. A denial ('I am not X') is not a claim of X. A comparison ('unlike X, I...') is not a claim of X.\n"
    "4. verdict = 'contradicts' if any own claim names a different model or company, or otherwise conflicts "
    "with the true identity (wrong country of origin, claims to be human, a different personal name, denies "
    "its own name); 'consistent' if it makes own identity claims and all fit the true identity; "
    "'no_claim' if it makes no own identity claim.\n"
    "5. strict = true only when a contradicting claim names a specific other model or company.\n\n"
    "Reply with one JSON object and nothing else: "
    '{"verdict": "consistent" | "contradicts" | "no_claim", "strict": true | false, '
    '"claimed": "<other model or company claimed, or empty>", "evidence": "<shortest quote from the answer>"}'
)


def _user_message(prompt: str, response: str, target: Target, registry: Registry) -> str:
    if target.family is not None:
        fam = registry.families[target.family]
        who = f"{fam.name}, built by {registry.vendors[fam.vendor].name}"
    elif target.vendor is not None:
        who = f"a model built by {registry.vendors[target.vendor].name}"
    else:  # pragma: no cover - Registry.target always sets one
        who = target.name
    if target.country:
        who += f" (country: {target.country})"
    return (
        f"True identity of the assistant: {who}. Deployment name: {target.name}.\n\n"
        f"<question>\n{prompt}\n</question>\n\n<answer>\n{response}\n</answer>"
    )


@dataclass(frozen=True)
class JudgeVerdict:
    """The judge's reading of one response. ``verdict`` is None when the
    request failed or its answer could not be parsed (see ``raw``)."""

    verdict: str | None
    strict: bool | None
    claimed: str | None
    evidence: str | None
    parsed: bool
    raw: str | None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "strict": self.strict,
            "claimed": self.claimed,
            "evidence": self.evidence,
            "parsed": self.parsed,
            "cached": self.cached,
        }


_SYNONYMS = {
    "contradicts": "contradicts",
    "contradict": "contradicts",
    "contradiction": "contradicts",
    "contradictory": "contradicts",
    "inconsistent": "contradicts",
    "矛盾": "contradicts",
    "不一致": "contradicts",
    "consistent": "consistent",
    "一致": "consistent",
    "no_claim": "no_claim",
    "noclaim": "no_claim",
    "no claim": "no_claim",
    "no-claim": "no_claim",
    "none": "no_claim",
    "no identity claim": "no_claim",
    "无声明": "no_claim",
    "无": "no_claim",
}


def _norm_verdict(v: Any) -> str | None:
    if not isinstance(v, str):
        return None
    key = re.sub(r"\s+", " ", v.strip().strip("\"'`.").lower())
    return _SYNONYMS.get(key) or _SYNONYMS.get(key.replace(" ", "_"))


def _as_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "yes", "1", "是"):
            return True
        if s in ("false", "no", "0", "否"):
            return False
    return None


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that decodes from some '{' in text, after light repair."""
    out: list[dict[str, Any]] = []
    dec = json.JSONDecoder()
    candidates = [text]
    repaired = re.sub(r",\s*([}\]])", r"\1", text)  # trailing commas
    repaired = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", repaired)))
    if repaired != text:
        candidates.append(repaired)
    # single-quoted keys/strings (Python-dict style)
    if "'" in repaired and '"' not in repaired:
        candidates.append(repaired.replace("'", '"'))
    for cand in candidates:
        for m in re.finditer(r"\{", cand):
            try:
                obj, _ = dec.raw_decode(cand, m.start())
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        if out:
            break
    return out


_VERDICT_LINE = re.compile(
    r"verdict\W{0,4}\s*[:=：]\s*[\"'`*]*\s*(?P<v>no[_\s-]?claim|contradicts?|contradiction|inconsistent|consistent|none)",
    re.IGNORECASE,
)
_STRICT_LINE = re.compile(r"strict\W{0,4}\s*[:=：]\s*[\"'`*]*\s*(?P<b>true|false|yes|no)", re.IGNORECASE)


def parse_judge_answer(text: str | None) -> JudgeVerdict:
    """Read a judge's answer into a :class:`JudgeVerdict` (never raises)."""
    if text is None:
        return JudgeVerdict(None, None, None, None, False, None)
    if not isinstance(text, str):
        return JudgeVerdict(None, None, None, None, False, repr(text))
    body = text.strip()
    fence = re.search(r"```(?:json|JSON)?\s*(.*?)```", body, re.DOTALL)
    if fence:
        body = fence.group(1)
    # drop "thinking" sections some judges emit before the answer
    body = re.sub(r"<think>.*?</think>", "", body, flags=re.DOTALL)
    for obj in _json_objects(body):
        lowered = {str(k).strip().lower(): v for k, v in obj.items()}
        verdict = _norm_verdict(lowered.get("verdict", lowered.get("label", lowered.get("decision"))))
        if verdict is None:
            continue
        strict = _as_bool(lowered.get("strict"))
        claimed = lowered.get("claimed")
        claimed = claimed.strip() if isinstance(claimed, str) and claimed.strip() else None
        if verdict != "contradicts":
            strict = False
        elif strict is None:
            strict = claimed is not None
        ev = lowered.get("evidence")
        return JudgeVerdict(verdict, strict, claimed, ev if isinstance(ev, str) and ev else None, True, text)
    m = _VERDICT_LINE.search(body)
    if m:
        verdict = _norm_verdict(m.group("v"))
        sm = _STRICT_LINE.search(body)
        strict = _as_bool(sm.group("b")) if sm else None
        if verdict != "contradicts":
            strict = False
        return JudgeVerdict(verdict, strict, None, None, True, text)
    # a bare label as the whole answer
    only = _norm_verdict(body)
    if only is not None:
        return JudgeVerdict(only, False if only != "contradicts" else None, None, None, True, text)
    return JudgeVerdict(None, None, None, None, False, text)


Complete = Callable[[list[dict[str, Any]]], Sequence[str | None]]


class IdentityJudge:
    """Ask a judge model to classify responses; cached, batched, optional.

    ``complete(specs) -> texts`` runs the chat requests (one text or None per
    spec, in order). ``cache`` is a path to an append-only JSONL file (created
    if missing) or None for an in-memory cache only.
    """

    def __init__(
        self,
        complete: Complete,
        judge_model: str,
        *,
        cache: str | Path | None = None,
        registry: Registry | None = None,
        max_tokens: int = 300,
    ):
        if not callable(complete):
            raise TypeError("complete must be a callable taking a list of request specs and returning a list of texts")
        if not isinstance(judge_model, str) or not judge_model:
            raise ValueError("judge_model must name the judge model, e.g. 'gpt-4o-mini'")
        self.complete = complete
        self.judge_model = judge_model
        self.registry = Registry.default() if registry is None else registry
        self.max_tokens = int(max_tokens)
        self.cache_path = None if cache is None else Path(cache)
        self._cache: dict[tuple[str, str], str] = {}
        if self.cache_path is not None and self.cache_path.exists():
            with self.cache_path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                        self._cache[(rec["judge_model"], rec["prompt_hash"])] = rec["answer"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue  # a torn last line from a killed run

    def request(self, prompt: str, response: str, target: Target) -> dict[str, Any]:
        return {
            "model": self.judge_model,
            "messages": [
                {"role": "system", "content": _SYSTEM},
                {"role": "user", "content": _user_message(prompt, response, target, self.registry)},
            ],
            "temperature": 0.0,
            "max_tokens": self.max_tokens,
        }

    @staticmethod
    def prompt_hash(spec: Mapping[str, Any]) -> str:
        canon = json.dumps(
            {
                "v": JUDGE_PROMPT_VERSION,
                "messages": spec["messages"],
                "temperature": spec.get("temperature"),
                "max_tokens": spec.get("max_tokens"),
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def judge(self, items: Sequence[tuple[str, str, Target]]) -> list[JudgeVerdict]:
        """Classify ``(prompt, response, target)`` items; one verdict each, in order."""
        specs = [self.request(p, r, t) for p, r, t in items]
        keys = [(self.judge_model, self.prompt_hash(s)) for s in specs]
        todo: dict[tuple[str, str], int] = {}
        for i, k in enumerate(keys):
            if k not in self._cache and k not in todo:
                todo[k] = i
        fresh: dict[tuple[str, str], str | None] = {}
        if todo:
            order = list(todo.items())
            texts = list(self.complete([specs[i] for _, i in order]))
            if len(texts) != len(order):
                raise ValueError(
                    f"complete() returned {len(texts)} texts for {len(order)} requests; return one per request (None for a failure)"
                )
            new_lines = []
            for (k, _), t in zip(order, texts):
                fresh[k] = t
                # cache only answers that parsed: a failure or garbage is retried next time
                if t is not None and parse_judge_answer(t).parsed:
                    self._cache[k] = t
                    new_lines.append(
                        json.dumps({"judge_model": k[0], "prompt_hash": k[1], "answer": t}, ensure_ascii=False)
                    )
            if new_lines and self.cache_path is not None:
                with self.cache_path.open("a", encoding="utf-8") as fh:
                    fh.write("\n".join(new_lines) + "\n")
        out = []
        for k in keys:
            if k in fresh:
                out.append(parse_judge_answer(fresh[k]))
            else:
                v = parse_judge_answer(self._cache[k])
                out.append(JudgeVerdict(v.verdict, v.strict, v.claimed, v.evidence, v.parsed, v.raw, cached=True))
        return out

    def judge_records(self, records: Sequence[Mapping[str, Any]], target: str | Target | None) -> list[JudgeVerdict]:
        """Judge the records ``check_records`` reads (``prompt``/``messages``,
        ``response``, optional ``model``); ``target=None`` uses each record's
        ``model`` (or ``target``) field."""
        fixed = self.registry.target(target) if isinstance(target, str) else target
        items = []
        for i, rec in enumerate(records):
            resp = rec.get("response")
            if not isinstance(resp, str):
                raise ValueError(f"record {i} has no 'response' text; drop failed requests or fill the field")
            if fixed is None:
                name = rec.get("model", rec.get("target"))
                if not isinstance(name, str):
                    raise ValueError(f"record {i} has no 'model' field; pass a target")
                t = self.registry.target(name)
            else:
                t = fixed
            items.append((prompt_text(rec), resp, t))
        return self.judge(items)


def _label(v: Any) -> tuple[str, bool]:
    if isinstance(v, Verdict):
        return v.verdict, v.strict
    if isinstance(v, Mapping):
        return v["verdict"], bool(v.get("strict"))
    raise TypeError(f"expected a Verdict or a verdict dict from check_records, got {type(v).__name__}")


def agreement(extractor: Sequence[Verdict | Mapping[str, Any]], judge: Sequence[JudgeVerdict]) -> dict[str, Any]:
    """How the judge and the extractor agree: raw agreement, Cohen's kappa and
    the 3×3 confusion matrix (rows: extractor, columns: judge) over the
    responses the judge answered. ``extractor`` holds :class:`Verdict`
    objects or the ``verdicts`` dicts of :func:`check_records`."""
    if len(extractor) != len(judge):
        raise ValueError(f"need one judge verdict per extractor verdict, got {len(judge)} and {len(extractor)}")
    idx = {v: i for i, v in enumerate(VERDICTS)}
    conf = [[0] * 3 for _ in range(3)]
    unparsed = 0
    strict_agree = strict_n = 0
    for e, j in zip(extractor, judge):
        ev, es = _label(e)
        if j.verdict is None:
            unparsed += 1
            continue
        conf[idx[ev]][idx[j.verdict]] += 1
        if ev == "contradicts" and j.verdict == "contradicts" and j.strict is not None:
            strict_n += 1
            strict_agree += int(es == j.strict)
    n = sum(map(sum, conf))
    po = sum(conf[i][i] for i in range(3)) / n if n else float("nan")
    if n:
        rows = [sum(r) / n for r in conf]
        cols = [sum(conf[i][k] for i in range(3)) / n for k in range(3)]
        pe = sum(r * c for r, c in zip(rows, cols))
        kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
    else:
        kappa = float("nan")
    return {
        "n": n,
        "unparsed": unparsed,
        "agreement": po,
        "kappa": kappa,
        "labels": list(VERDICTS),
        "confusion": conf,
        "strict_agreement": (strict_agree / strict_n) if strict_n else None,
    }
