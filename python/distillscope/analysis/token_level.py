"""The ``token`` granularity of the RSE pipeline: BERTScore F1 between two responses.

Each distinct response is ``strip()``-ed and run once through the analysis
encoder (the one of the semantic granularity: its last layer, or the layer
the :class:`~distillscope.Encoder` was built with, truncated at its
``max_length``) with its special tokens, by
:class:`~distillscope.text.bertscore.TokenStates`; every pair (raw,
shuffled-prompt null, self) is then the greedy cosine matching of
:func:`distillscope.bert_score` with ``idf`` off, so the score of a pair is
exactly ``bert_score([a], [b], encoder=encoder).f1``.

BERTScore F1 is symmetric (swapping the sides swaps P and R), so each
unordered pair of distinct responses is matched once: the raw pair (S, T)
and (T, S) share their work. Two responses that are both empty score 1
(identical answers), one empty response 0.

The token states come from a second forward pass (``encode_tokens``), not
from the late-chunking pass of the response vectors: that pass windows long
responses instead of truncating them, which would no longer be BERTScore.
They are held in memory (float32, tokens × D) and not cached on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["TOKEN_SIGNATURE", "token_scores"]

TOKEN_SIGNATURE = "token=bertscore-F1|special tokens kept (weight 0)|idf:no|strip|truncated at max_length"
_BLOCK = 4096  # distinct pairs per progress step (never changes results)


def token_scores(
    texts: list[str],
    ia: np.ndarray,
    ib: np.ndarray,
    encoder: Any,
    *,
    workers: int = 1,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """float64 BERTScore F1 of ``texts[ia[k]]`` against ``texts[ib[k]]`` for every k."""
    from ..progress import Progress
    from ..text.bertscore import TokenStates

    log = log or (lambda msg: None)
    n_distinct = len({t.strip() for t in texts})
    log(f"encoding the token states of {n_distinct:,} distinct responses (token granularity: BERTScore)")
    states = TokenStates(encoder, texts)
    d = len(states.offsets) - 1
    log(
        f"token states: {states.values.shape[0]:,} tokens x {states.values.shape[1]} "
        f"({states.values.nbytes / 2**20:,.0f} MiB in memory)"
    )
    da = states.rows[np.asarray(ia, dtype=np.int64)]
    db = states.rows[np.asarray(ib, dtype=np.int64)]
    key = np.minimum(da, db) * max(d, 1) + np.maximum(da, db)
    uniq, inverse = np.unique(key, return_inverse=True)
    rep = np.zeros(max(d, 1), dtype=np.int64)  # an input text of each distinct text
    rep[states.rows] = np.arange(len(states.rows), dtype=np.int64)
    ua, ub = rep[uniq // max(d, 1)], rep[uniq % max(d, 1)]
    f = np.empty(len(uniq), dtype=np.float64)
    log(f"matching the tokens of {len(uniq):,} distinct response pairs")
    with Progress(len(uniq), "token matching", enabled=progress) as bar:
        for lo in range(0, len(uniq), _BLOCK):
            hi = min(lo + _BLOCK, len(uniq))
            f[lo:hi] = states.score(ua[lo:hi], states, ub[lo:hi], workers=workers)[2]
            bar.update(hi - lo)
    ordinary = np.r_[0, np.cumsum(states.weights > 0)]
    empty = np.zeros(max(d, 1), dtype=bool)
    empty[:d] = ordinary[states.offsets[1:]] == ordinary[states.offsets[:-1]]
    f[empty[uniq // max(d, 1)] & empty[uniq % max(d, 1)]] = 1.0  # two empty answers are identical
    return f[inverse]
