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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


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


def int_list(flag: str, text: str, lo: int = 1) -> list[int] | None:
    """``"1,2,4"`` -> [1, 2, 4], every entry >= ``lo``; "" -> None (the default)."""
    if not text.strip():
        return None
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers, e.g. 1,2; got {text!r}") from None
    bad = [v for v in values if v < lo]
    if bad:
        raise ValueError(f"{flag} takes integers >= {lo}, got {', '.join(map(str, bad))}")
    return values


@contextmanager
def naming(flag: str, value: Any) -> Iterator[None]:
    """Re-raise the library's ValueError/TypeError of a spec it parses (a
    metric list, a tokenizer spec) with the flag and the value in front: the
    library's text still says what is wrong, the flag says where."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{flag} {value!r}: {exc}") from None


__all__ = ["check_int", "check_nonempty", "check_positive", "check_workers", "int_list", "naming"]
