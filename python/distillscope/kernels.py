"""Public numpy API over the compiled dense kernels.

Every function takes whole batches (numpy in, numpy out), validates shapes
and dtypes here or in the bindings, and releases the GIL inside ``_core`` for
the whole batch. ``workers`` is keyword-only: 1 by default, -1 for all cores;
results are bit-identical for any worker count and any split of the batch.

Dtype policy: float32 everywhere; float16 is accepted by ``cosine_paired``
(converted in registers, never copied) and converted once to float32 by the
other kernels. float64 (what numpy, pandas and scikit-learn produce by
default) is converted to float32 once per call (by :func:`cos_sim` once per
tile of ``a`` rows), so results carry float32 precision (~1e-7 relative).
Any other dtype raises ``TypeError`` with the fix (``x.astype(np.float32)``). Non-contiguous arrays are copied once with
``np.ascontiguousarray``. Lists and other array-likes are converted with
``np.asarray(x, dtype=np.float32)``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from . import _core

__all__ = [
    "capabilities",
    "set_isa",
    "force_isa",
    "cosine_paired",
    "cosine_grouped",
    "cosine_topk",
    "l2_normalize",
    "cos_sim",
    "CosineIndex",
]

_ISA_LEVELS = ("scalar", "avx2", "avx512")
_env_isa = os.environ.get("DISTILLSCOPE_ISA", "")
if _env_isa and _env_isa not in _ISA_LEVELS:
    warnings.warn(
        f"DISTILLSCOPE_ISA={_env_isa!r} is not one of {_ISA_LEVELS}; ignored",
        RuntimeWarning,
        stacklevel=2,
    )

_isa_lock = threading.Lock()


def capabilities() -> dict:
    """Which SIMD path runs, which the CPU supports, and the optional engines.

    ``isa`` is the path the kernels use now (the best the CPU has, capped by
    ``DISTILLSCOPE_ISA`` or :func:`set_isa`); ``available`` lists every path
    that can be forced on this CPU.
    """
    detected = _core.detected_isa()
    try:
        import faiss  # noqa: F401

        faiss_version = getattr(faiss, "__version__", "unknown")
    except Exception:  # pragma: no cover - faiss is a dependency
        faiss_version = None
    return {
        "isa": _core.active_isa(),
        "detected": detected,
        "available": list(_ISA_LEVELS[: _ISA_LEVELS.index(detected) + 1]),
        "hardware_threads": os.cpu_count() or 1,
        "faiss": faiss_version,
        "version": _core.__version__,
    }


def set_isa(isa: str) -> str:
    """Cap the SIMD level used from now on (``scalar``, ``avx2``, ``avx512``).

    Returns the previous active level. Asking for a level the CPU lacks raises
    ``ValueError``; capping at ``avx512`` restores the best available.
    """
    if isa not in _ISA_LEVELS:
        raise ValueError(f"isa must be one of {_ISA_LEVELS}, got {isa!r}")
    with _isa_lock:
        prev = _core.active_isa()
        if isa == "avx512":
            _core.set_isa_cap(_core.detected_isa())
        else:
            _core.set_isa_cap(isa)
    return prev


@contextlib.contextmanager
def force_isa(isa: str) -> Iterator[str]:
    """Context manager: run the block on ``isa`` (tests use it to cover every path)."""
    prev = set_isa(isa)
    try:
        yield _core.active_isa()
    finally:
        set_isa(prev)


def as_float32(x, name: str, *, allow_f16: bool) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        if x is None:
            raise TypeError(f"{name} must be a numpy array, got None")
        try:
            x = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(f"{name} must be a float32 array-like: {exc}") from None
    if x.dtype == np.float64 or (x.dtype == np.float16 and not allow_f16):
        x = x.astype(np.float32)
    elif x.dtype not in (np.float32, np.float16):
        raise TypeError(
            f"{name} has dtype {x.dtype}; distillscope kernels take float32, float64"
            f"{' or float16' if allow_f16 else ''}: pass {name}.astype(np.float32)"
        )
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
    return x


def check_2d(x: np.ndarray, name: str) -> None:
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, dim), got shape {x.shape}")


def as_offsets(off, name: str) -> np.ndarray:
    if off is None:
        raise TypeError(f"{name} must be an int64 array of length G+1, got None")
    off = np.asarray(off)
    if off.size == 0 and off.dtype == np.float64:  # np.asarray([]) is float64
        off = off.astype(np.int64)
    if off.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array (int64), got dtype {off.dtype}")
    if off.ndim != 1:
        raise ValueError(f"{name} must be 1-D of length G+1, got shape {off.shape}")
    if off.dtype != np.int64:
        if off.dtype == np.uint64 and off.size and off.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name} has values beyond int64")
        off = off.astype(np.int64)
    return np.ascontiguousarray(off)


def check_int(value: Any, name: str, lo: int, hi: int | None = None, hint: str = "") -> int:
    """``value`` as an int in [lo, hi]; Python and numpy ints only (no bools, no floats)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}{hint}")
    v = int(value)
    if v < lo or (hi is not None and v > hi):
        bound = f">= {lo}" if hi is None else f"between {lo} and {hi}"
        raise ValueError(f"{name} must be {bound}, got {v}{hint}")
    return v


MAX_WORKERS = 4096


def check_workers(workers: Any) -> int:
    """``workers`` as an int: -1 (all cores) or 1..MAX_WORKERS threads."""
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be an int (>= 1, or -1 for all cores), got {type(workers).__name__}")
    w = int(workers)
    if w != -1 and w < 1:
        raise ValueError(f"workers must be >= 1, or -1 for all cores; got {w}")
    if w > MAX_WORKERS:
        raise ValueError(f"workers must be at most {MAX_WORKERS} (or -1 for all cores); got {w}")
    return w


def cosine_paired(a, b, *, workers: int = 1) -> np.ndarray:
    """Cosine similarity of row ``i`` of ``a`` with row ``i`` of ``b``.

    ``a`` and ``b`` are (N, D) float32 or float16 arrays of the same shape and
    dtype. One pass over both inputs, no temporaries. A zero row gives 0.0;
    a NaN in either row gives NaN; results are clamped to [-1, 1].
    Returns float32[N].
    """
    a = as_float32(a, "a", allow_f16=True)
    b = as_float32(b, "b", allow_f16=True)
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.ndim != 2 or b.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"a and b must be 2-D arrays of the same shape (N, D); got {a.shape} and {b.shape}")
    return _core.cosine_paired(a, b, workers=check_workers(workers))


Reduce = Literal["mean", "max", "precision", "recall", "f1", "matched"]
_REDUCES = ("mean", "max", "precision", "recall", "f1", "matched")


def cosine_grouped(a, a_offsets, b, b_offsets, *, reduce: Reduce = "mean", workers: int = 1) -> np.ndarray:
    """All rows of ``a`` in group g against all rows of ``b`` in group g, reduced.

    Groups are CSR offsets (int64, length G+1, starting at 0, non-decreasing,
    ending at the row count). ``reduce``:

    * ``mean`` — mean of the na×nb cosines;
    * ``max`` — the largest cosine;
    * ``precision`` — mean over a-rows of their best b-match (BERTScore P,
      with ``a`` the candidate);
    * ``recall`` — mean over b-rows of their best a-match;
    * ``f1`` — 2PR/(P+R) when P and R have the same sign, else 0 (with
      opposite signs P+R can be ~0, where the plain formula explodes);
    * ``matched`` — (P + R) / 2, the arithmetic mean of ``precision`` and
      ``recall``: every sample scored against its closest sample on the other
      side, both ways. One pass over each block, about half the time of two
      calls; equal to ``0.5 * (precision + recall)`` up to float32 rounding
      (the mean is taken in double before the cast).

    Zero rows have cosine 0.0 with everything; a group with no rows on either
    side gives NaN (nothing to compare); NaN rows propagate. Returns float32[G].
    """
    a = as_float32(a, "a", allow_f16=False)
    b = as_float32(b, "b", allow_f16=False)
    check_2d(a, "a")
    check_2d(b, "b")
    if not isinstance(reduce, str) or reduce not in _REDUCES:
        raise ValueError(f"reduce must be one of {_REDUCES}; got {reduce!r}")
    return _core.cosine_grouped(
        a,
        as_offsets(a_offsets, "a_offsets"),
        b,
        as_offsets(b_offsets, "b_offsets"),
        reduce=reduce,
        workers=check_workers(workers),
    )


def l2_normalize(x, *, workers: int = 1) -> np.ndarray:
    """Row-wise L2-normalized float32 copy of ``x``.

    Zero rows stay zero; NaN rows become NaN; a row holding an infinity gives
    NaN there and 0 elsewhere (x / inf). Rows whose squared norm leaves
    float32's safe range (a norm below ~1e-15 or above ~1e15) are scaled in double, so they come out with unit norm like any other.
    """
    x = as_float32(x, "x", allow_f16=False)
    check_2d(x, "x")
    return _core.l2_normalize(x, workers=check_workers(workers))


_COS_SIM_TILE_BYTES = 32 << 20


def cos_sim(a, b, *, out: np.ndarray | None = None, workers: int = 1) -> np.ndarray:
    """The full cosine matrix of the rows of ``a`` against the rows of ``b``.

    Like sentence-transformers' ``util.cos_sim``: ``a`` (N, D) or (D,), ``b``
    (M, D) or (D,), result float32 (N, M) (a 1-D input counts as one row).
    ``b`` is normalized once; ``a`` is taken in tiles of rows (about 32 MiB
    of float32 each), each tile converted and normalized, then multiplied
    straight into its rows of the output (BLAS sgemm), so no N x M
    temporary exists besides the result. Pass ``out`` (float32, C-contiguous,
    shape (N, M)) to fill an existing buffer, e.g. a ``np.memmap`` for
    matrices larger than memory. Zero rows give 0; results are clipped to
    [-1, 1]. For the k best matches per row without the full matrix, use
    :func:`cosine_topk`.
    """
    a = np.asarray(a) if not isinstance(a, np.ndarray) else a
    b = np.asarray(b) if not isinstance(b, np.ndarray) else b
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[None, :] if b.ndim == 1 else b
    check_2d(a2, "a")
    check_2d(b2, "b")
    if a2.shape[1] != b2.shape[1]:
        raise ValueError(f"a and b must have the same number of columns; got {a2.shape} and {b2.shape}")
    bn = l2_normalize(as_float32(b2, "b", allow_f16=False), workers=workers)
    n, m = a2.shape[0], bn.shape[0]
    if out is None:
        out = np.empty((n, m), dtype=np.float32)
    elif (
        not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != (n, m) or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous float32 array of shape {(n, m)}")
    row_bytes = 4 * max(a2.shape[1], m, 1)
    step = max(1, _COS_SIM_TILE_BYTES // row_bytes)
    for i in range(0, n, step):
        tile = l2_normalize(as_float32(a2[i : i + step], "a", allow_f16=False), workers=workers)
        np.matmul(tile, bn.T, out=out[i : i + step])
        np.clip(out[i : i + step], -1.0, 1.0, out=out[i : i + step])
    return out


# Below this many multiply-adds per call the native blocked kernel wins
# (no index build, no BLAS start-up, no normalized copies); above it faiss's
# BLAS sgemm + heap wins. Measured in benchmarks/bench_dense.py.
_NATIVE_TOPK_MAX_WORK = 1 << 26
Method = Literal["auto", "native", "faiss", "hnsw"]
_METHODS = ("auto", "native", "faiss", "hnsw")


def cosine_topk(
    queries,
    corpus,
    k: int,
    *,
    method: Method = "auto",
    workers: int = 1,
    m: int = 32,
    ef_search: int = 128,
    ef_construction: int = 40,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` corpus rows by cosine for every query, best first.

    Returns ``(scores float32[Q, k], indices int64[Q, k])``. The full Q×N
    similarity matrix is never materialized. Every index is a valid corpus
    row (never faiss's ``-1``); a NaN score marks a NaN row, ranked last.

    ``method``:

    * ``native`` — distillscope's blocked SIMD kernel: exact, ties broken by
      the lower index, NaN ranked last; fastest for small corpora and many
      small problems (no index build, no copies).
    * ``faiss`` — exact search with faiss ``IndexFlatIP`` on L2-normalized
      copies (BLAS sgemm): fastest for large corpora.
    * ``hnsw`` — approximate search with faiss ``IndexHNSWFlat`` (inner
      product on normalized vectors) for corpora of millions; recall < 1.
      ``m``, ``ef_search`` and ``ef_construction`` are its parameters (see
      :class:`CosineIndex`); the other methods ignore them.
    * ``auto`` — ``native`` when Q·N·D is below ~67M multiply-adds or the
      input holds NaN, ``faiss`` otherwise.
    """
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be 'auto', 'native', 'faiss' or 'hnsw', got {method!r}")
    workers = check_workers(workers)
    q = as_float32(queries, "queries", allow_f16=False)
    c = as_float32(corpus, "corpus", allow_f16=False)
    check_2d(q, "queries")
    check_2d(c, "corpus")
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries and corpus must have the same number of columns; got {q.shape} and {c.shape}")
    if c.shape[0] == 0:
        raise ValueError("corpus is empty; pass at least one row")
    k = check_int(k, "k", 1, c.shape[0], " (1 <= k <= the corpus size)")
    if method == "auto":
        work = q.shape[0] * c.shape[0] * max(q.shape[1], 1)
        small = work <= _NATIVE_TOPK_MAX_WORK
        method = "native" if small or _has_nan(q) or _has_nan(c) else "faiss"
    if method == "native":
        return _core.cosine_topk(q, c, k, workers=workers)
    if method == "faiss":
        index = CosineIndex(c, kind="flat", workers=workers)
    else:
        index = CosineIndex(c, kind="hnsw", m=m, ef_search=ef_search, ef_construction=ef_construction, workers=workers)
    return index.search(q, k)


def _has_nan(x: np.ndarray) -> bool:
    # min() propagates NaN and allocates nothing, unlike np.isnan(x).any().
    return bool(x.size) and bool(np.isnan(x.min()))


def _faiss_threads(workers: int) -> int:
    if workers == -1:
        return os.cpu_count() or 1
    return check_workers(workers)


# faiss stores HNSW sizes in C ints; m < 2 breaks its level generator
# (m = 0 aborts the interpreter, m = 1 builds an unusable graph, m < 0 hangs).
# ef sizes faiss's per-query heaps (8 bytes a slot): 2**31 would ask for 16 GB.
_HNSW_MAX_M = 1024
_HNSW_MAX_EF = 100_000


class CosineIndex:
    """A reusable faiss index over L2-normalized corpus rows.

    ``kind="flat"`` is exact (``IndexFlatIP``); ``kind="hnsw"`` is an
    approximate graph index (``IndexHNSWFlat`` with inner-product metric,
    ``m`` links per node in [2, 1024], ``ef_construction`` candidates
    while building and ``ef_search`` candidates per query, both in
    [1, 100000]) for corpora of
    millions. Build once, then :meth:`search` many query batches.

    Rows are normalized by :func:`l2_normalize` (double precision for rows
    whose norm leaves float32's range), so tiny and huge rows are found like
    any other. Where faiss returns fewer than ``k`` hits for a query (a NaN
    query, NaN corpus rows, or an HNSW search that reached fewer than ``k``
    nodes), that query is answered by exact search over the indexed vectors
    instead: every index returned is a valid row, and NaN rows rank last with
    a NaN score, as with ``cosine_topk(method="native")``. (That search reads
    the stored vectors back from faiss, a transient copy of the corpus, only
    for the batches that need it.)
    """

    def __init__(
        self,
        corpus,
        *,
        kind: Literal["flat", "hnsw"] = "flat",
        m: int = 32,
        ef_search: int = 128,
        ef_construction: int = 40,
        workers: int = 1,
    ) -> None:
        import faiss

        if not isinstance(kind, str) or kind not in ("flat", "hnsw"):
            raise ValueError(f"kind must be 'flat' or 'hnsw', got {kind!r}")
        workers = check_workers(workers)
        if kind == "hnsw":
            m = check_int(m, "m", 2, _HNSW_MAX_M, " (HNSW links per node; 16-64 is typical)")
            hint = " (candidates per HNSW search; for exact search use kind='flat')"
            ef_search = check_int(ef_search, "ef_search", 1, _HNSW_MAX_EF, hint)
            ef_construction = check_int(ef_construction, "ef_construction", 1, _HNSW_MAX_EF, hint)
        c = as_float32(corpus, "corpus", allow_f16=False)
        check_2d(c, "corpus")
        if c.shape[0] == 0:
            raise ValueError("corpus is empty; add at least one row")
        if c.shape[1] == 0:
            raise ValueError("corpus has 0 columns; pass vectors of dimension >= 1")
        self.workers = workers
        self.dim = c.shape[1]
        self.size = c.shape[0]
        with _faiss_threads_ctx(workers):
            normed = l2_normalize(c, workers=workers)
            self._index: Any
            if kind == "flat":
                self._index = faiss.IndexFlatIP(self.dim)
            else:
                self._index = faiss.IndexHNSWFlat(self.dim, m, faiss.METRIC_INNER_PRODUCT)
                self._index.hnsw.efConstruction = ef_construction
                self._index.hnsw.efSearch = ef_search
            self._index.add(normed)
        self.kind = kind

    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores float32[Q, k], indices int64[Q, k])``, best first, ties by lower index."""
        k = check_int(k, "k", 1, self.size, " (1 <= k <= the corpus size)")
        q = as_float32(queries, "queries", allow_f16=False)
        check_2d(q, "queries")
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have {q.shape[1]} columns, the index has {self.dim}")
        qn = l2_normalize(q, workers=self.workers)
        with _faiss_threads_ctx(self.workers):
            scores, idx = self._index.search(qn, k)
        np.clip(scores, -1.0, 1.0, out=scores)
        # faiss orders ties arbitrarily; order them by index like the native kernel.
        order = np.lexsort((idx, -scores), axis=-1) if scores.size else None
        if order is not None:
            scores = np.take_along_axis(scores, order, axis=-1)
            idx = np.take_along_axis(idx, order, axis=-1)
        scores = np.ascontiguousarray(scores, dtype=np.float32)
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        missing = np.flatnonzero((idx < 0).any(axis=1)) if idx.size else np.empty(0, dtype=np.int64)
        if missing.size:
            # faiss's "no result" (-1): answer those queries exactly instead.
            stored = np.ascontiguousarray(self._index.reconstruct_n(0, self.size), dtype=np.float32)
            s2, i2 = _core.cosine_topk(np.ascontiguousarray(qn[missing]), stored, k, workers=self.workers)
            scores[missing] = s2
            idx[missing] = i2
        return scores, idx


_faiss_lock = threading.Lock()


@contextlib.contextmanager
def _faiss_threads_ctx(workers: int) -> Iterator[None]:
    import faiss

    n = _faiss_threads(workers)
    with _faiss_lock:
        prev = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(n)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(prev)
