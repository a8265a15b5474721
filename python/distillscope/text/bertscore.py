"""BERTScore on the ONNX encoder: greedy cosine matching of contextual token states.

Definition (Zhang et al., 2020, as the bert-score package computes it):

* each text is ``strip()``-ed and tokenized with its special tokens
  ([CLS] ... [SEP]), truncated to the model's position limit;
* token states are the hidden states after transformer layer ``layer``
  (``num_layers`` in bert-score; the graph truncated there is built once);
* with S the cosine matrix of candidate × reference tokens,
  ``P = Σᵢ wᵢ maxⱼ Sᵢⱼ / Σᵢ wᵢ`` over candidate tokens,
  ``R = Σⱼ wⱼ maxᵢ Sᵢⱼ / Σⱼ wⱼ`` over reference tokens, ``F = 2PR/(P+R)``;
* weights: 1 for every token (``idf=False``) or
  ``idf(t) = log((M + 1) / (df(t) + 1))`` with df counted over the M
  reference texts (each text's set of token ids); special tokens weigh 0
  (they take no part as queries, but stay in S as possible matches, as in
  bert-score).

The matching runs in the native grouped alignment kernel
(:func:`distillscope.text.align.align_embeddings`, float32, GIL released).

Known differences from bert-score: a text with no ordinary token (empty
after ``strip()``) scores P = R = F = 0 here (bert-score gives NaN P or R
and F = 0 with a warning); bert-score multiplies padded cosines by 0 before
taking maxima, so a token whose every cosine is negative gets 0 there but
its true maximum here (contextual states of one model are practically never
all negatively correlated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .align import align_embeddings

__all__ = ["BertScoreResult", "TokenStates", "bert_score", "bertscore_idf"]


@dataclass(frozen=True)
class BertScoreResult:
    """Per-pair BERTScore (float64 arrays) and its reproducibility signature."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    signature: str


def bertscore_idf(ref_ids: np.ndarray, ref_offsets: np.ndarray) -> dict[int, float]:
    """idf of every token id seen in the references: log((M+1)/(df+1)); unseen ids get log(M+1)."""
    m = len(ref_offsets) - 1
    df: dict[int, int] = {}
    for i in range(m):
        for t in np.unique(ref_ids[ref_offsets[i] : ref_offsets[i + 1]]).tolist():
            df[t] = df.get(t, 0) + 1
    return {t: math.log((m + 1) / (c + 1)) for t, c in df.items()}


def _weights(ids: np.ndarray, special: np.ndarray, idf: dict[int, float] | None, m: int) -> np.ndarray:
    if idf is None:
        w = np.ones(ids.shape[0], dtype=np.float32)
    else:
        unseen = math.log(m + 1)
        uniq, inv = np.unique(ids, return_inverse=True)
        w = (
            np.array([idf.get(int(t), unseen) for t in uniq.tolist()], dtype=np.float32)[inv]
            if ids.size
            else np.zeros(0, dtype=np.float32)
        )
    if special.size:
        w[np.isin(ids, special)] = 0.0
    return np.ascontiguousarray(w, dtype=np.float32)


def bert_score(
    candidates: Sequence[str],
    references: Sequence[str],
    *,
    model: Any = None,
    layer: int | None = None,
    idf: bool = False,
    batch_size: int = 64,
    threads: int | None = None,
    workers: int = 1,
    encoder: Any = None,
    precision: str = "fp32",
) -> BertScoreResult:
    """BERTScore P, R, F of ``candidates[i]`` against ``references[i]`` (see the module doc).

    ``model`` is anything :class:`~distillscope.Encoder` resolves (default
    all-MiniLM-L6-v2); ``layer`` picks the hidden states after that layer
    (default: the last). Or pass a ready ``encoder`` (its layer is used).
    ``threads`` are onnxruntime's, ``workers`` the matching kernel's.
    ``precision`` is the encoder's: ``"fp32"`` (default) gives bert-score's
    values (|ΔF| ~1e-7 on all-MiniLM-L6-v2); ``"int8"`` or ``"auto"`` run
    faster where the CPU has int8 dot products but move F by up to ~0.02
    (measured on AlpacaEval answers), so their scores are not comparable with
    published BERTScores. A ready ``encoder`` keeps its own precision.
    """
    from ..embed.encoder import Encoder
    from .tokenize import as_text_list

    cands = [str(t) for t in _texts(as_text_list(candidates, "candidates"), "candidates")]
    refs = [str(t) for t in _texts(as_text_list(references, "references"), "references")]
    if len(cands) != len(refs):
        raise ValueError(f"candidates and references must have the same length; got {len(cands)} and {len(refs)}")
    if encoder is None:
        encoder = Encoder(
            model,
            layer=layer,
            cache=None,
            threads=threads,
            max_length=_position_limit(model),
            precision=precision,
        )
    c_states = TokenStates(encoder, cands, batch_size=batch_size)
    r_states = TokenStates(encoder, refs, batch_size=batch_size)
    if idf:
        table = bertscore_idf(r_states.ids, r_states.offsets)
        c_states.reweight(table, len(refs))
        r_states.reweight(table, len(refs))
    rows = np.arange(len(cands), dtype=np.int64)
    p, r, f = c_states.score(rows, r_states, rows, workers=workers)
    sig = f"bertscore|{encoder.signature}|idf:{'yes' if idf else 'no'}"
    return BertScoreResult(p, r, f, sig)


class TokenStates:
    """BERTScore's view of a list of texts: token states of each distinct text, encoded once.

    Each text is ``strip()``-ed and run through ``encoder.encode_tokens``
    with its special tokens (which stay as possible matches, weight 0), so
    ``a.score(i, b, j)`` is exactly :func:`bert_score` of ``a``'s texts
    ``i`` against ``b``'s texts ``j``. Memory: float32 [total tokens, D] of
    the distinct texts (≈ 1.5 kB per token at D = 384), held while the
    object lives.
    """

    def __init__(self, encoder: Any, texts: Sequence[str], *, batch_size: int | None = None) -> None:
        index: dict[str, int] = {}
        self.rows = np.fromiter(
            (index.setdefault(str(t).strip(), len(index)) for t in texts), dtype=np.int64, count=len(texts)
        )
        rag, ids = encoder.encode_tokens(list(index), return_ids=True, special_tokens=True, batch_size=batch_size)
        self.values = np.ascontiguousarray(rag.values, dtype=np.float32)
        self.offsets = np.asarray(rag.offsets, dtype=np.int64)  # per distinct text
        self.ids = ids
        self.special = np.fromiter(
            {int(t) for t in encoder.encode_tokens([""], return_ids=True, special_tokens=True)[1].tolist()},
            dtype=np.int64,
        )
        self.weights = _weights(ids, self.special, None, 0)

    def reweight(self, idf: dict[int, float], m: int) -> None:
        """Use idf weights (see :func:`bertscore_idf`; ``m`` reference texts) instead of 1."""
        self.weights = _weights(self.ids, self.special, idf, m)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token states, CSR offsets and weights of input texts ``rows`` (in order)."""
        d = self.rows[np.asarray(rows, dtype=np.int64)]
        cnt = self.offsets[d + 1] - self.offsets[d]
        off = np.zeros(len(d) + 1, dtype=np.int64)
        np.cumsum(cnt, out=off[1:])
        idx = np.repeat(self.offsets[d] - off[:-1], cnt) + np.arange(int(off[-1]), dtype=np.int64)
        return np.ascontiguousarray(self.values[idx]), off, np.ascontiguousarray(self.weights[idx])

    def score(
        self,
        rows: np.ndarray,
        other: TokenStates,
        other_rows: np.ndarray,
        *,
        workers: int = 1,
        max_tokens: int = 1 << 15,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 P, R, F of texts ``rows`` (candidates) against ``other``'s ``other_rows`` (references).

        Pairs are gathered in blocks of about ``max_tokens`` token rows per
        side (bounds memory; never changes results). A text with no
        ordinary token scores 0.
        """
        rows = np.asarray(rows, dtype=np.int64)
        other_rows = np.asarray(other_rows, dtype=np.int64)
        n = len(rows)
        out = np.zeros((3, n), dtype=np.float64)
        size = np.maximum(np.diff(self.offsets)[self.rows[rows]], np.diff(other.offsets)[other.rows[other_rows]])
        ends = np.cumsum(size)
        lo = 0
        while lo < n:
            base = int(ends[lo - 1]) if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, base + max_tokens, side="right")))
            va, oa, wa = self.gather(rows[lo:hi])
            vb, ob, wb = other.gather(other_rows[lo:hi])
            res = align_embeddings(va, oa, vb, ob, cand_weights=wa, ref_weights=wb, workers=workers)
            for k, x in enumerate((res.precision, res.recall, res.f1)):
                out[k, lo:hi] = np.nan_to_num(x.astype(np.float64), nan=0.0)
            lo = hi
        return out[0], out[1], out[2]


def _texts(x: Any, name: str) -> Any:
    if isinstance(x, str):
        raise TypeError(f"{name} must be a list of str, not a single str; wrap it: [{name}]")
    return x


def _position_limit(model: Any) -> int | None:
    """bert-score truncates at the tokenizer's limit (512 for BERT), not sentence-transformers' 256."""
    import json

    from ..embed.models import resolve_model

    cfg = resolve_model(model).directory / "config.json"
    try:
        return min(512, int(json.loads(cfg.read_text(encoding="utf-8")).get("max_position_embeddings", 512)))
    except (OSError, ValueError):
        return None
