"""The same pair scoring on a Dask cluster (optional extra ``distillscope[dask]``).

Two entry points:

* :func:`score_dataframe` takes a ``dask.dataframe.DataFrame`` with
  ``candidate`` / ``reference`` text columns and returns it with one score
  column per metric, computed by :func:`distillscope.scoring.score_batch` on
  every partition. Cosine reads embedding rows from ``.npy`` files that every
  worker can open (a shared filesystem), addressed by an integer row column.
* ``distillscope score-pairs ... --scheduler ADDRESS`` (or
  ``score_pairs(..., scheduler=...)``) cuts the input file into chunks,
  scores each on a worker (the worker reads its own rows: Parquet row ranges,
  JSONL byte ranges found by one scan on the client) and streams the results
  back into the same checkpointed Parquet output as the single-machine run.
  At most ``2 x total worker threads`` chunks are in flight, so the client's
  memory stays bounded.

Threads: each task runs the kernels with ``workers = cores of its host /
worker threads on that host`` (at least 1), so a host running several Dask
worker threads is not oversubscribed; pass ``kernel_threads`` to override.
Per-pair scores do not depend on the partitioning, so the results equal the
single-machine run exactly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .scoring import Embeddings, _to_table, iter_pair_chunks, jsonl_chunk_offsets, parse_metrics, score_batch

__all__ = ["score_dataframe", "kernel_threads_per_worker"]


def _require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as e:
        raise ImportError("Dask support needs the optional extra: pip install 'distillscope[dask]'") from e


def _client(scheduler: Any) -> tuple[Any, bool]:
    """A ``distributed.Client`` for an address (owned) or the client given (borrowed)."""
    _require_dask()
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str) or not scheduler:
        raise TypeError(f"scheduler must be an address like 'tcp://host:8786' or a distributed.Client; got {scheduler!r}")
    return Client(scheduler, set_as_default=False), True


def kernel_threads_per_worker(client: Any) -> dict[str, int]:
    """``{worker address: kernel threads}``: host cores shared out over the host's worker threads."""
    info = client.scheduler_info()["workers"]
    cores = client.run(os.cpu_count)
    per_host: dict[str, int] = {}
    for addr, w in info.items():
        per_host[w["host"]] = per_host.get(w["host"], 0) + int(w["nthreads"])
    return {
        addr: max(1, int(cores.get(addr) or 1) // max(1, per_host[w["host"]]))
        for addr, w in info.items()
    }


def _task_threads(kernel_threads: int | dict[str, int] | None) -> int:
    if isinstance(kernel_threads, int):
        return kernel_threads
    try:
        from distributed import get_worker

        w = get_worker()
    except (ImportError, ValueError):
        return 1
    if isinstance(kernel_threads, dict) and w.address in kernel_threads:
        return kernel_threads[w.address]
    return max(1, (os.cpu_count() or 1) // max(1, int(getattr(w.state, "nthreads", 1))))


# ----------------------------------------------------------------------------- dask.dataframe


def _score_partition(
    df: Any, metrics: list[str], candidate: str, reference: str, emb_a: str | None, emb_b: str | None,
    row_column: str | None, tokenizer: str, kernel_threads: Any,
) -> Any:
    import pandas as pd

    lexical, cosine = parse_metrics(metrics)
    cands = df[candidate].tolist()
    refs = df[reference].tolist()
    for name, col in ((candidate, cands), (reference, refs)):
        bad = next((i for i, v in enumerate(col) if not isinstance(v, str)), None)
        if bad is not None:
            raise ValueError(f"column {name!r} holds a {type(col[bad]).__name__} at index {df.index[bad]!r}; "
                             "fill missing texts with '' before scoring")
    a = b = None
    if cosine:
        rows = np.asarray(df[row_column].to_numpy(), dtype=np.int64)
        with Embeddings(emb_a) as ea, Embeddings(emb_b) as eb:  # type: ignore[arg-type]
            if len(rows) and (rows.min() < 0 or rows.max() >= len(ea)):
                raise ValueError(f"{row_column!r} values must index the embedding rows 0..{len(ea) - 1}")
            a = np.ascontiguousarray(ea.rows(0, len(ea))[rows])
            b = np.ascontiguousarray(eb.rows(0, len(eb))[rows])
    scores = score_batch(cands, refs, metrics, emb_a=a, emb_b=b, tokenizer=tokenizer,
                         workers=_task_threads(kernel_threads))
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
    _require_dask()
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
    sample = score_batch(["a"], ["a"], lexical, tokenizer=tokenizer)
    meta = ddf._meta.copy()
    for k, v in sample.items():
        meta[k] = pd.Series([], dtype=v.dtype)
    if cosine:
        meta["cosine"] = pd.Series([], dtype=np.float32)
    return ddf.map_partitions(
        _score_partition, metric_list, candidate, reference, ea, eb, row_column, tokenizer, kernel_threads,
        meta=meta,
    )


# ----------------------------------------------------------------------------- files on a cluster


def _score_file_chunk(
    path: str, start: int, n: int, offset: int | None, metrics: list[str], emb_a: str | None, emb_b: str | None,
    columns: tuple[str, str], keep: list[str], tokenizer: str, kernel_threads: Any,
) -> Any:
    chunk = next(iter_pair_chunks(path, chunk_size=n, columns=columns, keep=keep, start_row=start,
                                  start_offset=offset, stop_row=start + n))
    if len(chunk) != n:
        raise ValueError(f"{path!r} changed while being scored: expected {n} rows from row {start}, read {len(chunk)}")
    a = b = None
    ea = eb = None
    try:
        if emb_a is not None and emb_b is not None:
            ea, eb = Embeddings(emb_a), Embeddings(emb_b)
            a, b = ea.rows(start, start + n), eb.rows(start, start + n)
        scores = score_batch(chunk.candidates, chunk.references, metrics, emb_a=a, emb_b=b, tokenizer=tokenizer,
                             workers=_task_threads(kernel_threads))
        del a, b
    finally:
        if ea is not None:
            ea.close()
        if eb is not None:
            eb.close()
    return _to_table(start, chunk.extra, scores)


def _plan(path: Path, chunk_size: int, start_row: int, start_offset: int | None) -> list[tuple[int, int, int | None]]:
    """``(start_row, rows, byte offset or None)`` of every chunk still to score."""
    from .scoring import _file_format, count_pairs

    if _file_format(path) == "parquet":
        total = count_pairs(path)
        return [(s, min(chunk_size, total - s), None) for s in range(start_row, total, chunk_size)]
    if start_offset is None:
        start_offset = _row_offset(path, start_row)
    return [(s + start_row, n, o) for s, n, o in jsonl_chunk_offsets(path, chunk_size, start_offset)]


def _row_offset(path: Path, row: int) -> int:
    """Byte offset of JSONL row ``row`` (blank lines are not rows)."""
    seen, pos = 0, 0
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                if seen == row:
                    return pos
                seen += 1
            pos += len(line)
    return pos


def _iter_remote_chunks(
    scheduler: Any, path: Path, metrics: list[str], *, emb_a: Any, emb_b: Any, chunk_size: int,
    columns: tuple[str, str], keep: Sequence[str], tokenizer: str, start_row: int, start_offset: int | None,
    kernel_threads: int | None = None,
) -> Iterator[tuple[Any, int, int | None]]:
    """Yield ``(table, start_row, next_offset)`` in input order, scored on the cluster."""
    client, owned = _client(scheduler)
    try:
        plan = _plan(path, chunk_size, start_row, start_offset)
        threads: Any = kernel_threads if kernel_threads is not None else kernel_threads_per_worker(client)
        slots = max(2, 2 * sum(int(w["nthreads"]) for w in client.scheduler_info()["workers"].values()))
        src = str(Path(path).resolve())
        ea = str(Path(emb_a).resolve()) if emb_a is not None else None
        eb = str(Path(emb_b).resolve()) if emb_b is not None else None
        pending: list[tuple[Any, int, int, int | None]] = []
        i = 0
        while i < len(plan) or pending:
            while i < len(plan) and len(pending) < slots:
                s, n, o = plan[i]
                fut = client.submit(_score_file_chunk, src, s, n, o, list(metrics), ea, eb, tuple(columns), list(keep),
                                    tokenizer, threads, pure=False)
                nxt = None
                if o is not None:
                    nxt = plan[i + 1][2] if i + 1 < len(plan) else os.path.getsize(src)
                pending.append((fut, s, n, nxt))
                i += 1
            fut, s, n, nxt = pending.pop(0)
            tbl = fut.result()
            fut.release()
            yield tbl, s, nxt
    finally:
        if owned:
            client.close()
