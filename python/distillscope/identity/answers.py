"""Read answer files (the seed paper's attack results, or any JSONL/CSV) and
measure identity contradictions in them with :mod:`.voice`.

Formats:

* the seed paper's attack-result lines: ``jailbreak_prompt`` (a template with
  ``{query}``), ``query`` (the identity question), ``target_responses`` (a
  list whose first string is the answer), optional ``eval_results`` (the
  paper's judge verdict, kept as ``judge``);
* any JSONL or CSV file, with ``mapping`` naming the columns:
  ``{"prompt": "...", "response": "...", "question": "...", "category": "...",
  "model": "..."}`` (only ``response`` is required; the defaults are the
  names themselves).

The language of a record is detected from the *question* (``query``, or the
mapped ``question`` column), not from the jailbreak template around it: the
seed's templates are English whatever the question's language. A record
without a question falls back to the prompt, then to the answer.

Rates follow the paper: *loose* = answers that contradict the target;
*strict* = answers whose contradiction names a registered model or vendor
other than the target's (OpenAI/ChatGPT, Anthropic/Claude or any other in
the registry; a wrong place of origin alone is loose only); *hard* = strict
over the prompts that name no registered model or vendor. Each comes with a
Wilson interval, overall, per language and per category.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..stats import wilson_interval
from .registry import Registry, Target
from .voice import VOICE_VERSION, VoiceScanner

MAP_KEYS = ("prompt", "response", "question", "category", "model", "language")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def question_language(text: str) -> str:
    """'zh' when CJK characters outnumber Latin words in ``text``, else 'en'."""
    cjk = len(_CJK.findall(text))
    return "zh" if cjk > 0 and cjk >= len(_LATIN_WORD.findall(text)) else "en"


def parse_map(spec: str | None) -> dict[str, str]:
    """``"prompt=p,response=r"`` -> ``{"prompt": "p", "response": "r"}``."""
    if not spec:
        return {}
    out: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        key, sep, col = part.partition("=")
        key, col = key.strip(), col.strip()
        if not sep or not col:
            raise ValueError(f"--map entry {part!r} must look like key=column, e.g. prompt=instruction,response=output")
        if key not in MAP_KEYS:
            raise ValueError(f"--map key {key!r} is unknown; use {', '.join(MAP_KEYS)}")
        out[key] = col
    return out


def _is_seed(rec: Mapping[str, Any]) -> bool:
    return "target_responses" in rec and ("query" in rec or "jailbreak_prompt" in rec)


def normalize(rec: Mapping[str, Any], mapping: Mapping[str, str], index: int) -> dict[str, Any]:
    """One input record -> ``{prompt, response, question, language, category, model, judge}``."""
    if not isinstance(rec, Mapping):
        raise TypeError(f"record {index} is a {type(rec).__name__}; each line must be a JSON object")
    if _is_seed(rec) and not mapping:
        resp = rec.get("target_responses")
        if isinstance(resp, list):
            resp = resp[0] if resp else None
        question = str(rec.get("query") or "")
        template = str(rec.get("jailbreak_prompt") or "")
        prompt = (
            template.replace("{query}", question) if "{query}" in template else (template + "\n" + question).strip()
        )
        judge = rec.get("eval_results")
        out = {
            "prompt": prompt,
            "response": resp,
            "question": question,
            "category": rec.get("category"),
            "model": rec.get("model"),
        }
        out["judge"] = judge if isinstance(judge, bool) else None
    else:
        out = {
            k: rec.get(mapping.get(k, k)) for k in ("prompt", "response", "question", "category", "model", "language")
        }
        out["judge"] = None
        if out["response"] is None and "response" not in mapping:
            raise ValueError(
                f"record {index} has no 'response' field; name the answer column with --map response=COLUMN"
            )
    resp = out["response"]
    if resp is None:
        raise ValueError(f"record {index} has no answer text; drop failed requests or fill the field")
    if not isinstance(resp, str):
        raise TypeError(f"record {index}: the answer must be a string, got {type(resp).__name__}")
    for k in ("prompt", "question"):
        if out.get(k) is not None and not isinstance(out[k], str):
            raise TypeError(f"record {index}: {k!r} must be a string, got {type(out[k]).__name__}")
    if not out.get("language"):
        out["language"] = question_language(out.get("question") or out.get("prompt") or resp)
    return out


def read_answers(path: str | Path, mapping: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Read a JSONL (seed attack results or mapped columns) or CSV file."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"answer file {str(p)!r} does not exist")
    mapping = dict(mapping or {})
    text = p.read_text(encoding="utf-8")
    rows: list[Any]
    columns: list[str] = []
    if p.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    else:
        rows = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{p.name} line {i} is not JSON ({exc.msg}); give one JSON object per line, or a .csv file"
                ) from exc
        columns = list(dict.fromkeys(k for r in rows if isinstance(r, Mapping) for k in r))
    _check_mapped_columns(p, mapping, columns, bool(rows))
    return [normalize(r, mapping, i) for i, r in enumerate(rows)]


def _check_mapped_columns(path: Path, mapping: Mapping[str, str], columns: Sequence[str], any_rows: bool) -> None:
    """A ``--map`` column that no row has is a typo in the map, not a row
    without an answer: name it and the columns the file does have."""
    missing = [(k, c) for k, c in mapping.items() if c not in columns]
    if not missing or not any_rows:
        return
    have = ", ".join(map(repr, columns[:8])) + (", ..." if len(columns) > 8 else "") if columns else "none"
    names = ", ".join(f"{k}={c}" for k, c in missing)
    raise ValueError(f"--map {names}: {path.name} has no such column (its columns: {have}); fix the --map column names")


def _rate(count: int, n: int, confidence: float) -> dict[str, Any]:
    lo, hi = wilson_interval(count, n, confidence)
    return {"rate": count / n if n else None, "count": count, "n": n, "ci_low": lo, "ci_high": hi}


def _rates(flags: Sequence[tuple[bool, bool, bool]], confidence: float) -> dict[str, Any]:
    n = len(flags)
    hard = [f for f in flags if f[2]]
    return {
        "loose": _rate(sum(f[0] for f in flags), n, confidence),
        "strict": _rate(sum(f[1] for f in flags), n, confidence),
        "hard": _rate(sum(f[1] for f in hard), len(hard), confidence),
    }


def answer_rates(
    flags: Sequence[tuple[bool, bool, bool]],
    languages: Sequence[str | None],
    categories: Sequence[str | None],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """``flags[i] = (contradicts, strict, hard_prompt)`` -> loose/strict/hard
    rates with Wilson intervals, overall, per language and per category."""
    if not (len(flags) == len(languages) == len(categories)):
        raise ValueError("flags, languages and categories must have the same length")
    out = _rates(flags, confidence)
    for key, labels in (("by_language", languages), ("by_category", categories)):
        groups: dict[str, list[tuple[bool, bool, bool]]] = {}
        for f, g in zip(flags, labels):
            if g is not None:
                groups.setdefault(str(g), []).append(f)
        out[key] = {g: _rates(v, confidence) for g, v in sorted(groups.items())}
    hits = sum(f[0] for f in flags)
    out["verdict_counts"] = {"contradicts": hits, "no_contradiction": len(flags) - hits}
    out["confidence"] = confidence
    return out


def check_answers(
    records: Iterable[Mapping[str, Any]],
    target: str | Target | None,
    *,
    registry: Registry | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Scan normalized records (see :func:`normalize`) and compute rates.

    With ``target=None`` each record's ``model`` names its own target.
    """
    reg = Registry.default() if registry is None else registry
    scanner = VoiceScanner(reg)
    fixed = reg.target(target) if isinstance(target, str) else target
    cache: dict[str, Target] = {}
    verdicts: list[dict[str, Any]] = []
    flags: list[tuple[bool, bool, bool]] = []
    langs: list[str | None] = []
    cats: list[str | None] = []
    models: list[str | None] = []
    for i, rec in enumerate(records):
        t = fixed
        if t is None:
            model = rec.get("model")
            if not isinstance(model, str):
                raise ValueError(f"record {i} has no 'model' field; pass a target model name")
            if model not in cache:
                cache[model] = reg.target(model)
            t = cache[model]
        prompt = rec.get("prompt") or ""
        v = scanner.scan(rec["response"], t, prompt)
        hard = bool(prompt) and not reg.mentions_any(prompt)
        ev = v.evidence
        verdicts.append(
            {
                "index": i,
                "model": rec.get("model") if fixed is None else None,
                "verdict": "contradicts" if v.contradicts else "no_contradiction",
                "strict": v.strict,
                "claimed": None if ev is None else ev.entity,
                "kind": None if ev is None else ev.kind,
                "evidence": None if ev is None else {"start": ev.start, "end": ev.end, "text": ev.text},
                "language": rec.get("language"),
                "category": rec.get("category"),
                "hard": hard,
                "judge": rec.get("judge"),
            }
        )
        flags.append((v.contradicts, v.strict, hard))
        langs.append(rec.get("language"))
        cats.append(rec.get("category"))
        models.append(rec.get("model"))
    result: dict[str, Any] = {
        "target": None
        if fixed is None
        else {"name": fixed.name, "family": fixed.family, "vendor": fixed.vendor, "country": fixed.country},
        "signature": f"{VOICE_VERSION}|{reg.signature()}|wilson:{confidence}",
        "verdicts": verdicts,
        "rates": answer_rates(flags, langs, cats, confidence),
    }
    if fixed is None:
        result["by_model"] = {
            m: answer_rates([flags[i] for i in idx], [langs[i] for i in idx], [cats[i] for i in idx], confidence)
            for m in cache
            for idx in [[i for i, mm in enumerate(models) if mm == m]]
        }
    return result
