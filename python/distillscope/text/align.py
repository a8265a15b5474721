"""Multi-granularity alignment of candidate answers against references.

Two layers:

* :func:`align_embeddings` — the native kernel over CSR groups of
  embeddings (one group per pair): greedy precision / recall / F
  (BERTScore-style, optional weights such as idf), an order-aware monotone
  alignment score, and coverage. One call per batch, GIL released.
* :func:`align_scores` — texts in, scores out: segments both sides into
  sentences or paragraphs (:func:`distillscope.segment`) or takes contextual
  token vectors (``level="token"``), embeds every distinct unit once with an
  :class:`~distillscope.Encoder` (cached), and runs the kernel on the batch.

Score definitions (per pair; S = cosine matrix of candidate units × reference
units, weights w default to 1):

* ``precision`` = Σᵢ wᵢ maxⱼ Sᵢⱼ / Σᵢ wᵢ; ``recall`` likewise over reference
  units; ``f1`` = 2PR/(P+R) (0 when P and R differ in sign).
* ``order``: the best alignment whose matches do not cross (dynamic
  programming, gain max(Sᵢⱼ, 0)·(wᵢ+wⱼ)/2), divided by (Σw_cand+Σw_ref)/2.
  It equals f1-like agreement when the answer presents the same points in
  the same order, and drops when the points are reordered (greedy f1 does
  not). Identical answers score 1.
* ``coverage``: share (weighted) of reference units whose best candidate
  match has cosine ≥ ``threshold``.

Degenerate pairs: both sides empty → NaN; one side empty → 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .. import _core
from ..kernels import as_float32, as_offsets, check_2d, check_workers

__all__ = ["AlignScores", "align_embeddings", "align_scores", "idf_weights"]

AlignLevel = Literal["sentence", "paragraph", "token"]


@dataclass(frozen=True)
class AlignScores:
    """Per-pair alignment scores (float32 arrays of length n_pairs)."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    order: np.ndarray
    coverage: np.ndarray
    signature: str = field(default="")

    def __len__(self) -> int:
        return int(self.f1.shape[0])

    def as_dict(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("precision", "recall", "f1", "order", "coverage")}


def _as_weights(w, n: int, name: str) -> np.ndarray | None:
    if w is None:
        return None
    w = np.ascontiguousarray(np.asarray(w, dtype=np.float32))
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must be 1-D with one weight per row ({n}), got shape {w.shape}")
    if w.size and (not np.isfinite(w).all() or (w < 0).any()):
        raise ValueError(f"{name} must be finite and >= 0 (e.g. idf weights); clip or fill the bad entries")
    return w


def align_embeddings(
    cand,
    cand_offsets,
    ref,
    ref_offsets,
    *,
    cand_weights=None,
    ref_weights=None,
    threshold: float = 0.5,
    workers: int = 1,
    signature: str = "",
) -> AlignScores:
    """Alignment scores of each CSR group of ``cand`` rows against its ``ref`` rows.

    ``cand`` float32[Nc, D], ``cand_offsets`` int64[G+1]; ``ref`` float32[Nr,
    D], ``ref_offsets`` int64[G+1]. Rows need not be normalized (cosine is
    taken). Optional per-row weights (e.g. idf) must be finite and >= 0.
    """
    a = as_float32(cand, "cand", allow_f16=False)
    b = as_float32(ref, "ref", allow_f16=False)
    check_2d(a, "cand")
    check_2d(b, "ref")
    if not isinstance(threshold, (int, float, np.floating)) or isinstance(threshold, bool) or math.isnan(threshold):
        raise TypeError(f"threshold must be a number in [-1, 1], got {threshold!r}")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {threshold!r}")
    p, r, f, o, c = _core.align_grouped(
        a,
        as_offsets(cand_offsets, "cand_offsets"),
        b,
        as_offsets(ref_offsets, "ref_offsets"),
        a_weights=_as_weights(cand_weights, a.shape[0], "cand_weights"),
        b_weights=_as_weights(ref_weights, b.shape[0], "ref_weights"),
        threshold=float(threshold),
        workers=check_workers(workers),
    )
    return AlignScores(p, r, f, o, c, signature)


def idf_weights(token_ids: np.ndarray, offsets: np.ndarray, reference_docs: Sequence[np.ndarray]) -> np.ndarray:
    """idf weight of each token: log((M + 1) / (df + 1)), df counted over ``reference_docs``.

    (The BERTScore definition, M = number of reference documents.)
    """
    df: dict[int, int] = {}
    for doc in reference_docs:
        for t in np.unique(doc).tolist():
            df[t] = df.get(t, 0) + 1
    m = len(reference_docs)
    ids = np.asarray(token_ids, dtype=np.int64)
    uniq, inv = np.unique(ids, return_inverse=True)
    w = np.array([math.log((m + 1) / (df.get(int(t), 0) + 1)) for t in uniq.tolist()], dtype=np.float32)
    return w[inv] if ids.size else np.zeros(0, dtype=np.float32)


_DEFAULT_ENCODER = None


def _default_encoder():
    global _DEFAULT_ENCODER
    if _DEFAULT_ENCODER is None:
        from ..embed.encoder import Encoder

        _DEFAULT_ENCODER = Encoder()
    return _DEFAULT_ENCODER


def _check_texts(x, name: str) -> list[str]:
    if isinstance(x, str):
        raise TypeError(f"{name} must be a list of strings (one per pair), got a single str; wrap it in a list")
    x = list(x)
    for i, t in enumerate(x):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is {type(t).__name__}, not str")
    return x


def align_scores(
    cand_texts: Sequence[str],
    ref_texts: Sequence[str],
    *,
    level: AlignLevel = "sentence",
    encoder=None,
    idf: bool = False,
    threshold: float = 0.5,
    workers: int = 1,
) -> AlignScores:
    """Align ``cand_texts[i]`` with ``ref_texts[i]`` for every pair, in one batch.

    ``level``: ``"sentence"`` / ``"paragraph"`` (units from
    :func:`distillscope.segment`, each embedded once per batch and cached) or
    ``"token"`` (contextual token vectors from ``encoder.encode_tokens``:
    BERTScore; ``idf=True`` weights tokens by idf over ``ref_texts``).
    ``encoder`` defaults to ``Encoder()`` (all-MiniLM-L6-v2).
    """
    cands = _check_texts(cand_texts, "cand_texts")
    refs = _check_texts(ref_texts, "ref_texts")
    if len(cands) != len(refs):
        raise ValueError(f"cand_texts and ref_texts must pair up: got {len(cands)} and {len(refs)} texts")
    if level not in ("sentence", "paragraph", "token"):
        raise ValueError(f"level must be 'sentence', 'paragraph' or 'token', got {level!r}")
    if idf and level != "token":
        raise ValueError("idf weights apply to level='token' only")
    enc = encoder if encoder is not None else _default_encoder()
    sig = f"align:{level}|idf={idf}|thr={threshold}|{getattr(enc, 'signature', type(enc).__name__)}"
    if level == "token":
        toks, ids = enc.encode_tokens(cands + refs, return_ids=True)
        n = len(cands)
        off = toks.offsets
        split = int(off[n])
        c_vals, r_vals = toks.values[:split], toks.values[split:]
        c_off, r_off = off[: n + 1], off[n:] - off[n]
        cw = rw = None
        if idf:
            ref_docs = [ids[off[n + i] : off[n + i + 1]] for i in range(n)]
            cw = idf_weights(ids[:split], c_off, ref_docs)
            rw = idf_weights(ids[split:], r_off, ref_docs)
        return align_embeddings(
            c_vals,
            c_off,
            r_vals,
            r_off,
            cand_weights=cw,
            ref_weights=rw,
            threshold=threshold,
            workers=workers,
            signature=sig,
        )

    from .segment import segment

    spans_c = segment(cands, level)
    spans_r = segment(refs, level)
    units: dict[str, int] = {}

    def unit_rows(texts: list[str], spans) -> np.ndarray:
        rows = np.empty(len(spans.values), dtype=np.int64)
        k = 0
        for i, t in enumerate(texts):
            for a, b in spans.values[spans.offsets[i] : spans.offsets[i + 1]].tolist():
                rows[k] = units.setdefault(t[a:b], len(units))
                k += 1
        return rows

    rc = unit_rows(cands, spans_c)
    rr = unit_rows(refs, spans_r)
    emb = enc.encode(list(units)) if units else np.zeros((0, 1), dtype=np.float32)
    dim = emb.shape[1]
    cv = emb[rc] if rc.size else np.zeros((0, dim), dtype=np.float32)
    rv = emb[rr] if rr.size else np.zeros((0, dim), dtype=np.float32)
    return align_embeddings(
        cv, spans_c.offsets, rv, spans_r.offsets, threshold=threshold, workers=workers, signature=sig
    )
