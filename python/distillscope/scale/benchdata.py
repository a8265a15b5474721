"""Synthetic benchmark and test data: pair texts and embeddings with a known rewrite rate.

The generators here (:func:`make_pairs`, :func:`write_pairs`,
:func:`write_embeddings`) feed ``distillscope bench``,
``benchmarks/bench_million.py`` and the tests: Zipf-distributed words from a
synthetic vocabulary, 50-300 words per text, each reference a partly rewritten
copy of its candidate (per-pair rewrite rate uniform in [0, 1], so scores span
the whole range), and embeddings whose cosine follows the same rewrite rate.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["make_pairs", "write_pairs", "write_embeddings"]


def _vocabulary(size: int = 30000, seed: int = 12345) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(flat utf-8 bytes, start, length, Zipf CDF) of a synthetic vocabulary."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.rint(rng.gamma(3.0, 1.7, size)), 1, 14).astype(np.int64)
    letters = np.frombuffer(b"etaoinshrdlucmfwypvbgkjqxz", np.uint8)
    weights = np.array(
        [
            12.7,
            9.1,
            8.2,
            7.5,
            7.0,
            6.7,
            6.3,
            6.1,
            6.0,
            4.3,
            4.0,
            2.8,
            2.8,
            2.4,
            2.2,
            2.4,
            2.0,
            1.9,
            1.0,
            1.5,
            2.0,
            0.8,
            0.15,
            0.1,
            0.15,
            0.07,
        ]
    )
    flat = letters[rng.choice(len(letters), int(lengths.sum()), p=weights / weights.sum())]
    # one word in ten ends in a comma or full stop, as running text does
    punct = rng.random(size) < 0.1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pieces = []
    for s, ln, p in zip(starts.tolist(), lengths.tolist(), punct.tolist()):
        pieces.append(flat[s : s + ln].tobytes() + ((b"," if s % 2 else b".") if p else b""))
    lens = np.fromiter((len(p) for p in pieces), np.int64, size)
    flat_b = np.frombuffer(b"".join(pieces), np.uint8)
    st = np.concatenate([[0], np.cumsum(lens)[:-1]])
    ranks = np.arange(1, size + 1, dtype=np.float64)
    cdf = np.cumsum(1.0 / ranks**1.1)
    cdf /= cdf[-1]
    return flat_b, st, lens, cdf


_VOCAB: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


def _join(tokens: np.ndarray, row_lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of word ids -> (utf-8 bytes, int64 row offsets), words separated by one space."""
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = _vocabulary()
    flat, vstart, vlen, _ = _VOCAB
    wl = vlen[tokens]
    sep = np.ones(len(tokens), np.int64)
    ends_tok = np.cumsum(row_lens)
    sep[ends_tok[row_lens > 0] - 1] = 0
    tot = wl + sep
    ends = np.cumsum(tot)
    begin = ends - tot
    out = np.full(int(ends[-1]) if len(ends) else 0, 32, np.uint8)
    total_word = int(wl.sum())
    k = np.arange(total_word, dtype=np.int64) - np.repeat(np.cumsum(wl) - wl, wl)
    out[np.repeat(begin, wl) + k] = flat[np.repeat(vstart[tokens], wl) + k]
    first = ends_tok - row_lens
    row_off = np.zeros(len(row_lens) + 1, np.int64)
    row_off[1:] = np.where(row_lens > 0, ends[np.maximum(ends_tok - 1, 0)], 0)
    # empty rows (none with the default lengths) take the previous end
    row_off[1:] = np.maximum.accumulate(row_off[1:])
    row_off[:-1][row_lens > 0] = begin[first[row_lens > 0]]
    return out, row_off


def _strings(data: np.ndarray, offsets: np.ndarray) -> Any:
    import pyarrow as pa

    n = len(offsets) - 1
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _pair_tokens(n: int, rng: np.random.Generator, min_words: int, max_words: int) -> tuple[Any, ...]:
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = _vocabulary()
    cdf = _VOCAB[3]
    la = rng.integers(min_words, max_words + 1, n)
    lb = rng.integers(min_words, max_words + 1, n)
    rate = rng.random(n)  # per pair: share of reference words rewritten
    a = np.searchsorted(cdf, rng.random(int(la.sum())))
    b = np.searchsorted(cdf, rng.random(int(lb.sum())))
    ao = np.concatenate([[0], np.cumsum(la)[:-1]])
    bo = np.concatenate([[0], np.cumsum(lb)[:-1]])
    pair = np.repeat(np.arange(n), lb)
    pos = np.arange(len(b)) - bo[pair]
    copy = (pos < la[pair]) & (rng.random(len(b)) >= rate[pair])
    b[copy] = a[ao[pair[copy]] + pos[copy]]
    return a, la, b, lb, rate


def make_pairs(n: int, *, min_words: int = 50, max_words: int = 300, seed: int = 0) -> Any:
    """A ``pyarrow.Table`` of ``n`` generated pairs: ``id``, ``candidate``, ``reference``, ``rate``."""
    import pyarrow as pa

    if n < 0 or min_words < 1 or max_words < min_words:
        raise ValueError(f"need n >= 0 and 1 <= min_words <= max_words; got {n}, {min_words}, {max_words}")
    rng = np.random.default_rng(seed)
    a, la, b, lb, rate = _pair_tokens(n, rng, min_words, max_words)
    ca = _strings(*_join(a, la))
    cb = _strings(*_join(b, lb))
    return pa.table({"id": np.arange(n, dtype=np.int64), "candidate": ca, "reference": cb, "rate": rate})


def write_pairs(
    path: str | os.PathLike[str],
    n: int,
    *,
    min_words: int = 50,
    max_words: int = 300,
    seed: int = 0,
    chunk: int = 20000,
) -> np.ndarray:
    """Write ``n`` generated pairs to ``path`` (``.parquet`` or ``.jsonl``), chunk by chunk.

    Returns the per-pair rewrite rates (feed them to :func:`write_embeddings`).
    """
    import pyarrow.parquet as pq

    path = Path(path)
    rates = []
    writer = None
    dumps = _dumps()
    try:
        jsonl = path.name.endswith((".jsonl", ".ndjson"))
        fh = open(path, "wb") if jsonl else None
        for i, start in enumerate(range(0, max(n, 1), chunk)):
            m = min(chunk, n - start)
            if m <= 0:
                break
            tbl = make_pairs(m, min_words=min_words, max_words=max_words, seed=seed * 1_000_003 + i)
            tbl = tbl.set_column(0, "id", [np.arange(start, start + m, dtype=np.int64)])
            rates.append(tbl.column("rate").to_numpy())
            if fh is not None:
                ids = tbl.column("id").to_pylist()
                cs = tbl.column("candidate").to_pylist()
                rs = tbl.column("reference").to_pylist()
                fh.write(
                    b"".join(dumps({"id": k, "candidate": c, "reference": r}) + b"\n" for k, c, r in zip(ids, cs, rs))
                )
            else:
                tbl = tbl.drop_columns(["rate"])
                if writer is None:
                    writer = pq.ParquetWriter(path, tbl.schema)
                writer.write_table(tbl)
        if fh is not None:
            fh.close()
        elif writer is None:
            tbl = make_pairs(0).drop_columns(["rate"])
            pq.write_table(tbl, path)
    finally:
        if writer is not None:
            writer.close()
    return np.concatenate(rates) if rates else np.zeros(0)


def _dumps() -> Callable[[Any], bytes]:
    try:
        import orjson

        return orjson.dumps
    except ImportError:  # pragma: no cover
        return lambda o: json.dumps(o, ensure_ascii=False).encode()


def write_embeddings(
    path_a: str | os.PathLike[str],
    path_b: str | os.PathLike[str],
    rates: np.ndarray,
    *,
    dim: int = 384,
    seed: int = 1,
    chunk: int = 65536,
    dtype: Any = np.float32,
) -> None:
    """Unit-norm embedding rows for both sides; pair ``i``'s cosine is about ``1 - rates[i]``."""
    n = len(rates)
    fa = np.lib.format.open_memmap(path_a, mode="w+", dtype=dtype, shape=(n, dim))
    fb = np.lib.format.open_memmap(path_b, mode="w+", dtype=dtype, shape=(n, dim))
    rng = np.random.default_rng(seed)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        x = rng.standard_normal((e - s, dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        z = rng.standard_normal((e - s, dim), dtype=np.float32)
        z -= (z * x).sum(1, keepdims=True) * x
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        c = (1.0 - rates[s:e]).astype(np.float32)[:, None]
        fa[s:e] = x
        fb[s:e] = c * x + np.sqrt(1 - c * c) * z
    fa.flush()
    fb.flush()
    del fa, fb
