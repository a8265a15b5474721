"""Scoring the chunks of a pair file on a Dask cluster (optional extra ``distillscope[dask]``).

``distillscope score-pairs ... --scheduler ADDRESS`` (or
``score_pairs(..., scheduler=...)``) cuts the input file into chunks,
scores each on a worker (the worker reads its own rows: Parquet row ranges,
JSONL byte ranges found by one scan on the client) and streams the results
back into the same checkpointed Parquet output as the single-machine run.
At most ``2 x total worker threads`` chunks are in flight, so the client's
memory stays bounded. The scorer of one chunk is passed in by
:func:`distillscope.scale.scoring.score_pairs` (``score_rows``), so this
module depends only on the readers.

Threads: each task runs the kernels with ``workers = cores of its host /
worker threads on that host`` (at least 1), so a host running several Dask
worker threads is not oversubscribed; pass ``kernel_threads`` to override.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .embeddings import Embeddings
from .pairio import count_pairs, file_format, iter_pair_chunks, jsonl_chunk_offsets

# (chunk, embedding rows of A or None, of B or None, workers=kernel threads) -> pyarrow.Table
ChunkScorer = Callable[..., Any]


def require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as e:
        raise ImportError("Dask support needs the optional extra: pip install 'distillscope[dask]'") from e


# seconds to wait for a scheduler to answer: Dask's default (30 s, then as
# long again tearing the half-made client down) kept a run with a mistyped
# address hanging for a minute
CONNECT_TIMEOUT_S = 10


def check_scheduler_address(scheduler: str, name: str = "scheduler") -> None:
    """A scheduler address Dask can parse, whose host name resolves: checked
    before a ``Client`` exists (one made from a bad address never connects,
    and its teardown waits out the timeout twice)."""
    require_dask()
    from distributed.comm import resolve_address

    try:
        resolve_address(scheduler)
    except (ValueError, OSError) as exc:
        raise ValueError(
            f"{name} {scheduler!r} is not a valid Dask scheduler address ({exc}); give one like tcp://host:8786"
        ) from None


def dask_client(scheduler: Any) -> tuple[Any, bool]:
    """A ``distributed.Client`` for an address (owned) or the client given (borrowed)."""
    require_dask()
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str) or not scheduler:
        raise TypeError(
            f"scheduler must be an address like 'tcp://host:8786' or a distributed.Client; got {scheduler!r}"
        )
    check_scheduler_address(scheduler)
    try:
        return Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT_S), True
    except (OSError, TimeoutError) as exc:
        raise ValueError(
            f"no Dask scheduler answered at {scheduler!r} within {CONNECT_TIMEOUT_S} s ({exc}); "
            "start it (dask scheduler) or check the address"
        ) from None


def kernel_threads_per_worker(client: Any) -> dict[str, int]:
    """``{worker address: kernel threads}``: host cores shared out over the host's worker threads."""
    info = client.scheduler_info()["workers"]
    cores = client.run(os.cpu_count)
    per_host: dict[str, int] = {}
    for w in info.values():
        per_host[w["host"]] = per_host.get(w["host"], 0) + int(w["nthreads"])
    return {addr: max(1, int(cores.get(addr) or 1) // max(1, per_host[w["host"]])) for addr, w in info.items()}


def task_threads(kernel_threads: int | dict[str, int] | None) -> int:
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


def score_file_chunk(
    path: str,
    start: int,
    n: int,
    offset: int | None,
    score: ChunkScorer,
    emb_a: str | None,
    emb_b: str | None,
    columns: tuple[str, str],
    keep: list[str],
    kernel_threads: Any,
) -> Any:
    """Read rows ``start .. start + n`` of ``path`` on a worker and score them with ``score``."""
    chunk = next(
        iter_pair_chunks(
            path, chunk_size=n, columns=columns, keep=keep, start_row=start, start_offset=offset, stop_row=start + n
        )
    )
    if len(chunk) != n:
        raise ValueError(f"{path!r} changed while being scored: expected {n} rows from row {start}, read {len(chunk)}")
    a = b = None
    ea = eb = None
    try:
        if emb_a is not None and emb_b is not None:
            ea, eb = Embeddings(emb_a), Embeddings(emb_b)
            a, b = ea.rows(start, start + n), eb.rows(start, start + n)
        table = score(chunk, a, b, workers=task_threads(kernel_threads))
        del a, b
    finally:
        if ea is not None:
            ea.close()
        if eb is not None:
            eb.close()
    return table


def _plan(path: Path, chunk_size: int, start_row: int, start_offset: int | None) -> list[tuple[int, int, int | None]]:
    """``(start_row, rows, byte offset or None)`` of every chunk still to score."""
    if file_format(path) == "parquet":
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


def iter_remote_chunks(
    scheduler: Any,
    path: Path,
    score: ChunkScorer,
    *,
    emb_a: Any,
    emb_b: Any,
    chunk_size: int,
    columns: tuple[str, str],
    keep: Sequence[str],
    start_row: int,
    start_offset: int | None,
    kernel_threads: int | None = None,
) -> Iterator[tuple[Any, int, int | None]]:
    """Yield ``(table, start_row, next_offset)`` in input order, scored on the cluster.

    ``score(chunk, emb_a_rows, emb_b_rows, workers=n)`` scores one chunk on a
    worker (it is pickled with the task: a module-level function or a
    ``functools.partial`` of one)."""
    client, owned = dask_client(scheduler)
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
                fut = client.submit(
                    score_file_chunk, src, s, n, o, score, ea, eb, tuple(columns), list(keep), threads, pure=False
                )
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


__all__ = [
    "CONNECT_TIMEOUT_S",
    "ChunkScorer",
    "check_scheduler_address",
    "dask_client",
    "iter_remote_chunks",
    "kernel_threads_per_worker",
    "require_dask",
    "score_file_chunk",
    "task_threads",
]
