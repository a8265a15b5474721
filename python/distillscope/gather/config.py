"""Gather configuration: model endpoints, prompt sources and the TOML file.

A gather config names a response store (``[run]``), one or more prompt files
(``[[prompts]]``) and the models to ask (``[[models]]``, with shared
``[model_defaults]``). :func:`load_config` reads the TOML file and
:func:`config_from_dict` validates an already-parsed one; every unknown key
is an error that lists the allowed ones. API keys are never in the file:
a model names the environment variable holding its key.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

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


__all__ = [
    "GatherConfig",
    "ModelConfig",
    "PARAMS_CHANGE_POLICIES",
    "PromptSource",
    "SAMPLING_KEYS",
    "config_from_dict",
    "load_config",
]
