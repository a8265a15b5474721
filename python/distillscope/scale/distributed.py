"""The same pair scoring on a Dask cluster (optional extra ``distillscope[dask]``).

Two entry points:

* :func:`score_dataframe` takes a ``dask.dataframe.DataFrame`` with
  ``candidate`` / ``reference`` text columns and returns it with one score
  column per metric, computed by :func:`distillscope.scoring.score_batch` on
  every partition. Cosine reads embedding rows from ``.npy`` files that every
  worker can open (a shared filesystem), addressed by an integer row column.
* ``distillscope score-pairs ... --scheduler ADDRESS`` (or
  ``score_pairs(..., scheduler=...)``) scores the chunks of a pair file on the
  cluster; see :mod:`distillscope.scale.remote`.

Threads: each task runs the kernels with ``workers = cores of its host /
worker threads on that host`` (at least 1), so a host running several Dask
worker threads is not oversubscribed; pass ``kernel_threads`` to override.
Per-pair scores do not depend on the partitioning, so the results equal the
single-machine run exactly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .embeddings import Embeddings
from .remote import kernel_threads_per_worker, require_dask, task_threads
from .scoring import parse_metrics, score_batch, score_columns

__all__ = ["score_dataframe", "kernel_threads_per_worker"]


# ----------------------------------------------------------------------------- dask.dataframe


def _score_partition(
    df: Any,
    metrics: list[str],
    candidate: str,
    reference: str,
    emb_a: str | None,
    emb_b: str | None,
    row_column: str | None,
    tokenizer: str,
    kernel_threads: Any,
) -> Any:
    import pandas as pd

    lexical, cosine = parse_metrics(metrics)
    cands = df[candidate].tolist()
    refs = df[reference].tolist()
    for name, col in ((candidate, cands), (reference, refs)):
        bad = next((i for i, v in enumerate(col) if not isinstance(v, str)), None)
        if bad is not None:
            raise ValueError(
                f"column {name!r} holds a {type(col[bad]).__name__} at index {df.index[bad]!r}; "
                "fill missing texts with '' before scoring"
            )
    a = b = None
    if cosine:
        rows = np.asarray(df[row_column].to_numpy(), dtype=np.int64)
        with Embeddings(emb_a) as ea, Embeddings(emb_b) as eb:  # type: ignore[arg-type]
            if len(rows) and (rows.min() < 0 or rows.max() >= len(ea)):
                raise ValueError(f"{row_column!r} values must index the embedding rows 0..{len(ea) - 1}")
            a = np.ascontiguousarray(ea.rows(0, len(ea))[rows])
            b = np.ascontiguousarray(eb.rows(0, len(eb))[rows])
    scores = score_batch(
        cands, refs, metrics, emb_a=a, emb_b=b, tokenizer=tokenizer, workers=task_threads(kernel_threads)
    )
    out = df.copy()
    for k, v in scores.items():
        out[k] = pd.Series(v, index=df.index)
    return out


def score_dataframe(
    ddf: Any,
    metrics: str | Sequence[str] = ("rouge1", "rouge2", "rougeL", "chrf"),
    *,
    candidate: str = "candidate",
    reference: str = "reference",
    emb_a: str | os.PathLike[str] | None = None,
    emb_b: str | os.PathLike[str] | None = None,
    row_column: str | None = None,
    tokenizer: str = "unicode",
    kernel_threads: int | dict[str, int] | None = None,
    client: Any = None,
) -> Any:
    """Add score columns to a ``dask.dataframe.DataFrame`` of pairs (lazy; call ``.compute()``).

    ``cosine`` needs ``emb_a`` / ``emb_b`` (``.npy`` paths every worker can
    read) and ``row_column``, an integer column giving each pair's row in
    them. ``kernel_threads``: threads per task for the kernels; by default
    the host's cores divided by its worker threads (computed from ``client``
    when given, else on each worker from its own thread count).
    """
    require_dask()
    import pandas as pd

    lexical, cosine = parse_metrics(metrics)
    metric_list = [*lexical, *(["cosine"] if cosine else [])]
    for c in (candidate, reference):
        if c not in ddf.columns:
            raise ValueError(f"the dataframe has no column {c!r}; its columns are {list(ddf.columns)}")
    ea = eb = None
    if cosine:
        if emb_a is None or emb_b is None or row_column is None:
            raise ValueError("metric 'cosine' needs emb_a, emb_b (.npy paths) and row_column (row index into them)")
        if row_column not in ddf.columns:
            raise ValueError(f"row_column {row_column!r} is not a column; its columns are {list(ddf.columns)}")
        with Embeddings(emb_a) as x, Embeddings(emb_b) as y:
            if x.shape != y.shape:
                raise ValueError(f"emb_a and emb_b must have the same shape; got {x.shape} and {y.shape}")
        ea, eb = str(Path(emb_a).resolve()), str(Path(emb_b).resolve())
    elif emb_a is not None or emb_b is not None:
        raise ValueError("embeddings were given but 'cosine' is not in metrics; add it or drop emb_a/emb_b")
    if kernel_threads is None and client is not None:
        kernel_threads = kernel_threads_per_worker(client)
    meta = ddf._meta.copy()
    for k, v in score_columns(lexical, cosine, tokenizer).items():
        meta[k] = pd.Series([], dtype=v.dtype)
    return ddf.map_partitions(
        _score_partition,
        metric_list,
        candidate,
        reference,
        ea,
        eb,
        row_column,
        tokenizer,
        kernel_threads,
        meta=meta,
    )
