"""Checks of option values that name the ``--flag`` the user typed.

The library checks its own parameters and names them the Python way
(``max_prompts must be ...``, ``workers must be ...``, "fix it in the
config"): right for a library user, wrong for someone who typed
``--max-prompts``. Each command checks what it is about to pass on, with the
library's own bounds, before any work starts; the ValueError raised here is
turned by ``cli.main`` into exit 2 and one line, like every usage error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, overload


def check_int(flag: str, value: int | None, lo: int, hi: int | None = None, *, note: str = "") -> None:
    """``value`` (an argparse ``type=int``; None: the option was left out) is in ``lo..hi``."""
    if value is None or (value >= lo and (hi is None or value <= hi)):
        return
    bound = f">= {lo}" if hi is None else f"between {lo} and {hi}"
    raise ValueError(f"{flag} must be {bound}{note}, got {value}")


def check_workers(flag: str, value: int) -> None:
    """A thread count as the kernels take it: -1 (all cores) or 1..MAX_WORKERS."""
    from ..kernels import MAX_WORKERS

    if value != -1 and not 1 <= value <= MAX_WORKERS:
        raise ValueError(f"{flag} must be between 1 and {MAX_WORKERS}, or -1 for all cores, got {value}")


def check_positive(flag: str, value: float | None, *, note: str = "") -> None:
    """``value`` (an argparse ``type=float``; None: left out) is finite and > 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{flag} must be a finite number > 0{note}, got {value}")


def check_nonempty(flag: str, value: str | None, what: str) -> None:
    """A string option given as ``--flag ''``."""
    if value is not None and not value.strip():
        raise ValueError(f"{flag} must be {what}, got {value!r}")


@overload
def check_path(flag: str, value: str, what: str) -> Path: ...
@overload
def check_path(flag: str, value: str | None, what: str) -> Path | None: ...
def check_path(flag: str, value: str | None, what: str) -> Path | None:
    """A path option (None: left out) as a Path; ``--flag ''`` is refused,
    not read as the current folder (``Path('') == Path('.')``)."""
    if value is None:
        return None
    if isinstance(value, str):
        check_nonempty(flag, value, what)
    return Path(value)


def check_not_an_input(flag: str, out: str | None, inputs: Mapping[str, str | None]) -> None:
    """An output file (None: left out) is none of the files the command reads
    (``inputs``: flag -> path, None where left out), compared after symlinks
    and ``..`` are resolved: writing the results there would destroy the input."""
    if out is None:
        return
    target = Path(out)
    for in_flag, path in inputs.items():
        if path is None:
            continue
        same = target.resolve() == Path(path).resolve()
        if not same and target.exists() and Path(path).exists():
            same = os.path.samefile(target, path)  # a hard link
        if same:
            raise ValueError(
                f"{flag} {out!r} is the {in_flag} file; writing there would overwrite it, choose another path"
            )


@overload
def str_list(flag: str, text: str, what: str, choices: Sequence[str] | None = None) -> list[str]: ...
@overload
def str_list(flag: str, text: str | None, what: str, choices: Sequence[str] | None = None) -> list[str] | None: ...
def str_list(flag: str, text: str | None, what: str, choices: Sequence[str] | None = None) -> list[str] | None:
    """``"a,b"`` -> ["a", "b"]: at least one entry, each one of ``choices``
    when given; None (the option was left out) -> None. ``--flag ''`` or
    ``--flag ,`` is refused rather than read as "none" or as the default."""
    if text is None:
        return None
    values = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [v for v in values if choices is not None and v not in choices]
    if values and not unknown:
        return values
    choose = f" from {','.join(choices)}" if choices is not None else ""
    got = f"unknown {', '.join(map(repr, unknown))}" if unknown else f"got {text!r}"
    raise ValueError(f"{flag} takes comma-separated {what}{choose}; {got}")


def int_list(flag: str, text: str, lo: int = 1) -> list[int] | None:
    """``"1,2,4"`` -> [1, 2, 4], every entry >= ``lo``; "" -> None (the default).
    ``","`` (no integer, yet not left empty) is refused, not read as the default."""
    if not text.strip():
        return None
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
        if not values:
            raise ValueError(text)
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers, e.g. 1,2; got {text!r}") from None
    bad = [v for v in values if v < lo]
    if bad:
        raise ValueError(f"{flag} takes integers >= {lo}, got {', '.join(map(str, bad))}")
    return values


# the fewest bootstrap resamples DegreeConfig takes ("n_boot must be >= 10")
MIN_BOOTSTRAP = 10
# the most a --bootstrap takes: far past where a 95% interval stops moving,
# and the resampled means are held in memory (10**12 asked for petabytes)
MAX_BOOTSTRAP = 100_000

# what an encoder option of score/attribute/report/judge/demo takes besides a model
ENCODER_KEYWORDS = ("auto", "none")


def check_encoder(
    flag: str, value: str | None, *, keywords: Sequence[str] = ENCODER_KEYWORDS, left_out: str = ""
) -> None:
    """An encoder option (None: left out) names an encoder the command can
    load: one of ``keywords``, a downloaded model, the tiny test model or a
    model folder. Decided from names and file listings only (``model_status``),
    so an unknown or not-downloaded model is refused before anything is
    gathered, embedded or written, while a model that is there but fails to
    load stays the loader's error (an internal error, not a usage error).
    ``left_out`` ends the list of choices (what leaving the option out does)."""
    from ..embed.models import KNOWN_MODELS, TINY_MODEL, model_status

    words = {"auto": "'auto' (the default model if downloaded)", "none": "'none' (no encoder: lexical and style only)"}
    others = [words.get(k, repr(k)) for k in keywords]
    check_nonempty(flag, value, ", ".join([*map(repr, keywords), "a model name or a model directory"]) + left_out)
    if value is None or value in keywords:
        return
    status = model_status(value)
    if status in ("tiny", "downloaded", "directory"):
        return
    folder = "a model directory (tokenizer.json + model.onnx or model.safetensors)"
    if status == "not-downloaded":
        raise ValueError(
            f"{flag} {value!r}: the model is not downloaded; run `distillscope model download {value}` once, "
            f"or pass {_either([*others, folder])}{left_out}"
        )
    every = _either(
        [
            *others,
            f"a downloaded model ({', '.join(sorted(KNOWN_MODELS))}; `distillscope model download` fetches it)",
            f"'{TINY_MODEL}[:SEED]' (a small random test model)",
            folder,
        ]
    )
    if status == "incomplete-directory":
        problem = "the folder holds no model"
    elif os.sep in value or (os.altsep is not None and os.altsep in value):
        problem = "no such model directory"
    else:
        problem = "unknown model"
    raise ValueError(f"{flag} {value!r}: {problem}; pass {every}{left_out}")


def _either(choices: Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else "".join(choices)


@contextmanager
def naming(flag: str, value: Any) -> Iterator[None]:
    """Re-raise the library's ValueError/TypeError of a spec it parses (a
    metric list, a tokenizer spec) with the flag and the value in front: the
    library's text still says what is wrong, the flag says where."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{flag} {value!r}: {exc}") from None


__all__ = [
    "ENCODER_KEYWORDS",
    "MAX_BOOTSTRAP",
    "MIN_BOOTSTRAP",
    "check_encoder",
    "check_int",
    "check_nonempty",
    "check_not_an_input",
    "check_path",
    "check_positive",
    "check_workers",
    "int_list",
    "naming",
    "str_list",
]
