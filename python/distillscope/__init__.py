"""distillscope: measure how much large language models were distilled from one another.

The dense and text kernels are plain numpy-in / numpy-out functions backed by
the C++ core (``distillscope._core``); heavier parts (ONNX encoders, the
async gatherer, reports, Dask) load lazily on first use so that
``import distillscope`` stays fast.

Every public name is listed once, in ``_EXPORTS`` below (name -> the module
that defines it). That one table drives ``__getattr__`` (lazy loading),
``__all__`` and ``__dir__``; the ``TYPE_CHECKING`` block repeats it as real
imports so that type checkers and IDEs see the real types (a test keeps the
two in step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__

# public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    # kernels (numpy in, numpy out)
    "Ragged": "_ragged",
    "CosineIndex": "kernels",
    "capabilities": "kernels",
    "cosine_grouped": "kernels",
    "cosine_paired": "kernels",
    "cosine_topk": "kernels",
    "force_isa": "kernels",
    "l2_normalize": "kernels",
    "set_isa": "kernels",
    "cos_sim": "kernels",
    # text
    "tokenize": "text.tokenize",
    "token_strings": "text.tokenize",
    "segment": "text.segment",
    "rouge_scores": "text.lexical",
    "bleu_scores": "text.lexical",
    "chrf_scores": "text.lexical",
    "ngram_overlap": "text.lexical",
    "lexical_scores": "text.lexical",
    "lexical_signature": "text.lexical",
    "StyleFeatures": "text.style",
    "style_features": "text.style",
    "style_similarity": "text.style",
    "length_ratio": "text.style",
    "AlignScores": "text.align",
    "align_scores": "text.align",
    "align_embeddings": "text.align",
    "bert_score": "text.bertscore",
    "BertScoreResult": "text.bertscore",
    # embeddings
    "Encoder": "embed.encoder",
    "EmbeddingCache": "embed.cache",
    # gathering
    "run_requests": "gather.run",
    "load_config": "gather.config",
    "ModelConfig": "gather.config",
    "RequestSpec": "gather.prompts",
    "GatherConfig": "gather.config",
    "SimServer": "gather.simserver",
    "Faults": "gather.simserver",
    # responses
    "ResponseStore": "store.store",
    "read_records": "store.store",
    "ResponseTable": "store.table",
    "load_table": "store.table",
    # analysis
    "ScoreTable": "analysis.table",
    "DegreeConfig": "analysis.degree",
    "DegreeResult": "analysis.degree",
    "compute_degrees": "analysis.degree",
    "attribute": "analysis.attribution",
    "degree_matrix": "analysis.attribution",
    "derangement": "stats",
    "judge_agreement": "analysis.agreement",
    "response_similarity": "analysis.similarity",
    "RSEConfig": "analysis.similarity",
    "write_report": "analysis.report",
    "redraw": "analysis.report",
    # identity
    "IdentityRegistry": "identity.registry",
    "ClaimExtractor": "identity.claims",
    "build_probes": "identity.probes",
    "identity_rates": "identity.rates",
    # judges
    "IdentityJudge": "judge.identity",
    "JudgeConfig": "judge.items",
    "judge_pairs": "judge.pairs",
    "to_score_table": "judge.agreement",
    "agreement_report": "judge.agreement",
    "gatherer_complete": "judge.pairs",
    # scale
    "score_pairs": "scale.scoring",
    "score_batch": "scale.scoring",
    "iter_pair_chunks": "scale.pairio",
    "iter_scored_chunks": "scale.scoring",
    "score_dataframe": "scale.distributed",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None and name == "compat":  # the drop-in peer APIs, a subpackage
        from importlib import import_module

        return import_module(".compat", __name__)
    if module is None:
        raise AttributeError(f"module 'distillscope' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # the same table, as imports a type checker can follow
    from ._ragged import Ragged
    from .analysis.agreement import judge_agreement
    from .analysis.attribution import attribute, degree_matrix
    from .analysis.degree import DegreeConfig, DegreeResult, compute_degrees
    from .analysis.report import redraw, write_report
    from .analysis.similarity import RSEConfig, response_similarity
    from .analysis.table import ScoreTable
    from .embed.cache import EmbeddingCache
    from .embed.encoder import Encoder
    from .gather.config import GatherConfig, ModelConfig, load_config
    from .gather.prompts import RequestSpec
    from .gather.run import run_requests
    from .gather.simserver import Faults, SimServer
    from .identity.claims import ClaimExtractor
    from .identity.probes import build_probes
    from .identity.rates import identity_rates
    from .identity.registry import IdentityRegistry
    from .judge.agreement import agreement_report, to_score_table
    from .judge.identity import IdentityJudge
    from .judge.items import JudgeConfig
    from .judge.pairs import gatherer_complete, judge_pairs
    from .kernels import (
        CosineIndex,
        capabilities,
        cos_sim,
        cosine_grouped,
        cosine_paired,
        cosine_topk,
        force_isa,
        l2_normalize,
        set_isa,
    )
    from .scale.distributed import score_dataframe
    from .scale.pairio import iter_pair_chunks
    from .scale.scoring import iter_scored_chunks, score_batch, score_pairs
    from .stats import derangement
    from .store.store import ResponseStore, read_records
    from .store.table import ResponseTable, load_table
    from .text.align import AlignScores, align_embeddings, align_scores
    from .text.bertscore import BertScoreResult, bert_score
    from .text.lexical import (
        bleu_scores,
        chrf_scores,
        lexical_scores,
        lexical_signature,
        ngram_overlap,
        rouge_scores,
    )
    from .text.segment import segment
    from .text.style import StyleFeatures, length_ratio, style_features, style_similarity
    from .text.tokenize import token_strings, tokenize
