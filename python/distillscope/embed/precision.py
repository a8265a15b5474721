"""Which encoder precision runs by default on this machine.

``Encoder(precision="auto")`` (the default) picks the per-channel int8 graph
when all of these hold, fp32 otherwise:

* the CPU has integer dot-product instructions (x86 ``avx512_vnni``,
  ``avx_vnni`` or ``amx_int8``; Arm ``asimddp`` / ``i8mm``), without which
  int8 matrix products are no faster than fp32;
* onnxruntime runs on the CPU provider (other providers get fp32);
* the int8 graph is already built (``distillscope model download`` builds it
  for the default model; ``distillscope model build DIR --variant int8`` for
  others);
* the accuracy guard holds: mean cosine between int8 and fp32 embeddings of
  the guard sentences (the 217 texts of the golden file, shipped as
  ``embed/data/guard_sentences.json``) is at least :data:`GUARD_MIN_MEAN`.
  The guard runs once per pair of graph files and its verdict is kept in
  ``$DISTILLSCOPE_HOME/cache/int8_guard.json``.

This module only reads CPU flags and stores verdicts; the encoder runs the
graphs.
"""

from __future__ import annotations

import json
import os
import platform
import threading
from functools import lru_cache
from pathlib import Path

from .models import home

__all__ = ["GUARD_MIN_MEAN", "cpu_int8_dot", "guard_path", "guard_sentences", "read_guard", "write_guard"]

GUARD_MIN_MEAN = 0.99
_X86_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
_ARM_FLAGS = ("asimddp", "i8mm")
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def cpu_int8_dot() -> str | None:
    """The first int8 dot-product CPU feature found (``'avx512_vnni'`` …), or None.

    ``DISTILLSCOPE_INT8_DOT=0`` forces None (fp32 by default), ``=1`` forces
    a yes (``'forced'``).
    """
    env = os.environ.get("DISTILLSCOPE_INT8_DOT")
    if env is not None and env.strip() in ("0", "1"):
        return "forced" if env.strip() == "1" else None
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, val = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(val.split())
    for f in (*_X86_FLAGS, *_ARM_FLAGS):
        if f in flags:
            return f
    if not text and platform.system() == "Darwin" and platform.machine() == "arm64":
        return "asimddp"  # every Apple silicon core has the Arm dot-product extension
    return None


@lru_cache(maxsize=1)
def guard_sentences() -> tuple[str, ...]:
    path = Path(__file__).parent / "data" / "guard_sentences.json"
    return tuple(json.loads(path.read_text(encoding="utf-8")))


def guard_path() -> Path:
    return home() / "cache" / "int8_guard.json"


def read_guard(key: str) -> dict | None:
    """The stored verdict for ``key`` (fp32 digest + int8 digest), or None."""
    try:
        data = json.loads(guard_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    got = data.get(key) if isinstance(data, dict) else None
    return got if isinstance(got, dict) and "mean_cosine" in got else None


def write_guard(key: str, verdict: dict) -> None:
    """Store a verdict (best effort: a read-only home only means the guard runs again)."""
    path = guard_path()
    with _LOCK:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    data = {}
            except (OSError, ValueError):
                data = {}
            data[key] = verdict
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
