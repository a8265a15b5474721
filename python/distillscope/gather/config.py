"""Gather configuration: model endpoints, prompt sources and the TOML file.

A gather config names a response store (``[run]``), one or more prompt files
(``[[prompts]]``) and the models to ask (``[[models]]``, with shared
``[model_defaults]``). :func:`load_config` reads the TOML file and
:func:`config_from_dict` validates an already-parsed one; every unknown key
is an error that lists the allowed ones. API keys are never in the file:
a model names the environment variable holding its key.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
PARAMS_CHANGE_POLICIES = ("error", "rerun", "keep")
FSYNC_POLICIES = ("always", "interval", "never")
MAX_CONCURRENCY = 100_000
MAX_SAMPLES = 10**9


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_number(
    owner: str,
    key: str,
    v: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    integer: bool = False,
    example: Any = None,
) -> None:
    """Raise a one-line ValueError naming ``owner``'s ``key``, what it must
    be and an example, unless ``v`` is a finite number (an integer if asked)
    in [lo, hi] (or (lo, hi] with ``lo_open``)."""
    ok = isinstance(v, int) and not isinstance(v, bool) if integer else _is_number(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v <= hi
    if ok:
        return
    what = "an integer" if integer else "a finite number"
    rng = "" if lo is None else f" {'>' if lo_open else '>='} {lo:g}"
    rng += "" if hi is None else f"{' and' if rng else ''} <= {hi:g}"
    ex = f" (e.g. {key} = {example})" if example is not None else ""
    raise ValueError(f"{owner}: {key} must be {what}{rng}, got {v!r}; fix it in the config{ex}")


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_env_name(label: str, v: str | None) -> None:
    """``v`` (None: no key), given as ``label`` (a config key or a flag), is
    the *name* of an environment variable. A value that is no such name is
    most likely the key itself: the message must not repeat it."""
    if v is not None and not _ENV_NAME.fullmatch(v):
        raise ValueError(
            f"{label} must be the name of an environment variable (letters, digits and _, e.g. "
            "OPENAI_API_KEY), not the key itself; export the key under that name"
        )


def check_base_url(label: str, url: Any, key_option: str = "api_key_env") -> None:
    """An http(s) URL with a host and a valid port, refused before any
    request: a malformed one would be retried as a network error (seven
    attempts per request, for minutes) and never work. Credentials in it are
    refused without repeating the URL (they are a secret)."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"{label} must start with http:// or https://, got {url!r}")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError(
            f"{label} must not hold credentials (user:password@); export the key in an environment variable "
            f"and name it with {key_option}"
        )
    if parts.query or parts.fragment:  # /chat/completions is appended to the URL; a query may hold a key
        raise ValueError(
            f"{label} must not have a query string or fragment (?... or #...): /chat/completions is appended "
            "to it; e.g. https://api.openai.com/v1"
        )
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # out of range or not a number
        port_ok = False
    if not parts.hostname or not port_ok or any(c.isspace() for c in url):
        raise ValueError(
            f"{label} {url!r} is not a valid URL (it needs a host, a port in 1-65535 if any, and no spaces); "
            "e.g. https://api.openai.com/v1"
        )


def check_str(owner: str, key: str, v: Any, *, optional: bool = False, example: str = "...") -> None:
    if (v is None and optional) or (isinstance(v, str) and v):
        return
    raise ValueError(
        f'{owner}: {key} must be a non-empty string, got {v!r}; fix it in the config (e.g. {key} = "{example}")'
    )


# sampling key -> (lo, hi, integer, example); None: checked by _check_sampling
_SAMPLING_RANGES: dict[str, tuple[float | None, float | None, bool, Any]] = {
    "temperature": (0.0, 10.0, False, 0.7),
    "top_p": (0.0, 1.0, False, 0.95),
    "max_tokens": (1, None, True, 512),
    "max_completion_tokens": (1, None, True, 512),
    "seed": (None, None, True, 0),
    "presence_penalty": (-2.0, 2.0, False, 0.0),
    "frequency_penalty": (-2.0, 2.0, False, 0.0),
}


def _check_sampling(owner: str, params: Mapping[str, Any]) -> None:
    for k, v in params.items():
        if k in _SAMPLING_RANGES and v is not None:
            lo, hi, integer, ex = _SAMPLING_RANGES[k]
            check_number(owner, k, v, lo=lo, hi=hi, integer=integer, example=ex, lo_open=k == "top_p")
        elif k == "stop" and v is not None:
            if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                raise ValueError(
                    f'{owner}: stop must be a string or a list of strings, got {v!r} (e.g. stop = ["\\n\\n"])'
                )
        elif k == "reasoning_effort" and v is not None and not isinstance(v, str):
            raise ValueError(f'{owner}: reasoning_effort must be a string, got {v!r} (e.g. reasoning_effort = "low")')
        elif k in ("logit_bias", "response_format") and v is not None and not isinstance(v, Mapping):
            raise ValueError(f"{owner}: {k} must be a table, got {v!r}")


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
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f'model config needs a non-empty string name, got {self.name!r} (e.g. name = "gpt-a")')
        owner = f"model {self.name!r}"
        check_base_url(f"{owner}: base_url", self.base_url)
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(
                f"{owner}: set `model` (the name the API expects) to a non-empty string, got {self.model!r}"
            )
        check_str(owner, "api_key_env", self.api_key_env, optional=True, example="OPENAI_API_KEY")
        check_env_name(f"{owner}: api_key_env", self.api_key_env)
        check_number(owner, "samples", self.samples, lo=1, hi=MAX_SAMPLES, integer=True, example=1)
        check_number(owner, "concurrency", self.concurrency, lo=1, hi=MAX_CONCURRENCY, integer=True, example=16)
        check_number(owner, "max_retries", self.max_retries, lo=0, hi=1000, integer=True, example=6)
        for k in ("requests_per_minute", "tokens_per_minute"):
            v = getattr(self, k)
            if v is not None:
                check_number(f"{owner} ({k} omitted means no limit)", k, v, lo=0, lo_open=True, example=600)
        for k in ("timeout_s", "backoff_base_s", "backoff_max_s", "retry_after_max_s", "burst_s"):
            check_number(owner, k, getattr(self, k), lo=0, lo_open=True, example=1.0)
        if not isinstance(self.seed_per_sample, bool):
            raise ValueError(f"{owner}: seed_per_sample must be true or false, got {self.seed_per_sample!r}")
        if not isinstance(self.params, Mapping):
            raise ValueError(f"{owner}: params must be a table ([models.params]), got {self.params!r}")
        _check_sampling(owner, self.params)
        if not isinstance(self.headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()
        ):
            raise ValueError(f'{owner}: headers must be a table of strings (e.g. headers = {{ "X-Team" = "a" }})')
        for k in self.headers:
            if k.lower() == "authorization":
                raise ValueError(f"{owner}: do not put keys in headers; use api_key_env")
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

    def __post_init__(self) -> None:
        owner = f"[[prompts]] {self.file!r}"
        check_str("[[prompts]]", "file", self.file, example="prompts.jsonl")
        for k in ("id_field", "prompt_field", "messages_field"):
            check_str(owner, k, getattr(self, k), example=k.split("_")[0])
        if not isinstance(self.id_prefix, str):
            raise ValueError(f'{owner}: id_prefix must be a string, got {self.id_prefix!r} (e.g. id_prefix = "mt:")')
        if self.system is not None and not isinstance(self.system, str):
            raise ValueError(f"{owner}: system must be a string, got {self.system!r}")
        if self.limit is not None:
            check_number(owner, "limit", self.limit, lo=0, integer=True, example=100)


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
        check_str("[run]", "store", self.store, example="responses.jsonl")
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(f"[run]: fsync must be one of {FSYNC_POLICIES}, got {self.fsync!r}")
        check_number("[run]", "fsync_interval_s", self.fsync_interval_s, lo=0, example=1.0)
        if not isinstance(self.retry_failed, bool):
            raise ValueError(f"[run]: retry_failed must be true or false, got {self.retry_failed!r}")
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
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a UTF-8 TOML file; save the config as UTF-8 text") from None


_MODEL_KEYS = {f for f in ModelConfig.__dataclass_fields__} | {"timeout"}
_PROMPT_KEYS = set(PromptSource.__dataclass_fields__)
_RUN_KEYS = {"store", "fsync", "fsync_interval_s", "retry_failed", "on_params_change"}


def _table(owner: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, Mapping):
        raise ValueError(
            f"{owner} must be a table, got {type(v).__name__} {v!r:.60}; see the example config in the README"
        )
    return dict(v)


def _tables(owner: str, v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, list):
        raise ValueError(f"{owner} must be an array of tables (write [[{owner.strip('[]')}]]), got {type(v).__name__}")
    return [_table(f"{owner} entry {i}", t) for i, t in enumerate(v)]


def _model_from_table(tab: Mapping[str, Any], defaults: Mapping[str, Any]) -> ModelConfig:
    merged: dict[str, Any] = {**defaults, **tab}
    owner = f"[[models]] {tab.get('name', '?')!r}"
    params = _table(f"{owner} params", defaults.get("params", {}))
    params.update(_table(f"{owner} params", tab.get("params", {})))
    kw: dict[str, Any] = {}
    for k, v in merged.items():
        if k == "params":
            continue
        if k in SAMPLING_KEYS:
            params[k] = v
        elif k == "timeout":
            check_number(owner, "timeout", v, lo=0, lo_open=True, example=120)
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
    run = _table("[run]", data.get("run", {}))
    unknown = set(run) - _RUN_KEYS
    if unknown:
        raise ValueError(f"[run]: unknown keys {sorted(unknown)}; allowed: {sorted(_RUN_KEYS)}")
    if "store" not in run:
        raise ValueError('[run] needs store = "responses.jsonl"')
    prompts = []
    for tab in _tables("[[prompts]]", data.get("prompts", [])):
        bad = set(tab) - _PROMPT_KEYS
        if bad:
            raise ValueError(f"[[prompts]]: unknown keys {sorted(bad)}; allowed: {sorted(_PROMPT_KEYS)}")
        if "file" not in tab:
            raise ValueError('[[prompts]] needs file = "prompts.jsonl"')
        check_str("[[prompts]]", "file", tab["file"], example="prompts.jsonl")
        prompts.append(PromptSource(**{**tab, "file": str(base / tab["file"])}))
    if not prompts:
        raise ValueError("config has no [[prompts]] table; add one with file = ...")
    defaults = _table("[model_defaults]", data.get("model_defaults", {}))
    models = [_model_from_table(t, defaults) for t in _tables("[[models]]", data.get("models", []))]
    if not models:
        raise ValueError("config has no [[models]] table; add one with name, base_url, model")
    extra = set(data) - {"run", "prompts", "models", "model_defaults"}
    if extra:
        raise ValueError(f"unknown top-level tables {sorted(extra)}; allowed: run, prompts, models, model_defaults")
    check_str("[run]", "store", run["store"], example="responses.jsonl")
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


__all__ = [
    "FSYNC_POLICIES",
    "GatherConfig",
    "ModelConfig",
    "PARAMS_CHANGE_POLICIES",
    "PromptSource",
    "SAMPLING_KEYS",
    "check_number",
    "check_str",
    "config_from_dict",
    "load_config",
]
