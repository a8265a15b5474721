"""distillscope: measure how much large language models were distilled from one another.

The dense and text kernels are plain numpy-in / numpy-out functions backed by
the C++ core (``distillscope._core``); heavier parts (ONNX encoders, the
async gatherer, reports, Dask) load lazily on first use so that
``import distillscope`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._ragged import Ragged
from .kernels import (
    CosineIndex,
    capabilities,
    cosine_grouped,
    cosine_paired,
    cosine_topk,
    force_isa,
    l2_normalize,
    set_isa,
)

__version__ = "0.1.0"

# name -> module that defines it, imported on first attribute access
_LAZY: dict[str, str] = {}


def _register_lazy(module: str, *names: str) -> None:
    for n in names:
        _LAZY[n] = module


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'distillscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

_register_lazy("embed", "Encoder", "EmbeddingCache")
_register_lazy("segmentation", "segment")
_register_lazy("align", "align_scores", "align_embeddings", "AlignScores")

__all__ = [
    "Ragged",
    "CosineIndex",
    "capabilities",
    "cosine_grouped",
    "cosine_paired",
    "cosine_topk",
    "force_isa",
    "l2_normalize",
    "set_isa",
]
