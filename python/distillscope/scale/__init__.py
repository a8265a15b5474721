"""Scale: pair-file readers and writers, streaming checkpointed scoring, Dask, and the benchmark suite."""

from .checkpoint import ScoreSummary
from .distributed import kernel_threads_per_worker, score_dataframe
from .embeddings import Embeddings
from .pairio import PairChunk, count_pairs, iter_pair_chunks
from .scoring import PAIR_METRICS, iter_scored_chunks, parse_metrics, score_batch, score_pairs

__all__ = [
    "PAIR_METRICS",
    "Embeddings",
    "PairChunk",
    "ScoreSummary",
    "count_pairs",
    "iter_pair_chunks",
    "iter_scored_chunks",
    "kernel_threads_per_worker",
    "parse_metrics",
    "score_batch",
    "score_dataframe",
    "score_pairs",
]
