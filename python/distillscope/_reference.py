"""Pure numpy / pure-Python oracles of every kernel, for tests.

Written for clarity, not speed: float64 throughout, one obvious loop per
definition. The kernels must agree with these to float32 rounding.
"""

from __future__ import annotations

import numpy as np


def _cos_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.sqrt((a * a).sum(axis=1))
    nb = np.sqrt((b * b).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ia = np.where(na == 0, 0.0, 1.0 / na)
        ib = np.where(nb == 0, 0.0, 1.0 / nb)
        ia = np.where(np.isnan(na), np.nan, ia)
        ib = np.where(np.isnan(nb), np.nan, ib)
        m = (a @ b.T) * ia[:, None] * ib[None, :]
    return np.clip(m, -1.0, 1.0)


def cosine_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = (a * b).sum(axis=1)
    na = (a * a).sum(axis=1)
    nb = (b * b).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = dot / (np.sqrt(na) * np.sqrt(nb))
    c = np.where((na == 0) | (nb == 0), 0.0, c)
    c = np.where(np.isnan(dot) | np.isnan(na) | np.isnan(nb), np.nan, c)
    return np.clip(c, -1.0, 1.0)


def reduce_similarity(sim: np.ndarray, reduce: str) -> float:
    """The grouped reductions on one na×nb cosine matrix."""
    if sim.size == 0:
        return float("nan")
    if reduce == "mean":
        return float(sim.mean())
    if reduce == "max":
        return float(sim.max())  # NaN propagates through np.max
    p = float(sim.max(axis=1).mean())
    r = float(sim.max(axis=0).mean())
    if reduce == "precision":
        return p
    if reduce == "recall":
        return r
    if reduce == "f1":
        if np.isnan(p) or np.isnan(r):
            return float("nan")
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)
    raise ValueError(reduce)


def cosine_grouped(a, a_offsets, b, b_offsets, reduce: str = "mean") -> np.ndarray:
    out = np.empty(len(a_offsets) - 1, dtype=np.float64)
    for g in range(len(out)):
        sa = a[a_offsets[g] : a_offsets[g + 1]]
        sb = b[b_offsets[g] : b_offsets[g + 1]]
        if len(sa) == 0 or len(sb) == 0:
            out[g] = np.nan
            continue
        out[g] = reduce_similarity(_cos_matrix(sa, sb), reduce)
    return out


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full cosine matrix (zero rows → 0, NaN rows → NaN)."""
    return _cos_matrix(a, b)


def cosine_topk(queries, corpus, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by cosine, ties by lower index, NaN last."""
    sim = _cos_matrix(queries, corpus)
    scores = np.empty((sim.shape[0], k))
    idx = np.empty((sim.shape[0], k), dtype=np.int64)
    for i, row in enumerate(sim):
        key = np.where(np.isnan(row), np.inf, -row)
        order = np.lexsort((np.arange(len(row)), key))[:k]
        scores[i] = row[order]
        idx[i] = order
    return scores, idx


# ---------------------------------------------------------------------------
# Embedding (issue 4): a float64 numpy BERT encoder, the oracle of the ONNX
# graphs that distillscope.onnx_builder writes.
# ---------------------------------------------------------------------------


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def bert_forward(tensors: dict, config: dict, input_ids, attention_mask, token_type_ids=None) -> np.ndarray:
    """last_hidden_state of a BertModel, float64, straight from the definition."""
    from math import erf, sqrt

    t = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items() if np.asarray(v).dtype.kind == "f"}
    ids = np.asarray(input_ids)
    mask = np.asarray(attention_mask)
    tt = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
    n_b, n_s = ids.shape
    hdim, heads, eps = config["hidden_size"], config["num_attention_heads"], config.get("layer_norm_eps", 1e-12)
    hd = hdim // heads
    x = t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n_s][None]
    x = x + t["embeddings.token_type_embeddings.weight"][tt]
    x = _layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    add_mask = np.where(mask[:, None, None, :] > 0, 0.0, -np.inf)
    gelu = np.vectorize(lambda v: 0.5 * v * (1.0 + erf(v / sqrt(2.0))))

    def lin(v, name):
        return v @ t[name + ".weight"].T + t[name + ".bias"]

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def heads_of(v):
            return v.reshape(n_b, n_s, heads, hd).transpose(0, 2, 1, 3)

        q = heads_of(lin(x, p + "attention.self.query"))
        k = heads_of(lin(x, p + "attention.self.key"))
        v = heads_of(lin(x, p + "attention.self.value"))
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + add_mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s = s / s.sum(axis=-1, keepdims=True)
        ctx = (s @ v).transpose(0, 2, 1, 3).reshape(n_b, n_s, hdim)
        x = _layer_norm(lin(ctx, p + "attention.output.dense") + x, t[p + "attention.output.LayerNorm.weight"],
                        t[p + "attention.output.LayerNorm.bias"], eps)
        hmid = gelu(lin(x, p + "intermediate.dense"))
        x = _layer_norm(lin(hmid, p + "output.dense") + x, t[p + "output.LayerNorm.weight"],
                        t[p + "output.LayerNorm.bias"], eps)
    return x


def mean_pool_normalize(hidden: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Masked mean over tokens, then L2 normalization (sentence-transformers)."""
    m = np.asarray(attention_mask, dtype=np.float64)[..., None]
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    norm = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norm, 1e-12)


# ---------------------------------------------------------------------------
# Alignment (issue 4): oracle of _core.align_grouped.
# ---------------------------------------------------------------------------


def align_pair(a, b, wa=None, wb=None, threshold: float = 0.5) -> dict:
    """Greedy P/R/F, monotone order score and coverage of one pair, float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na, nb = len(a), len(b)
    keys = ("precision", "recall", "f1", "order", "coverage")
    if na == 0 and nb == 0:
        return dict.fromkeys(keys, float("nan"))
    if na == 0 or nb == 0:
        return dict.fromkeys(keys, 0.0)
    s = _cos_matrix(a, b)
    if np.isnan(s).any():
        return dict.fromkeys(keys, float("nan"))
    wa = np.ones(na) if wa is None else np.asarray(wa, dtype=np.float64)
    wb = np.ones(nb) if wb is None else np.asarray(wb, dtype=np.float64)
    rmax, cmax = s.max(axis=1), s.max(axis=0)
    p = float((wa * rmax).sum() / wa.sum()) if wa.sum() > 0 else 0.0
    r = float((wb * cmax).sum() / wb.sum()) if wb.sum() > 0 else 0.0
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    cov = float(wb[cmax >= threshold].sum() / wb.sum()) if wb.sum() > 0 else 0.0
    m = np.zeros((na + 1, nb + 1))
    for i in range(1, na + 1):
        for j in range(1, nb + 1):
            gain = max(s[i - 1, j - 1], 0.0) * 0.5 * (wa[i - 1] + wb[j - 1])
            m[i, j] = max(m[i - 1, j], m[i, j - 1], m[i - 1, j - 1] + gain)
    denom = 0.5 * (wa.sum() + wb.sum())
    order = min(m[na, nb] / denom, 1.0) if denom > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f, "order": order, "coverage": cov}


def align_grouped(a, a_offsets, b, b_offsets, a_weights=None, b_weights=None, threshold: float = 0.5) -> dict:
    """align_pair over CSR groups; returns arrays keyed like AlignScores."""
    g = len(a_offsets) - 1
    out = {k: np.empty(g) for k in ("precision", "recall", "f1", "order", "coverage")}
    for i in range(g):
        sa, ea, sb, eb = a_offsets[i], a_offsets[i + 1], b_offsets[i], b_offsets[i + 1]
        res = align_pair(a[sa:ea], b[sb:eb], None if a_weights is None else a_weights[sa:ea],
                         None if b_weights is None else b_weights[sb:eb], threshold)
        for k, v in res.items():
            out[k][i] = v
    return out


def bertscore_numpy(cand_tokens: np.ndarray, ref_tokens: np.ndarray, cand_idf=None, ref_idf=None) -> tuple:
    """Straightforward BERTScore P, R, F of one pair from token embeddings."""
    c = cand_tokens / np.linalg.norm(cand_tokens, axis=1, keepdims=True)
    r = ref_tokens / np.linalg.norm(ref_tokens, axis=1, keepdims=True)
    sim = c.astype(np.float64) @ r.astype(np.float64).T
    wc = np.ones(len(c)) if cand_idf is None else np.asarray(cand_idf, dtype=np.float64)
    wr = np.ones(len(r)) if ref_idf is None else np.asarray(ref_idf, dtype=np.float64)
    p = (sim.max(axis=1) * wc).sum() / wc.sum()
    rec = (sim.max(axis=0) * wr).sum() / wr.sum()
    return p, rec, 2 * p * rec / (p + rec)
