"""Prompts and request specs: prompt files, the body sent, and the request hash.

A :class:`RequestSpec` is one request (id, messages, sample, per-request
params); :func:`params_hash` hashes everything that determines the answer,
so a resumed run knows which stored records still match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import parse_json, read_rows
from .config import ModelConfig, PromptSource


@dataclass(frozen=True)
class RequestSpec:
    """One request: a caller-chosen id, chat messages, a sample index and
    optional per-request sampling params (merged over the model's)."""

    custom_id: str
    messages: tuple[Mapping[str, Any], ...]
    sample: int = 0
    params: Mapping[str, Any] | None = None
    meta: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        msgs = self.messages
        if isinstance(msgs, str):
            msgs = ({"role": "user", "content": msgs},)
        msgs = tuple(msgs)
        if not msgs:
            raise ValueError(f"request {self.custom_id!r}: messages is empty")
        for m in msgs:
            if not isinstance(m, Mapping) or "role" not in m or "content" not in m:
                raise ValueError(f"request {self.custom_id!r}: each message needs role and content, got {m!r:.80}")
        object.__setattr__(self, "messages", msgs)
        object.__setattr__(self, "custom_id", str(self.custom_id))
        if not isinstance(self.sample, int) or self.sample < 0:
            raise ValueError(f"request {self.custom_id!r}: sample must be an int >= 0")


@dataclass(frozen=True)
class Prompt:
    id: str
    messages: tuple[Mapping[str, Any], ...]


def load_prompts(src: PromptSource, *, fields_fix: str | None = None) -> list[Prompt]:
    """Read one prompt file into :class:`Prompt` objects (ids unique).

    ``fields_fix`` is what the error of a row without an id or a text says
    to do; by default, the keys of a gather config's ``[[prompts]]`` table
    that name the fields (a file read from elsewhere has no such table)."""
    path = Path(src.file)
    rows = read_rows(path)
    out: list[Prompt] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if src.limit is not None and len(out) >= src.limit:
            break
        if not isinstance(row, Mapping):
            raise ValueError(f"{path}: row {i} is not an object")
        if src.id_field not in row or row[src.id_field] in (None, ""):
            raise ValueError(
                f"{path}: row {i} has no {src.id_field!r}; {fields_fix or 'set id_field = ... in [[prompts]]'}"
            )
        pid = src.id_prefix + str(row[src.id_field])
        msgs_raw = row.get(src.messages_field)
        if msgs_raw not in (None, ""):
            msgs = (
                parse_json(msgs_raw, f"{path}: row {i} ({pid}) {src.messages_field}")
                if isinstance(msgs_raw, str)
                else msgs_raw
            )
            if not isinstance(msgs, list) or not msgs:
                raise ValueError(f"{path}: row {i} ({pid}): {src.messages_field!r} must be a non-empty list")
            if not all(isinstance(m, Mapping) and "role" in m and "content" in m for m in msgs):
                raise ValueError(
                    f"{path}: row {i} ({pid}): each of {src.messages_field!r} needs role and content "
                    '(e.g. {"role": "user", "content": "..."})'
                )
            messages = tuple(dict(m) for m in msgs)
        elif row.get(src.prompt_field) not in (None, ""):
            messages = ({"role": "user", "content": str(row[src.prompt_field])},)
        else:
            raise ValueError(
                f"{path}: row {i} ({pid}) has neither {src.prompt_field!r} nor {src.messages_field!r}; "
                f"{fields_fix or 'set prompt_field / messages_field in [[prompts]]'}"
            )
        if src.system and messages[0].get("role") != "system":
            messages = ({"role": "system", "content": src.system},) + messages
        if pid in seen:
            raise ValueError(f"{path}: duplicate prompt id {pid!r}; ids must be unique")
        seen.add(pid)
        out.append(Prompt(pid, messages))
    return out


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str | None:
    for m in reversed(messages):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return "\n".join(str(p.get("text", "")) for p in c if isinstance(p, Mapping))
    return None


def request_params(model: ModelConfig, spec: RequestSpec) -> dict[str, Any]:
    """The sampling parameters sent for ``spec`` (model's, then the spec's)."""
    params = dict(model.params)
    if spec.params:
        params.update(spec.params)
    if model.seed_per_sample and "seed" in params and params["seed"] is not None:
        params["seed"] = int(params["seed"]) + spec.sample
    return params


def request_body(model: ModelConfig, spec: RequestSpec) -> dict[str, Any]:
    return {"model": model.model, "messages": list(spec.messages), **request_params(model, spec)}


def params_hash(model: ModelConfig, spec: RequestSpec, params: Mapping[str, Any] | None = None) -> str:
    """Hash of everything that determines the answer (not the URL or key),
    so moving an endpoint keeps its records but changing a prompt or a
    sampling parameter does not."""
    payload = {
        "model": model.model,
        "messages": list(spec.messages),
        "params": request_params(model, spec) if params is None else dict(params),
        "sample": spec.sample,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def specs_for_prompts(model: ModelConfig, prompts: Sequence[Prompt]) -> list[RequestSpec]:
    return [RequestSpec(p.id, p.messages, s) for p in prompts for s in range(model.samples)]


__all__ = [
    "Prompt",
    "RequestSpec",
    "last_user_text",
    "load_prompts",
    "params_hash",
    "request_body",
    "request_params",
    "specs_for_prompts",
]
