"""Gather responses from OpenAI-compatible chat APIs: async, rate-limited,
fault-tolerant and resumable.

Entry points
------------
* ``distillscope gather CONFIG.toml`` -- the CLI (``--dry-run`` prints the plan).
* :func:`load_config` / :func:`plan` / :func:`gather` -- the same from Python.
* :func:`run_requests` -- send an arbitrary list of :class:`RequestSpec`
  (custom id, messages, sampling params) for one :class:`ModelConfig` into a
  store, with the same resume semantics (used e.g. by LLM judges).

How a run works
---------------
One ``aiohttp.ClientSession`` serves every model. Each model gets
``concurrency`` worker tasks, a request token bucket
(``requests_per_minute``) and a token bucket for ``tokens_per_minute``
(a request reserves its estimated prompt tokens + ``max_tokens`` before it is
sent, and the reservation is corrected with the reported usage afterwards).
A 429 pauses the whole model for its ``Retry-After``. Failed attempts are
classified: HTTP 408/409/425/429/5xx, timeouts, dropped connections,
malformed JSON and empty ``choices`` are retried with exponential backoff and
jitter (never sooner than ``Retry-After``); other 4xx are permanent. After
``max_retries`` retries the final error is recorded -- never a fake answer.

Every finished request is appended to the store (see :mod:`distillscope.store.store`)
the moment it completes, so a killed run loses at most the requests in
flight; a rerun skips every key already recorded with the same request hash,
so re-running a finished config sends no request at all.

API keys are read from the environment variable a model names
(``api_key_env``), held in an object whose ``repr`` is ``***``, sent only in
the ``Authorization`` header, and scrubbed from every error text before it
is stored, logged or reported.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import logging
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, TextIO

from .._io import read_rows
from ..store.store import ResponseStore, latest_records, make_record

log = logging.getLogger("distillscope.gather")

SAMPLE_HEADER = "X-Distillscope-Sample"

# Keys of a [[models]] table that are request parameters (sent in the body).
SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "seed",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "response_format",
    "reasoning_effort",
)
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
PARAMS_CHANGE_POLICIES = ("error", "rerun", "keep")
PROGRESS_MODES = ("auto", "bar", "log", "none")


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------
class _Secret:
    """Holds an API key; never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # refuse to pickle secrets into files
        raise TypeError("API keys are not picklable")


@dataclass(frozen=True)
class ModelConfig:
    """One model endpoint: where, how fast, with which sampling parameters.

    ``name`` is the name the store records (``model`` field); ``model`` is
    the name the API expects. ``api_key_env`` names the environment variable
    holding the key (None: send no ``Authorization`` header).
    """

    name: str
    base_url: str
    model: str
    api_key_env: str | None = None
    samples: int = 1
    concurrency: int = 16
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout_s: float = 120.0
    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 300.0
    burst_s: float = 1.0
    seed_per_sample: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("model config needs a non-empty name")
        if not str(self.base_url).startswith(("http://", "https://")):
            raise ValueError(f"model {self.name!r}: base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise ValueError(f"model {self.name!r}: set `model` (the name the API expects)")
        for k, lo in (("samples", 1), ("concurrency", 1), ("max_retries", 0)):
            v = getattr(self, k)
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ValueError(f"model {self.name!r}: {k} must be an integer >= {lo}, got {v!r}")
        for k in ("requests_per_minute", "tokens_per_minute"):
            v = getattr(self, k)
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"model {self.name!r}: {k} must be > 0 (or omitted for no limit), got {v!r}")
        for k in ("timeout_s", "backoff_base_s", "backoff_max_s", "retry_after_max_s", "burst_s"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"model {self.name!r}: {k} must be > 0, got {v!r}")
        for k in self.headers:
            if k.lower() == "authorization":
                raise ValueError(f"model {self.name!r}: do not put keys in headers; use api_key_env")
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "headers", dict(self.headers))

    @property
    def url(self) -> str:
        return str(self.base_url).rstrip("/") + "/chat/completions"

    def api_key(self) -> _Secret | None:
        """The key from the environment, or None if no variable is named."""
        if not self.api_key_env:
            return None
        val = os.environ.get(self.api_key_env)
        if not val:
            raise ValueError(
                f"model {self.name!r}: environment variable {self.api_key_env} is not set; "
                f"export {self.api_key_env}=... (the key never goes in the config file)"
            )
        return _Secret(val)


@dataclass(frozen=True)
class PromptSource:
    """A prompt file: JSONL / CSV / Parquet with an id and a prompt or messages."""

    file: str
    id_field: str = "id"
    prompt_field: str = "prompt"
    messages_field: str = "messages"
    system: str | None = None
    id_prefix: str = ""
    limit: int | None = None


@dataclass(frozen=True)
class GatherConfig:
    store: str
    prompts: tuple[PromptSource, ...]
    models: tuple[ModelConfig, ...]
    fsync: str = "interval"
    fsync_interval_s: float = 1.0
    retry_failed: bool = False
    on_params_change: str = "error"

    def __post_init__(self) -> None:
        if self.on_params_change not in PARAMS_CHANGE_POLICIES:
            raise ValueError(f"on_params_change must be one of {PARAMS_CHANGE_POLICIES}, got {self.on_params_change!r}")
        names = [m.name for m in self.models]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"model names must be unique; {dup} appear twice (rename one `name`)")


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    with open(path, "rb") as f:
        try:
            return tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: invalid TOML: {exc}") from None


_MODEL_KEYS = {f for f in ModelConfig.__dataclass_fields__} | {"timeout"}
_PROMPT_KEYS = set(PromptSource.__dataclass_fields__)
_RUN_KEYS = {"store", "fsync", "fsync_interval_s", "retry_failed", "on_params_change"}


def _model_from_table(tab: Mapping[str, Any], defaults: Mapping[str, Any]) -> ModelConfig:
    merged: dict[str, Any] = {**defaults, **tab}
    params = dict(defaults.get("params", {}))
    params.update(tab.get("params", {}))
    kw: dict[str, Any] = {}
    for k, v in merged.items():
        if k == "params":
            continue
        if k in SAMPLING_KEYS:
            params[k] = v
        elif k == "timeout":
            kw["timeout_s"] = float(v)
        elif k in _MODEL_KEYS:
            kw[k] = v
        else:
            raise ValueError(
                f"[[models]] {tab.get('name', '?')!r}: unknown key {k!r}; allowed: "
                f"{sorted(_MODEL_KEYS - {'params'})} and sampling keys {list(SAMPLING_KEYS)} (or a [models.params] table)"
            )
    kw["params"] = params
    missing = [k for k in ("name", "base_url", "model") if k not in kw]
    if missing:
        raise ValueError(f"[[models]] entry {dict(tab).get('name', '?')!r} lacks {missing}")
    return ModelConfig(**kw)


def config_from_dict(data: Mapping[str, Any], base_dir: str | os.PathLike[str] = ".") -> GatherConfig:
    """Build a :class:`GatherConfig` from parsed TOML (paths relative to base_dir)."""
    base = Path(base_dir)
    run = dict(data.get("run", {}))
    unknown = set(run) - _RUN_KEYS
    if unknown:
        raise ValueError(f"[run]: unknown keys {sorted(unknown)}; allowed: {sorted(_RUN_KEYS)}")
    if "store" not in run:
        raise ValueError('[run] needs store = "responses.jsonl"')
    prompts = []
    for tab in data.get("prompts", []):
        bad = set(tab) - _PROMPT_KEYS
        if bad:
            raise ValueError(f"[[prompts]]: unknown keys {sorted(bad)}; allowed: {sorted(_PROMPT_KEYS)}")
        if "file" not in tab:
            raise ValueError('[[prompts]] needs file = "prompts.jsonl"')
        prompts.append(PromptSource(**{**tab, "file": str(base / tab["file"])}))
    if not prompts:
        raise ValueError("config has no [[prompts]] table; add one with file = ...")
    defaults = dict(data.get("model_defaults", {}))
    models = [_model_from_table(t, defaults) for t in data.get("models", [])]
    if not models:
        raise ValueError("config has no [[models]] table; add one with name, base_url, model")
    extra = set(data) - {"run", "prompts", "models", "model_defaults"}
    if extra:
        raise ValueError(f"unknown top-level tables {sorted(extra)}; allowed: run, prompts, models, model_defaults")
    return GatherConfig(
        store=str(base / run.pop("store")),
        prompts=tuple(prompts),
        models=tuple(models),
        **run,
    )


def load_config(path: str | os.PathLike[str]) -> GatherConfig:
    """Read a gather TOML config. Relative file paths resolve against its folder."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file {p} not found")
    return config_from_dict(_load_toml(p), p.resolve().parent)


# --------------------------------------------------------------------------
# Prompts and request specs
# --------------------------------------------------------------------------
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
                raise ValueError(
                    f"request {self.custom_id!r}: each message needs role and content, got {m!r:.80}"
                )
        object.__setattr__(self, "messages", msgs)
        object.__setattr__(self, "custom_id", str(self.custom_id))
        if not isinstance(self.sample, int) or self.sample < 0:
            raise ValueError(f"request {self.custom_id!r}: sample must be an int >= 0")


@dataclass(frozen=True)
class Prompt:
    id: str
    messages: tuple[Mapping[str, Any], ...]


def load_prompts(src: PromptSource) -> list[Prompt]:
    """Read one prompt file into :class:`Prompt` objects (ids unique)."""
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
            raise ValueError(f"{path}: row {i} has no {src.id_field!r}; set id_field = ... in [[prompts]]")
        pid = src.id_prefix + str(row[src.id_field])
        msgs_raw = row.get(src.messages_field)
        if msgs_raw not in (None, ""):
            msgs = json.loads(msgs_raw) if isinstance(msgs_raw, str) else msgs_raw
            if not isinstance(msgs, list) or not msgs:
                raise ValueError(f"{path}: row {i} ({pid}): {src.messages_field!r} must be a non-empty list")
            messages = tuple(dict(m) for m in msgs)
        elif row.get(src.prompt_field) not in (None, ""):
            messages = ({"role": "user", "content": str(row[src.prompt_field])},)
        else:
            raise ValueError(
                f"{path}: row {i} ({pid}) has neither {src.prompt_field!r} nor {src.messages_field!r}; "
                "set prompt_field / messages_field in [[prompts]]"
            )
        if src.system and messages[0].get("role") != "system":
            messages = ({"role": "system", "content": src.system},) + messages
        if pid in seen:
            raise ValueError(f"{path}: duplicate prompt id {pid!r}; ids must be unique")
        seen.add(pid)
        out.append(Prompt(pid, messages))
    return out


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str | None:
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


# --------------------------------------------------------------------------
# Planning (resume)
# --------------------------------------------------------------------------
@dataclass
class ModelPlan:
    model: ModelConfig
    specs: list[RequestSpec]
    todo: list[RequestSpec]
    done: int
    changed: int
    failed_kept: int

    @property
    def planned(self) -> int:
        return len(self.specs)


@dataclass
class Plan:
    store: str
    models: list[ModelPlan]

    @property
    def planned(self) -> int:
        return sum(m.planned for m in self.models)

    @property
    def todo(self) -> int:
        return sum(len(m.todo) for m in self.models)

    def describe(self) -> str:
        lines = [f"store: {self.store}"]
        for mp in self.models:
            m = mp.model
            rate = f"{m.requests_per_minute:g} req/min" if m.requests_per_minute else "no req limit"
            tok = f", {m.tokens_per_minute:g} tok/min" if m.tokens_per_minute else ""
            lines.append(
                f"  {m.name:<20} {m.model} @ {m.base_url}  planned {mp.planned}  done {mp.done}  "
                f"to request {len(mp.todo)}  (x{m.samples} samples, concurrency {m.concurrency}, {rate}{tok})"
            )
            if mp.failed_kept:
                lines.append(f"    {mp.failed_kept} recorded failures kept (use --retry-failed to retry them)")
        lines.append(f"total: {self.planned} planned, {self.todo} requests to send")
        return "\n".join(lines)


def _plan_jobs(
    store: str,
    jobs: Sequence[tuple[ModelConfig, Sequence[RequestSpec]]],
    *,
    retry_failed: bool,
    on_params_change: str,
) -> Plan:
    latest = latest_records(store)
    out = []
    for model, specs in jobs:
        seen: set[tuple[str, int]] = set()
        todo, done, changed, failed_kept = [], 0, 0, 0
        for spec in specs:
            k = (spec.custom_id, spec.sample)
            if k in seen:
                raise ValueError(
                    f"model {model.name!r}: request {spec.custom_id!r} sample {spec.sample} is listed twice; "
                    "custom ids must be unique per sample"
                )
            seen.add(k)
            rec = latest.get((model.name, spec.custom_id, spec.sample))
            if rec is None:
                todo.append(spec)
                continue
            if rec.get("params_hash") != params_hash(model, spec):
                changed += 1
                if on_params_change == "rerun":
                    todo.append(spec)
                elif on_params_change == "keep":
                    done += 1
                continue
            if rec.get("error") is not None:
                if retry_failed:
                    todo.append(spec)
                    continue
                failed_kept += 1
            done += 1
        if changed and on_params_change == "error":
            raise ValueError(
                f"model {model.name!r}: {changed} records in {store} were made with other prompts or sampling "
                "parameters; set [run] on_params_change = \"rerun\" (re-ask, newest record wins) or \"keep\" "
                "(keep old answers), or use a new store"
            )
        out.append(ModelPlan(model, list(specs), todo, done, changed, failed_kept))
    return Plan(store, out)


def plan(config: GatherConfig, *, retry_failed: bool | None = None) -> Plan:
    """What a run of ``config`` would send, given what its store holds."""
    prompts: list[Prompt] = []
    ids: set[str] = set()
    for src in config.prompts:
        for p in load_prompts(src):
            if p.id in ids:
                raise ValueError(f"prompt id {p.id!r} appears in two prompt files; set id_prefix in one [[prompts]]")
            ids.add(p.id)
            prompts.append(p)
    jobs = [(m, specs_for_prompts(m, prompts)) for m in config.models]
    return _plan_jobs(
        config.store,
        jobs,
        retry_failed=config.retry_failed if retry_failed is None else retry_failed,
        on_params_change=config.on_params_change,
    )


# --------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------
class TokenBucket:
    """Async token bucket: ``rate`` units/second, at most ``capacity`` banked.

    Waiters are served in arrival order (they queue on a lock while the head
    sleeps), so no request starves. A request larger than the capacity
    waits for a full bucket and then drives it negative (debt), which later
    requests pay back -- the long-run rate still holds.
    """

    def __init__(self, rate_per_s: float, capacity: float) -> None:
        if rate_per_s <= 0 or capacity <= 0:
            raise ValueError(f"rate and capacity must be > 0, got {rate_per_s}, {capacity}")
        self.rate = float(rate_per_s)
        self.capacity = float(capacity)
        self._tokens = float(capacity)
        self._t = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._t) * self.rate)
        self._t = now

    async def acquire(self, n: float = 1.0) -> None:
        need = min(float(n), self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self._refill(now)
                if self._tokens >= need:
                    self._tokens -= float(n)
                    return
                await asyncio.sleep((need - self._tokens) / self.rate)

    def adjust(self, delta: float) -> None:
        """Return (``delta`` > 0) or charge (< 0) units after the fact."""
        self._refill(time.monotonic())
        self._tokens = min(self.capacity, self._tokens + delta)


class _Limiter:
    """A model's request and token buckets, plus a model-wide pause that a
    429's Retry-After sets (so no worker keeps hitting a limited endpoint)."""

    def __init__(self, model: ModelConfig) -> None:
        self.requests = None
        self.tokens = None
        if model.requests_per_minute:
            r = model.requests_per_minute / 60.0
            self.requests = TokenBucket(r, max(1.0, r * model.burst_s))
        if model.tokens_per_minute:
            r = model.tokens_per_minute / 60.0
            self.tokens = TokenBucket(r, max(1.0, r * model.burst_s))
        self._paused_until = 0.0

    async def acquire(self, est_tokens: int) -> None:
        while True:
            now = time.monotonic()
            if now >= self._paused_until:
                break
            await asyncio.sleep(self._paused_until - now)
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(est_tokens)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


def estimate_tokens(model: ModelConfig, spec: RequestSpec, params: Mapping[str, Any] | None = None) -> int:
    """Upper-ish estimate reserved before sending: ~4 chars per prompt token
    plus the completion budget (``max_tokens``, else 512)."""
    chars = sum(len(str(m.get("content", ""))) + 8 for m in spec.messages)
    if params is None:
        params = request_params(model, spec)
    budget = params.get("max_tokens") or params.get("max_completion_tokens") or 512
    return int(math.ceil(chars / 4)) + int(budget)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
@dataclass
class _Failure:
    kind: str
    message: str
    retryable: bool
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        s = float(value)
        return max(0.0, s) if math.isfinite(s) else None
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return max(0.0, dt.timestamp() - time.time())


def classify_status(status: int) -> bool:
    """True if an HTTP status is worth retrying."""
    return status in RETRYABLE_STATUS or status >= 500


def _parse_completion(raw: bytes) -> tuple[dict[str, Any] | None, _Failure | None]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return None, _Failure("malformed_json", f"response is not valid JSON ({exc}): {raw[:120]!r}", True)
    if not isinstance(data, dict):
        return None, _Failure("malformed_json", "response JSON is not an object", True)
    choices = data.get("choices")
    if not choices or not isinstance(choices, list):
        return None, _Failure("empty_choices", "response has no choices", True)
    ch = choices[0]
    msg = ch.get("message") if isinstance(ch, dict) else None
    if not isinstance(msg, dict):
        return None, _Failure("malformed_json", "choices[0] has no message object", True)
    content = msg.get("content")
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    finish = ch.get("finish_reason")
    if content is None:
        return None, _Failure("no_content", f"message has no content (finish_reason={finish!r})", False)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    if usage is not None:
        usage = {k: int(v) for k, v in usage.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"response": str(content), "finish_reason": finish, "usage": usage}, None


def _backoff(model: ModelConfig, attempt: int, rng: random.Random) -> float:
    """Equal-jitter exponential backoff: in [d/2, d], d = base * 2^(attempt-1)."""
    d = min(model.backoff_max_s, model.backoff_base_s * (2.0 ** (attempt - 1)))
    return d / 2 + rng.uniform(0, d / 2)


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------
def _fmt_s(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class Progress:
    """A bar with rate and ETA on a terminal, plain log lines otherwise."""

    def __init__(
        self, total: int, *, mode: str = "auto", stream: TextIO | None = None, log_every_s: float = 10.0
    ) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress must be one of {PROGRESS_MODES}, got {mode!r}")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)
            mode = "bar" if isatty() else "log"
        self.mode = mode
        self.total = total
        self.done = 0
        self.ok = 0
        self.failed = 0
        self.retries = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        self.log_every_s = log_every_s
        self._interval = 0.1 if mode == "bar" else log_every_s

    def update(self, ok: bool) -> None:
        self.done += 1
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        now = time.monotonic()
        if self.mode != "none" and now - self._last >= self._interval:
            self._last = now
            self._emit(final=False)

    def line(self) -> str:
        el = time.monotonic() - self.t0
        rate = self.done / el if el > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"{self.done}/{self.total} ({pct:.0f}%) ok={self.ok} failed={self.failed} "
            f"retries={self.retries} {rate:.1f} req/s elapsed {_fmt_s(el)} ETA {_fmt_s(eta)}"
        )

    def _emit(self, final: bool) -> None:
        if self.mode == "bar":
            width = 28
            frac = self.done / self.total if self.total else 1.0
            fill = int(round(width * frac))
            self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {self.line()}\x1b[K")
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(f"gather: {self.line()}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.mode != "none" and self.total:
            self._emit(final=True)


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------
@dataclass
class ModelReport:
    name: str
    planned: int = 0
    already_done: int = 0
    requested: int = 0
    succeeded: int = 0
    failed: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class GatherReport:
    store: str
    planned: int = 0
    already_done: int = 0
    requested: int = 0
    succeeded: int = 0
    failed: int = 0
    attempts: int = 0
    elapsed_s: float = 0.0
    dry_run: bool = False
    models: dict[str, ModelReport] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        return self.requested / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["requests_per_s"] = self.requests_per_s
        return d

    def format_text(self) -> str:
        head = "plan only (--dry-run)" if self.dry_run else f"done in {self.elapsed_s:.1f}s"
        lines = [
            f"gather {head}: {self.planned} planned, {self.already_done} already in store, "
            f"{self.requested} requested, {self.succeeded} succeeded, {self.failed} failed "
            f"({self.attempts} HTTP attempts, {self.requests_per_s:.1f} req/s) -> {self.store}"
        ]
        for m in self.models.values():
            fails = ", ".join(f"{k}={v}" for k, v in sorted(m.failures.items()))
            lines.append(
                f"  {m.name:<20} ok {m.succeeded}/{m.requested} tokens in/out {m.prompt_tokens}/{m.completion_tokens}"
                + (f"  failures: {fails}" if fails else "")
            )
        return "\n".join(lines)


class _Run:
    def __init__(self, store: ResponseStore, progress: Progress, seed: int | None) -> None:
        self.store = store
        self.progress = progress
        self.rng = random.Random(seed)
        self.secrets: list[str] = []

    def redact(self, text: str) -> str:
        for s in self.secrets:
            if s:
                text = text.replace(s, "[REDACTED]")
        return text

    async def one(
        self,
        session: Any,
        model: ModelConfig,
        headers: dict[str, str],
        limiter: _Limiter,
        spec: RequestSpec,
        rep: ModelReport,
        timeout: Any,
    ) -> dict[str, Any]:
        import aiohttp

        params = request_params(model, spec)
        body = json.dumps(
            {"model": model.model, "messages": list(spec.messages), **params}, ensure_ascii=False
        ).encode("utf-8")
        hdrs = {**headers, SAMPLE_HEADER: str(spec.sample)}
        est = estimate_tokens(model, spec, params) if limiter.tokens is not None else 0
        phash = params_hash(model, spec, params)
        started = time.time()
        t0 = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            await limiter.acquire(est)
            fail: _Failure | None = None
            result: dict[str, Any] | None = None
            try:
                async with session.post(model.url, data=body, headers=hdrs, timeout=timeout) as resp:
                    raw = await resp.read()
                    status = resp.status
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if status == 200:
                    result, fail = _parse_completion(raw)
                else:
                    text = raw[:300].decode("utf-8", "replace")
                    fail = _Failure(f"http_{status}", f"HTTP {status}: {text}", classify_status(status), retry_after)
            except asyncio.TimeoutError:
                fail = _Failure("timeout", f"no complete response within {model.timeout_s:g}s", True)
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                fail = _Failure("connection", f"{type(exc).__name__}: {exc}", True)
            except aiohttp.ClientError as exc:
                fail = _Failure("client_error", f"{type(exc).__name__}: {exc}", True)
            rep.attempts += 1
            if fail is None and result is not None:
                usage = result["usage"] or {}
                if limiter.tokens is not None and "total_tokens" in usage:
                    limiter.tokens.adjust(est - usage["total_tokens"])
                rep.prompt_tokens += usage.get("prompt_tokens", 0)
                rep.completion_tokens += usage.get("completion_tokens", 0)
                return self._record(model, spec, phash, result["response"], None, None, result, attempts, started, t0)
            assert fail is not None
            if limiter.tokens is not None:
                limiter.tokens.adjust(est)  # nothing was generated
            msg = self.redact(fail.message)
            if not fail.retryable or attempts > model.max_retries:
                rep.failures[fail.kind] = rep.failures.get(fail.kind, 0) + 1
                reason = msg if not fail.retryable else f"{msg} (gave up after {attempts} attempts)"
                return self._record(model, spec, phash, None, reason, fail.kind, None, attempts, started, t0)
            delay = _backoff(model, attempts, self.rng)
            if fail.retry_after is not None:
                wait = min(fail.retry_after, model.retry_after_max_s)
                delay = max(delay, wait)
                if fail.kind == "http_429":
                    limiter.pause(wait)
            self.progress.retries += 1
            log.debug(
                "model=%s id=%s sample=%d attempt=%d %s: %s; retry in %.2fs",
                model.name, spec.custom_id, spec.sample, attempts, fail.kind, msg, delay,
            )
            await asyncio.sleep(delay)

    def _record(
        self,
        model: ModelConfig,
        spec: RequestSpec,
        phash: str,
        response: str | None,
        error: str | None,
        error_kind: str | None,
        result: dict[str, Any] | None,
        attempts: int,
        started: float,
        t0: float,
    ) -> dict[str, Any]:
        return make_record(
            model.name,
            spec.custom_id,
            spec.sample,
            response,
            error,
            error_kind=error_kind,
            finish_reason=result["finish_reason"] if result else None,
            usage=result["usage"] if result else None,
            params_hash=phash,
            api_model=model.model,
            attempts=attempts,
            started_at=round(started, 6),
            finished_at=round(time.time(), 6),
            latency_s=round(time.monotonic() - t0, 6),
            source="api",
            prompt=_last_user_text(spec.messages),
            meta=dict(spec.meta) if spec.meta else None,
        )

    async def model_job(self, session: Any, mp: ModelPlan, rep: ModelReport) -> None:
        import aiohttp

        model = mp.model
        headers = {"Content-Type": "application/json", **model.headers}
        key = model.api_key()
        if key is not None:
            headers["Authorization"] = f"Bearer {key.get()}"
        limiter = _Limiter(model)
        timeout = aiohttp.ClientTimeout(total=model.timeout_s)
        it = iter(mp.todo)

        async def worker() -> None:
            for spec in it:  # shared iterator: each spec goes to one worker
                rec = await self.one(session, model, headers, limiter, spec, rep, timeout)
                self.store.append(rec)
                ok = rec["error"] is None
                if ok:
                    rep.succeeded += 1
                else:
                    rep.failed += 1
                self.progress.update(ok)

        n = min(model.concurrency, max(1, len(mp.todo)))
        await asyncio.gather(*(worker() for _ in range(n)))


async def _execute(
    make_plan: Callable[[], Plan],
    *,
    fsync: str,
    fsync_interval_s: float,
    progress: str | Progress,
    seed: int | None,
) -> GatherReport:
    import aiohttp

    p = make_plan()
    st: ResponseStore | None = None
    secrets: list[str] = []
    if p.todo:
        # Resolve keys before opening anything: a missing key is a usage error.
        secrets = [k.get() for k in (mp.model.api_key() for mp in p.models if mp.todo) if k is not None]
        st = ResponseStore(p.store, fsync=fsync, fsync_interval_s=fsync_interval_s).open()
        # Plan again under the store's lock (and after repair): another run
        # may have finished keys between the first look and the lock.
        try:
            p = make_plan()
        except BaseException:
            st.close()
            raise
    rep = GatherReport(store=p.store, planned=p.planned, already_done=sum(m.done for m in p.models))
    for mp in p.models:
        rep.models[mp.model.name] = ModelReport(
            mp.model.name, planned=mp.planned, already_done=mp.done, requested=len(mp.todo)
        )
    rep.requested = p.todo
    t0 = time.monotonic()
    if p.todo == 0 or st is None:
        if st is not None:
            st.close()
        return rep
    prog = progress if isinstance(progress, Progress) else Progress(p.todo, mode=progress)
    prog.total = p.todo
    try:
        if st.repaired_bytes:
            log.warning("store %s: removed a half-written last line (%d bytes)", p.store, st.repaired_bytes)
        run = _Run(st, prog, seed)
        run.secrets = secrets
        total_conc = sum(mp.model.concurrency for mp in p.models if mp.todo)
        connector = aiohttp.TCPConnector(limit=total_conc, limit_per_host=0, ttl_dns_cache=300)
        try:
            async with aiohttp.ClientSession(connector=connector, raise_for_status=False) as session:
                await asyncio.gather(
                    *(run.model_job(session, mp, rep.models[mp.model.name]) for mp in p.models if mp.todo)
                )
        finally:
            prog.close()
    finally:
        st.close()
    for m in rep.models.values():
        rep.succeeded += m.succeeded
        rep.failed += m.failed
        rep.attempts += m.attempts
    rep.elapsed_s = time.monotonic() - t0
    return rep


async def gather_async(
    config: GatherConfig | str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: str | Progress = "none",
    retry_failed: bool | None = None,
    seed: int | None = None,
) -> GatherReport:
    """Run (or with ``dry_run`` only plan) a gather config inside a running loop."""
    cfg = config if isinstance(config, GatherConfig) else load_config(config)
    if dry_run:
        p = plan(cfg, retry_failed=retry_failed)
        rep = GatherReport(store=p.store, planned=p.planned, already_done=sum(m.done for m in p.models), dry_run=True)
        rep.requested = p.todo
        for mp in p.models:
            rep.models[mp.model.name] = ModelReport(mp.model.name, mp.planned, mp.done, len(mp.todo))
        return rep
    return await _execute(
        lambda: plan(cfg, retry_failed=retry_failed),
        fsync=cfg.fsync,
        fsync_interval_s=cfg.fsync_interval_s,
        progress=progress,
        seed=seed,
    )


def gather(
    config: GatherConfig | str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: str | Progress = "none",
    retry_failed: bool | None = None,
    seed: int | None = None,
) -> GatherReport:
    """Synchronous :func:`gather_async` (runs its own event loop)."""
    return asyncio.run(gather_async(config, dry_run=dry_run, progress=progress, retry_failed=retry_failed, seed=seed))


@dataclass
class RequestsResult:
    """What :func:`run_requests` returns: the run's report and, for every
    requested spec, its latest store record keyed by ``(custom_id, sample)``."""

    report: GatherReport
    records: dict[tuple[str, int], dict[str, Any]]

    def __repr__(self) -> str:  # the records can be huge; asyncio reprs results
        r = self.report
        return f"RequestsResult(records={len(self.records)}, requested={r.requested}, failed={r.failed})"

    def response(self, custom_id: str, sample: int = 0) -> str | None:
        rec = self.records.get((str(custom_id), sample))
        return None if rec is None else rec.get("response")


async def run_requests_async(
    model: ModelConfig,
    requests: Iterable[RequestSpec | Mapping[str, Any]],
    store: str | os.PathLike[str],
    *,
    progress: str | Progress = "none",
    retry_failed: bool = False,
    on_params_change: str = "error",
    fsync: str = "interval",
    seed: int | None = None,
) -> RequestsResult:
    """Send arbitrary requests for one model into ``store``, resumably.

    ``requests`` are :class:`RequestSpec` or dicts with ``custom_id``,
    ``messages`` and optional ``sample``, ``params``, ``meta``. A spec whose
    record (same model name, id, sample and request hash) is already in the
    store is not sent again.
    """
    if on_params_change not in PARAMS_CHANGE_POLICIES:
        raise ValueError(f"on_params_change must be one of {PARAMS_CHANGE_POLICIES}")
    specs = [r if isinstance(r, RequestSpec) else RequestSpec(**dict(r)) for r in requests]
    rep = await _execute(
        lambda: _plan_jobs(str(store), [(model, specs)], retry_failed=retry_failed, on_params_change=on_params_change),
        fsync=fsync,
        fsync_interval_s=1.0,
        progress=progress,
        seed=seed,
    )
    latest = latest_records(store)
    recs = {}
    for s in specs:
        r = latest.get((model.name, s.custom_id, s.sample))
        if r is not None:
            recs[(s.custom_id, s.sample)] = r
    return RequestsResult(rep, recs)


def run_requests(
    model: ModelConfig,
    requests: Iterable[RequestSpec | Mapping[str, Any]],
    store: str | os.PathLike[str],
    **kwargs: Any,
) -> RequestsResult:
    """Synchronous :func:`run_requests_async`."""
    return asyncio.run(run_requests_async(model, requests, store, **kwargs))


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------
def configure_gather(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="gather config (TOML)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the request count, send nothing")
    p.add_argument("--retry-failed", action="store_true", help="re-request keys whose recorded result is an error")
    p.add_argument("--progress", choices=PROGRESS_MODES, default="auto", help="bar on a terminal, log lines otherwise")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format on stdout")
    p.add_argument("--seed", type=int, default=None, help="seed of the backoff jitter")
    p.add_argument("-v", "--verbose", action="store_true", help="log every retry to stderr")


def run_gather(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config)
    if args.dry_run:
        p = plan(cfg, retry_failed=args.retry_failed or None)
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "store": p.store,
                        "planned": p.planned,
                        "requests": p.todo,
                        "models": {
                            mp.model.name: {"planned": mp.planned, "done": mp.done, "requests": len(mp.todo)}
                            for mp in p.models
                        },
                    },
                    indent=2,
                )
            )
        else:
            print(p.describe())
        return 0
    rep = gather(cfg, progress=args.progress, retry_failed=args.retry_failed or None, seed=args.seed)
    print(json.dumps(rep.to_dict(), indent=2) if args.format == "json" else rep.format_text())
    return 0 if rep.failed == 0 else 1


__all__ = [
    "GatherConfig",
    "GatherReport",
    "ModelConfig",
    "Plan",
    "Progress",
    "PromptSource",
    "RequestSpec",
    "RequestsResult",
    "TokenBucket",
    "config_from_dict",
    "gather",
    "gather_async",
    "load_config",
    "load_prompts",
    "params_hash",
    "parse_retry_after",
    "plan",
    "run_requests",
    "run_requests_async",
]
