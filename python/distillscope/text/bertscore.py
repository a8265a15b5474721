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

__all__ = ["BertScoreResult", "bert_score", "bertscore_idf"]


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


def _weights(ids: np.ndarray, special: set[int], idf: dict[int, float] | None, m: int) -> np.ndarray:
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
    if special:
        w[np.isin(ids, np.fromiter(special, dtype=np.int64))] = 0.0
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

    cands = [str(t).strip() for t in _texts(as_text_list(candidates, "candidates"), "candidates")]
    refs = [str(t).strip() for t in _texts(as_text_list(references, "references"), "references")]
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
    special = {int(t) for t in encoder.encode_tokens([""], return_ids=True, special_tokens=True)[1].tolist()}
    c_rag, c_ids = encoder.encode_tokens(cands, return_ids=True, special_tokens=True, batch_size=batch_size)
    r_rag, r_ids = encoder.encode_tokens(refs, return_ids=True, special_tokens=True, batch_size=batch_size)
    table = bertscore_idf(r_ids, r_rag.offsets) if idf else None
    res = align_embeddings(
        c_rag.values,
        c_rag.offsets,
        r_rag.values,
        r_rag.offsets,
        cand_weights=_weights(c_ids, special, table, len(refs)),
        ref_weights=_weights(r_ids, special, table, len(refs)),
        workers=workers,
    )
    sig = f"bertscore|{encoder.signature}|idf:{'yes' if idf else 'no'}"
    p, r, f = (np.nan_to_num(x.astype(np.float64), nan=0.0) for x in (res.precision, res.recall, res.f1))
    return BertScoreResult(p, r, f, sig)


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
