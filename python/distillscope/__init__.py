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

_register_lazy("text", "tokenize", "token_strings")
_register_lazy(
    "lexical", "rouge_scores", "bleu_scores", "chrf_scores", "ngram_overlap", "lexical_scores", "lexical_signature"
)
# (the function `gather` is not exported here: it would clash with the
# submodule of the same name; use distillscope.gather.gather)
_register_lazy("gather", "run_requests", "load_config", "ModelConfig", "RequestSpec", "GatherConfig")
_register_lazy("store", "ResponseStore", "load_table", "read_records", "ResponseTable")
_register_lazy("simserver", "SimServer", "Faults")
_register_lazy("identity", "IdentityRegistry", "ClaimExtractor", "build_probes", "identity_rates")
_register_lazy("identity_judge", "IdentityJudge")
_register_lazy("judge", "JudgeConfig", "judge_pairs", "to_score_table", "agreement_report", "gatherer_complete")
_register_lazy(
    "calibrate", "ScoreTable", "DegreeConfig", "DegreeResult", "compute_degrees", "attribute",
    "degree_matrix", "derangement", "judge_agreement",
)
_register_lazy("style", "StyleFeatures", "style_features", "style_similarity", "length_ratio")
_register_lazy("report", "write_report", "redraw")
_register_lazy("similarity", "response_similarity", "RSEConfig")
_register_lazy("scoring", "score_pairs", "score_batch", "iter_pair_chunks", "iter_scored_chunks")
_register_lazy("distributed", "score_dataframe")

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
