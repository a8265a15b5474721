"""ROUGE-Lsum: summary-level LCS over sentence-split texts (rouge-score's ``rougeLsum``).

Texts are split into sentences on newlines (or by NLTK's ``sent_tokenize``
with ``split_summaries=True``, as rouge-score does), empty sentences dropped,
each sentence tokenized, and the union-LCS hits of every pair counted by the
C++ kernel ``text_lcs_summary_hits`` (see ``csrc/kernels/text_lcs_summary.hpp``).
``precision = hits / candidate tokens``, ``recall = hits / reference tokens``;
a side with no sentence or no token scores 0, as in rouge-score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from .._ragged import Ragged
from .tokenize import as_token_ids

__all__ = ["split_sentences", "lsum_from_ids"]


def split_sentences(texts: Sequence[Any], split_summaries: bool = False) -> tuple[list[str], np.ndarray]:
    """All sentences of all texts (flat) and int64 offsets: text i owns sentences ``off[i]:off[i+1]``."""
    sents: list[str] = []
    off = [0]
    if split_summaries:
        try:
            from nltk import sent_tokenize
        except ImportError:
            raise ImportError("split_summaries=True needs NLTK's sentence splitter: pip install nltk") from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] must be str, got {type(t).__name__}")
        parts = sent_tokenize(t) if split_summaries else t.split("\n")
        sents.extend(x for x in parts if len(x))
        off.append(len(sents))
    return sents, np.asarray(off, dtype=np.int64)


def lsum_from_ids(
    cand: Ragged, cand_off: np.ndarray, ref: Ragged, ref_off: np.ndarray, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, fmeasure) float64 arrays from sentence-level token ids.

    ``cand``/``ref`` hold one row of token ids per sentence; ``cand_off`` /
    ``ref_off`` group sentences into texts (CSR, one group per pair).
    """
    cv, cs = as_token_ids(cand, "candidates")
    rv, rs = as_token_ids(ref, "references")
    cand_off = np.ascontiguousarray(cand_off, dtype=np.int64)
    ref_off = np.ascontiguousarray(ref_off, dtype=np.int64)
    hits = _core.text_lcs_summary_hits(rv, rs, ref_off, cv, cs, cand_off, workers).astype(np.float64)
    n_c = (cs[cand_off[1:]] - cs[cand_off[:-1]]).astype(np.float64)
    n_r = (rs[ref_off[1:]] - rs[ref_off[:-1]]).astype(np.float64)
    p = np.zeros_like(hits)
    r = np.zeros_like(hits)
    np.divide(hits, n_c, out=p, where=n_c > 0)
    np.divide(hits, n_r, out=r, where=n_r > 0)
    s = p + r
    f = np.zeros_like(hits)
    np.divide(2 * p * r, s, out=f, where=s > 0)
    return p, r, f
