"""Checking response files: classify records (JSONL lines) against a target and compute rates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from .claims import EXTRACTOR_VERSION, ClaimExtractor, Verdict
from .rates import detect_language, identity_rates
from .registry import Registry, Target


def prompt_text(rec: Mapping[str, Any]) -> str:
    """The user-side text of a record: its ``prompt``, or its non-assistant ``messages`` joined."""
    p = rec.get("prompt")
    if isinstance(p, str):
        return p
    msgs = rec.get("messages")
    if isinstance(msgs, list):
        return "\n".join(str(m.get("content", "")) for m in msgs if isinstance(m, Mapping) and m.get("role") != "assistant")
    return ""


def check_records(
    records: Iterable[Mapping[str, Any]],
    target: str | Target | None,
    *,
    registry: Registry | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Classify records (``prompt``/``messages``, ``response``; optional
    ``category``, ``language``, ``hard``, ``stem``, ``model``) and compute rates.

    With ``target=None`` each record's ``model`` field is resolved as its
    own target. Returns the same structure ``distillscope identity check
    --format json`` prints.
    """
    reg = Registry.default() if registry is None else registry
    ext = ClaimExtractor(reg)
    fixed = reg.target(target) if isinstance(target, str) else target
    targets: dict[str, Target] = {}
    out_verdicts: list[dict[str, Any]] = []
    verdicts: list[Verdict] = []
    meta: list[tuple[bool, str | None, str, str | None]] = []
    for i, rec in enumerate(records):
        resp = _response(i, rec)
        prompt = prompt_text(rec)
        t = fixed if fixed is not None else _record_target(i, rec, reg, targets)
        stem = rec.get("stem") if isinstance(rec.get("stem"), str) else None
        v = ext.classify(resp, t, prompt, stem=stem)
        hard = _hard_flag(i, rec, prompt, reg)
        lang = rec.get("language") or detect_language(prompt or resp)
        cat = rec.get("category")
        verdicts.append(v)
        meta.append((hard, cat, lang, rec.get("model", rec.get("target")) if fixed is None else None))
        d: dict[str, Any] = {"index": i}
        if "id" in rec or "prompt_id" in rec:
            d["id"] = rec.get("id", rec.get("prompt_id"))
        if fixed is None:
            d["model"] = rec.get("model", rec.get("target"))
        d.update(v.to_dict())
        d.update(category=cat, language=lang, hard=hard)
        out_verdicts.append(d)
    result: dict[str, Any] = {
        "target": None if fixed is None else {"name": fixed.name, "family": fixed.family, "vendor": fixed.vendor, "country": fixed.country},
        "signature": f"{EXTRACTOR_VERSION}|{reg.signature()}|wilson:{confidence}",
        "verdicts": out_verdicts,
        "rates": _rates_over(verdicts, meta, range(len(meta)), confidence),
    }
    if fixed is None:
        result["by_model"] = {
            model: _rates_over(verdicts, meta, [i for i, m in enumerate(meta) if m[3] == model], confidence) for model in targets
        }
    return result


def _response(i: int, rec: Any) -> str:
    """Record ``i``'s response text, or an error saying what is wrong with the record."""
    if not isinstance(rec, Mapping):
        raise TypeError(f"record {i} is a {type(rec).__name__}; each line must be a JSON object")
    resp = rec.get("response")
    if resp is None:
        raise ValueError(f"record {i} has no 'response' text; drop failed requests or fill the field")
    if not isinstance(resp, str):
        raise TypeError(f"record {i}: 'response' must be a string, got {type(resp).__name__}")
    return resp


def _record_target(i: int, rec: Mapping[str, Any], reg: Registry, targets: dict[str, Target]) -> Target:
    """The target named by the record's ``model`` (or ``target``) field, resolved once per name."""
    model = rec.get("model", rec.get("target"))
    if not isinstance(model, str):
        raise ValueError(f"record {i} has no 'model' (or 'target') field; pass --target NAME")
    if model not in targets:
        targets[model] = reg.target(model)
    return targets[model]


def _hard_flag(i: int, rec: Mapping[str, Any], prompt: str, reg: Registry) -> bool:
    """The record's ``hard`` flag; by default, whether its prompt names no registered model or vendor."""
    hard = rec.get("hard")
    if hard is None:
        return bool(prompt) and not reg.mentions_any(prompt)
    if not isinstance(hard, bool):
        raise TypeError(f"record {i}: 'hard' must be true/false, got {hard!r}")
    return hard


def _rates_over(
    verdicts: list[Verdict], meta: list[tuple[bool, str | None, str, str | None]], idx: Iterable[int], confidence: float
) -> dict[str, Any]:
    """:func:`identity_rates` (as a dict) over the records ``idx``."""
    sel = list(idx)
    return identity_rates(
        [verdicts[i] for i in sel],
        hard=[meta[i][0] for i in sel],
        categories=[meta[i][1] for i in sel],
        languages=[meta[i][2] for i in sel],
        confidence=confidence,
    ).to_dict()


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"input file {str(p)!r} does not exist")
    out = []
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    for ln, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}:{ln} is not valid JSON ({exc.msg}); expected one JSON object per line") from exc
    return out
