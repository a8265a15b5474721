"""Streaming, checkpointed scoring of (candidate, reference) pair files.

``score_pairs`` reads a JSONL or Parquet file of pairs in chunks, scores each
chunk with the batched kernels (lexical metrics in one native call, cosine
over memory-mapped ``.npy`` embedding rows) and writes one Parquet file. It
never holds more than a couple of chunks in memory, whatever the input size:

* Parquet is read with ``pyarrow.ParquetFile.iter_batches`` (only the needed
  columns, rebatched to exactly ``chunk_size`` rows);
* JSONL is read line by line from a binary file (``orjson`` when installed,
  else the standard library), tracking the byte offset of every chunk;
* embeddings are memory-mapped, and the pages of rows already scored are
  released again (``madvise(MADV_DONTNEED)``) so the resident set stays at
  one chunk's worth even for a 3 GB file.

Checkpointing: every finished chunk is written as its own Parquet part file
(``OUT.parts/part-<first row>.parquet``, written to a temporary name and
renamed, so a part either exists complete or not at all), then a sidecar
``OUT.progress.json`` records the rows done, the input byte offset and the
configuration (atomically replaced). A run killed at any point (even
``SIGKILL``) resumes at the last recorded chunk; a part written after the
last progress update is discarded and recomputed. When every row is scored
the parts are concatenated into ``OUT`` (again via a temporary name) and the
sidecars are removed. A resumed run's output equals an uninterrupted one.

Per-pair scores are independent of one another, so results are identical for
any ``chunk_size``, kernel ``workers`` count or Dask partitioning.

The same engine is reusable without an output file: :func:`iter_pair_chunks`
streams the input, :func:`score_batch` scores one batch, and
:func:`iter_scored_chunks` yields scored ``pyarrow.Table`` chunks.
"""

from __future__ import annotations

import functools
import json
import mmap
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .._io import atomic_write_text

__all__ = [
    "PAIR_METRICS",
    "PairChunk",
    "ScoreSummary",
    "Embeddings",
    "parse_metrics",
    "score_batch",
    "iter_pair_chunks",
    "iter_scored_chunks",
    "count_pairs",
    "score_pairs",
]

PAIR_METRICS = ("rouge1", "rouge2", "rougeL", "bleu", "chrf", "chrf++", "jaccard", "containment", "cosine")
DEFAULT_CHUNK = 16384
_PROGRESS_VERSION = 1


# ----------------------------------------------------------------------------- metrics


def parse_metrics(metrics: str | Sequence[str]) -> tuple[list[str], bool]:
    """Split ``"rouge1,rougeL,cosine"`` (or a sequence) into (lexical metrics, wants cosine)."""
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    names = list(metrics)
    if not names:
        raise ValueError(f"metrics must name at least one of {PAIR_METRICS}, e.g. 'rouge1,rougeL,chrf'")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics lists a name twice: {names}")
    lexical = [m for m in names if m != "cosine"]
    if lexical:
        _validate_lexical(tuple(lexical))
    return lexical, "cosine" in names


@functools.lru_cache(maxsize=64)
def _validate_lexical(lexical: tuple[str, ...]) -> None:
    from ..text.lexical import lexical_scores

    lexical_scores(["a"], ["a"], list(lexical))  # raises with the lexical module's own messages


def score_batch(
    candidates: Sequence[str],
    references: Sequence[str],
    metrics: str | Sequence[str],
    *,
    emb_a: np.ndarray | None = None,
    emb_b: np.ndarray | None = None,
    tokenizer: str = "unicode",
    workers: int = 1,
) -> dict[str, np.ndarray]:
    """Score one batch of pairs: ``{column: array}`` with one value per pair.

    Lexical metrics come from :func:`distillscope.lexical_scores` (ROUGE adds
    ``_precision`` / ``_recall`` columns); ``cosine`` needs ``emb_a`` and
    ``emb_b`` (one row per pair) and is :func:`distillscope.cosine_paired`.
    """
    lexical, cosine = parse_metrics(metrics)
    n = len(candidates)
    if len(references) != n:
        raise ValueError(f"candidates and references must have the same length; got {n} and {len(references)}")
    out: dict[str, np.ndarray] = {}
    if lexical:
        from ..text.lexical import lexical_scores

        if n == 0:  # the native call wants at least one text for chrF; take the columns from a dummy pair
            out.update({k: v[:0] for k, v in lexical_scores(["a"], ["a"], lexical, tokenizer=tokenizer).items()})
        else:
            out.update(lexical_scores(candidates, references, lexical, tokenizer=tokenizer, workers=workers))
    if cosine:
        if emb_a is None or emb_b is None:
            raise ValueError("metric 'cosine' needs embeddings: pass emb_a and emb_b (--emb-a A.npy --emb-b B.npy)")
        if len(emb_a) != n or len(emb_b) != n:
            raise ValueError(f"embeddings must have one row per pair ({n}); got {len(emb_a)} and {len(emb_b)} rows")
        from ..kernels import cosine_paired

        out["cosine"] = cosine_paired(emb_a, emb_b, workers=workers)
    return out


# ----------------------------------------------------------------------------- embeddings


class Embeddings:
    """A memory-mapped ``.npy`` matrix read in row ranges, pages released after use.

    ``np.load(mmap_mode="r")`` would map the file too; mapping it here keeps
    the ``mmap`` object so that rows already consumed can be dropped from the
    resident set with ``madvise(MADV_DONTNEED)`` (the pages stay in the page
    cache; only this process's RSS shrinks).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"embedding file {str(self.path)!r} does not exist")
        with open(self.path, "rb") as f:
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            except ValueError as e:
                raise ValueError(f"{str(self.path)!r} is not a .npy file ({e}); save embeddings with np.save") from e
            header = f.tell()
        if len(shape) != 2:
            raise ValueError(f"{str(self.path)!r} must hold a 2-D (pairs x dim) array; got shape {shape}")
        if dtype not in (np.dtype(np.float32), np.dtype(np.float16)):
            raise TypeError(f"{str(self.path)!r} has dtype {dtype}; save it as float32 (x.astype(np.float32))")
        if fortran and shape[1] > 1:
            raise ValueError(f"{str(self.path)!r} is Fortran-ordered; save np.ascontiguousarray(x) instead")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        self._header = header
        self._file = open(self.path, "rb")
        size = header + self.shape[0] * self._row_bytes
        if os.fstat(self._file.fileno()).st_size < size:
            self._file.close()
            raise ValueError(f"{str(self.path)!r} is truncated: expected {size} bytes for shape {self.shape}")
        self._mm: mmap.mmap | None = None
        if self.shape[0] and self.shape[1]:
            self._mm = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(mmap, "MADV_SEQUENTIAL"):  # rows are read front to back: read ahead aggressively
                self._mm.madvise(mmap.MADV_SEQUENTIAL)
        self._released = 0

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a read-only view of the mapping (no copy)."""
        if not 0 <= start <= stop <= self.shape[0]:
            raise ValueError(
                f"{str(self.path)!r} has {self.shape[0]} rows but rows {start}..{stop} were asked for; "
                "the embedding file needs one row per pair"
            )
        if self._mm is None:
            return np.zeros((stop - start, self.shape[1]), self.dtype)
        return np.frombuffer(
            self._mm, dtype=self.dtype, count=(stop - start) * self.shape[1], offset=self._header + start * self._row_bytes
        ).reshape(stop - start, self.shape[1])

    def release(self, stop: int) -> None:
        """Drop the resident pages of rows before ``stop`` (they are not needed again)."""
        if self._mm is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        end = (self._header + stop * self._row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        if end > self._released:
            self._mm.madvise(mmap.MADV_DONTNEED, self._released, end - self._released)
            self._released = end

    def prefetch(self, start: int, stop: int) -> None:
        """Ask the kernel to start reading rows ``start:stop`` from disk now (asynchronously)."""
        if self._mm is None or not hasattr(mmap, "MADV_WILLNEED"):
            return
        stop = min(stop, self.shape[0])
        if start >= stop:
            return
        lo = (self._header + start * self._row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        hi = min(len(self._mm), self._header + stop * self._row_bytes)
        self._mm.madvise(mmap.MADV_WILLNEED, lo, hi - lo)

    def signature(self) -> dict[str, Any]:
        st = self.path.stat()
        return {"path": str(self.path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "shape": list(self.shape)}

    def close(self) -> None:
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # a caller still holds a view; the mapping goes when it does
                pass
            self._mm = None
        self._file.close()

    def __enter__(self) -> "Embeddings":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- readers


@dataclass
class PairChunk:
    """Rows ``start .. start + len(candidates)`` of a pair file.

    ``next_offset`` is the byte offset just after the chunk (JSONL) so that a
    later read can start there without rescanning; ``None`` for Parquet.
    ``extra`` holds the columns asked for with ``keep``.
    """

    start: int
    candidates: list[str]
    references: list[str]
    extra: dict[str, list[Any]] = field(default_factory=dict)
    next_offset: int | None = None

    def __len__(self) -> int:
        return len(self.candidates)


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as e:
        raise ImportError("pair scoring reads and writes Parquet: pip install 'distillscope[parquet]'") from e


def _file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq", ".parq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {str(path)!r}: name it *.jsonl or *.parquet")


def _loads() -> Callable[[bytes], Any]:
    try:
        import orjson

        return orjson.loads
    except ImportError:  # pragma: no cover - orjson is optional
        return json.loads


def _text(value: Any, name: str, row: int) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(
        f"row {row}: {name!r} must be a string, got {type(value).__name__}; "
        "fill missing texts with '' before scoring"
    )


def _iter_jsonl(
    path: Path, chunk_size: int, start_row: int, start_offset: int | None, columns: tuple[str, str],
    keep: Sequence[str], stop_row: int | None,
) -> Iterator[PairChunk]:
    loads = _loads()
    cname, rname = columns
    row = 0 if start_offset is None else start_row
    with open(path, "rb") as f:
        offset = 0
        if start_offset is not None:
            f.seek(start_offset)
            offset = start_offset
        cands: list[str] = []
        refs: list[str] = []
        extra: dict[str, list[Any]] = {k: [] for k in keep}
        first = start_row
        for line in f:
            offset += len(line)
            if not line.strip():
                continue
            if row < start_row:  # no offset known: skip rows without parsing them
                row += 1
                continue
            if stop_row is not None and row >= stop_row:
                offset -= len(line)
                break
            try:
                obj = loads(line)
            except ValueError as e:
                raise ValueError(f"row {row} of {str(path)!r} is not valid JSON ({e}); one JSON object per line") from e
            if not isinstance(obj, dict):
                raise ValueError(f"row {row} of {str(path)!r} is not a JSON object; write one object per line")
            try:
                cands.append(_text(obj[cname], cname, row))
                refs.append(_text(obj[rname], rname, row))
            except KeyError as e:
                raise ValueError(f"row {row} of {str(path)!r} has no {e.args[0]!r} field; every row needs "
                                 f"{cname!r} and {rname!r}") from None
            for k in keep:
                extra[k].append(obj.get(k))
            row += 1
            if len(cands) == chunk_size:
                yield PairChunk(first, cands, refs, extra, offset)
                first = row
                cands, refs, extra = [], [], {k: [] for k in keep}
        if cands:
            yield PairChunk(first, cands, refs, extra, offset)


def _parquet_file(path: Path, columns: Sequence[str]) -> Any:
    import pyarrow.parquet as pq

    # pre_buffer=False: with the default, iter_batches keeps every row group it
    # has read cached for the whole iteration (the pool grew by ~1 GB per
    # million pairs in tests), which defeats streaming.
    pf = pq.ParquetFile(path, pre_buffer=False)
    names = pf.schema_arrow.names
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{str(path)!r} has no column(s) {missing}; its columns are {names}")
    return pf


def _iter_parquet(
    path: Path, chunk_size: int, start_row: int, columns: tuple[str, str], keep: Sequence[str], stop_row: int | None,
) -> Iterator[PairChunk]:
    import pyarrow as pa
    import pyarrow.types as pt

    cols = list(dict.fromkeys([*columns, *keep]))
    pf = _parquet_file(path, cols)
    for c in columns:
        t = pf.schema_arrow.field(c).type
        if not (pt.is_string(t) or pt.is_large_string(t) or getattr(pt, "is_string_view", lambda _: False)(t)):
            raise TypeError(f"column {c!r} of {str(path)!r} has type {t}; it must hold strings")
    meta = pf.metadata
    total = meta.num_rows if stop_row is None else min(stop_row, meta.num_rows)
    # first row group that contains start_row
    rg, rg_start = 0, 0
    while rg < meta.num_row_groups and rg_start + meta.row_group(rg).num_rows <= start_row:
        rg_start += meta.row_group(rg).num_rows
        rg += 1
    if rg >= meta.num_row_groups or start_row >= total:
        return
    skip = start_row - rg_start
    pending: list[Any] = []
    have = 0
    row = start_row

    def emit(tbl: Any) -> PairChunk:
        cn, rn = tbl.column(columns[0]), tbl.column(columns[1])
        for name, col in ((columns[0], cn), (columns[1], rn)):
            if col.null_count:
                bad = row + int(np.flatnonzero(np.asarray(col.is_null()))[0])
                raise ValueError(f"row {bad}: {name!r} is null; fill missing texts with '' before scoring")
        extra = {k: tbl.column(k) for k in keep}  # arrow columns: the input's types are kept
        return PairChunk(row, cn.to_pylist(), rn.to_pylist(), extra, None)

    for batch in pf.iter_batches(batch_size=chunk_size, row_groups=range(rg, meta.num_row_groups), columns=cols):
        if skip:
            drop = min(skip, batch.num_rows)
            batch = batch.slice(drop)
            skip -= drop
        room = total - (row + have)
        if batch.num_rows > room:
            batch = batch.slice(0, room)
        if batch.num_rows == 0:
            if room <= 0:
                break
            continue
        pending.append(batch)
        have += batch.num_rows
        while have >= chunk_size:
            tbl = pa.Table.from_batches(pending)
            yield emit(tbl.slice(0, chunk_size))
            row += chunk_size
            rest = tbl.slice(chunk_size)
            pending = rest.to_batches() if rest.num_rows else []
            have = rest.num_rows
        if row + have >= total:
            break
    if have:
        yield emit(pa.Table.from_batches(pending))


def iter_pair_chunks(
    path: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    columns: tuple[str, str] = ("candidate", "reference"),
    keep: Sequence[str] = (),
    start_row: int = 0,
    start_offset: int | None = None,
    stop_row: int | None = None,
) -> Iterator[PairChunk]:
    """Stream a JSONL or Parquet pair file in chunks of ``chunk_size`` rows.

    Rows are numbered from 0 (blank JSONL lines are not rows). ``start_row``
    / ``stop_row`` select a range; for JSONL, ``start_offset`` (a chunk's
    ``next_offset`` from an earlier pass) makes the start a seek instead of
    a scan. ``keep`` names further columns to carry along (``chunk.extra``).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"pair file {str(p)!r} does not exist")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    if start_row < 0:
        raise ValueError(f"start_row must be >= 0; got {start_row}")
    keep = [k for k in keep if k not in columns]
    if _file_format(p) == "parquet":
        _require_pyarrow()
        return _iter_parquet(p, int(chunk_size), int(start_row), columns, keep, stop_row)
    return _iter_jsonl(p, int(chunk_size), int(start_row), start_offset, columns, keep, stop_row)


def count_pairs(path: str | os.PathLike[str]) -> int:
    """Number of pair rows (Parquet: from the footer; JSONL: non-blank lines, one pass)."""
    p = Path(path)
    if _file_format(p) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    n = 0
    with open(p, "rb") as f:
        for line in f:
            if line.strip():
                n += 1
    return n


def jsonl_chunk_offsets(path: str | os.PathLike[str], chunk_size: int, offset: int = 0) -> list[tuple[int, int, int]]:
    """``(start_row, n_rows, byte_offset)`` of every ``chunk_size``-row chunk of a JSONL file (one scan).

    With ``offset`` the scan starts at that byte; rows are then counted from
    there (row 0 = the first row at or after ``offset``), offsets stay absolute.
    """
    out: list[tuple[int, int, int]] = []
    row, pos, first, first_off = 0, offset, 0, offset
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f:
            if line.strip():
                if row == first:
                    first_off = pos
                row += 1
                if row - first == chunk_size:
                    out.append((first, chunk_size, first_off))
                    first = row
            pos += len(line)
    if row > first:
        out.append((first, row - first, first_off))
    return out


# ----------------------------------------------------------------------------- scoring


def _to_table(start: int, extra: dict[str, list[Any]], scores: dict[str, np.ndarray]) -> Any:
    import pyarrow as pa

    n = len(next(iter(scores.values()))) if scores else 0
    cols: dict[str, Any] = {"row": pa.array(np.arange(start, start + n, dtype=np.int64))}
    for k, v in extra.items():
        cols[k] = v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(v)
    for k, arr in scores.items():
        cols[k] = pa.array(arr)
    return pa.table(cols)


def _score_chunk(
    chunk: PairChunk, lexical: list[str], cosine: bool, emb: tuple[Embeddings, Embeddings] | None,
    tokenizer: str, workers: int,
) -> Any:
    n = len(chunk)
    a = b = None
    if cosine and emb is not None:
        a = emb[0].rows(chunk.start, chunk.start + n)
        b = emb[1].rows(chunk.start, chunk.start + n)
        # rows load from disk (readahead) while the text is scored; cosine runs last
        emb[0].prefetch(chunk.start, chunk.start + 2 * n)
        emb[1].prefetch(chunk.start, chunk.start + 2 * n)
    scores = score_batch(
        chunk.candidates, chunk.references, [*lexical, *(["cosine"] if cosine else [])],
        emb_a=a, emb_b=b, tokenizer=tokenizer, workers=workers,
    )
    del a, b
    if emb is not None:
        emb[0].release(chunk.start + n)
        emb[1].release(chunk.start + n)
    return _to_table(chunk.start, chunk.extra, scores)


def _open_embeddings(emb_a: Any, emb_b: Any, cosine: bool) -> tuple[Embeddings, Embeddings] | None:
    if (emb_a is None) != (emb_b is None):
        raise ValueError("give both emb_a and emb_b (--emb-a A.npy --emb-b B.npy), one row per pair in each")
    if emb_a is None:
        if cosine:
            raise ValueError("metric 'cosine' needs embeddings: --emb-a A.npy --emb-b B.npy (one row per pair)")
        return None
    if not cosine:
        raise ValueError("embeddings were given but 'cosine' is not in metrics; add it or drop --emb-a/--emb-b")
    a, b = Embeddings(emb_a), Embeddings(emb_b)
    if a.shape != b.shape:
        a.close()
        b.close()
        raise ValueError(f"emb_a and emb_b must have the same shape; got {a.shape} and {b.shape}")
    return a, b


def iter_scored_chunks(
    path: str | os.PathLike[str],
    metrics: str | Sequence[str],
    *,
    emb_a: str | os.PathLike[str] | None = None,
    emb_b: str | os.PathLike[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    columns: tuple[str, str] = ("candidate", "reference"),
    keep: Sequence[str] = (),
    tokenizer: str = "unicode",
    workers: int = 1,
    start_row: int = 0,
    start_offset: int | None = None,
) -> Iterator[tuple[Any, PairChunk]]:
    """Yield ``(pyarrow.Table of scores, input chunk)`` per chunk, reading one chunk ahead.

    The next chunk is parsed on a background thread while the kernels (which
    release the GIL) score the current one. Memory: two chunks of text plus
    one chunk of scores.
    """
    lexical, cosine = parse_metrics(metrics)
    emb = _open_embeddings(emb_a, emb_b, cosine)
    try:
        chunks = iter_pair_chunks(path, chunk_size=chunk_size, columns=columns, keep=keep,
                                  start_row=start_row, start_offset=start_offset)
        with ThreadPoolExecutor(1) as pool:
            nxt = pool.submit(next, chunks, None)
            while True:
                chunk = nxt.result()
                if chunk is None:
                    break
                nxt = pool.submit(next, chunks, None)
                yield _score_chunk(chunk, lexical, cosine, emb, tokenizer, workers), chunk
    finally:
        if emb is not None:
            emb[0].close()
            emb[1].close()


# ----------------------------------------------------------------------------- checkpointed output


@dataclass(frozen=True)
class ScoreSummary:
    """What :func:`score_pairs` did."""

    out: str
    rows: int
    resumed_from: int
    seconds: float
    columns: tuple[str, ...]
    chunks: int

    def as_dict(self) -> dict[str, Any]:
        return {"out": self.out, "rows": self.rows, "resumed_from": self.resumed_from, "seconds": self.seconds,
                "columns": list(self.columns), "chunks": self.chunks}


class _Checkpoint:
    """Part files + progress sidecar next to ``out``; see the module docstring."""

    def __init__(self, out: Path, config: dict[str, Any], resume: bool) -> None:
        self.out = out
        self.parts_dir = out.with_name(out.name + ".parts")
        self.progress_path = out.with_name(out.name + ".progress.json")
        self.config = config
        self.rows_done = 0
        self.offset: int | None = None
        self.parts: list[str] = []
        # temp files of a run killed while writing the progress file or the final output
        for stale in [*out.parent.glob(out.name + ".tmp*"), *out.parent.glob(self.progress_path.name + ".tmp*")]:
            stale.unlink()
        state = None
        if resume and self.progress_path.is_file():
            try:
                state = json.loads(self.progress_path.read_text())
            except ValueError:
                state = None
            if state is not None and (state.get("version") != _PROGRESS_VERSION or state.get("config") != config):
                raise ValueError(
                    f"{str(self.progress_path)!r} belongs to a run with other inputs or settings; "
                    "rerun with --no-resume to start over (or restore the original inputs)"
                )
        if state is None:
            self._clear()
            self.parts_dir.mkdir(parents=True, exist_ok=True)
        else:
            self.rows_done = int(state["rows_done"])
            self.offset = state.get("offset")
            self.parts = list(state["parts"])
            self.parts_dir.mkdir(parents=True, exist_ok=True)
            listed = set(self.parts)
            for p in self.parts_dir.iterdir():  # parts written after the last progress update, temp files
                if p.name not in listed:
                    p.unlink()
            for name in self.parts:
                if not (self.parts_dir / name).is_file():
                    raise ValueError(f"checkpoint part {name!r} is missing from {str(self.parts_dir)!r}; "
                                     "rerun with --no-resume")

    def _clear(self) -> None:
        if self.parts_dir.is_dir():
            for p in self.parts_dir.iterdir():
                p.unlink()
        if self.progress_path.exists():
            self.progress_path.unlink()

    def commit(self, table: Any, start: int, next_offset: int | None) -> None:
        import pyarrow.parquet as pq

        if start != self.rows_done:
            raise RuntimeError(f"internal error: chunk starts at row {start}, expected {self.rows_done}")
        name = f"part-{start:012d}.parquet"
        tmp = self.parts_dir / (name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.parts_dir / name)
        self.parts.append(name)
        self.rows_done = start + table.num_rows
        self.offset = next_offset
        atomic_write_text(self.progress_path, json.dumps({
            "version": _PROGRESS_VERSION, "config": self.config, "rows_done": self.rows_done,
            "offset": self.offset, "parts": self.parts,
        }))

    def finalize(self, empty: Any) -> int:
        """Concatenate the parts into ``out`` (one part in memory at a time); returns rows written."""
        import pyarrow.parquet as pq

        import pyarrow as pa

        tmp = self.out.with_name(self.out.name + f".tmp{os.getpid()}")
        rows = 0
        writer = None
        # JSONL 'keep' columns get their type per chunk (all-null chunk -> null); unify once
        schemas = [pq.read_schema(self.parts_dir / name) for name in self.parts]
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else empty.schema
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise ValueError(f"a kept column holds values of different types in different rows ({e}); "
                             "make its values one type or drop it from keep") from e
        try:
            for name in self.parts:
                tbl = pq.read_table(self.parts_dir / name)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(tbl.select(schema.names).cast(schema))
                rows += tbl.num_rows
            if writer is None:
                writer = pq.ParquetWriter(tmp, empty.schema)
                writer.write_table(empty)
        finally:
            if writer is not None:
                writer.close()
        os.replace(tmp, self.out)
        self._clear()
        self.parts_dir.rmdir()
        return rows


def _file_signature(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _progress_line(done: int, total: int | None, t0: float, stream: Any) -> None:
    dt = max(time.perf_counter() - t0, 1e-9)
    of = f"/{total:,}" if total else ""
    pct = f" {100 * done / total:5.1f}%" if total else ""
    stream.write(f"\r  scored {done:,}{of} pairs{pct}  {done / dt:,.0f} pairs/s ")
    stream.flush()


def score_pairs(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    metrics: str | Sequence[str] = ("rouge1", "rouge2", "rougeL", "chrf"),
    *,
    emb_a: str | os.PathLike[str] | None = None,
    emb_b: str | os.PathLike[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    workers: int = 1,
    resume: bool = True,
    columns: tuple[str, str] = ("candidate", "reference"),
    keep: Sequence[str] = (),
    tokenizer: str = "unicode",
    scheduler: str | Any | None = None,
    progress: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> ScoreSummary:
    """Score every pair of a JSONL / Parquet file into the Parquet file ``out``.

    Output columns: ``row`` (0-based input row), the ``keep`` columns, then
    one column per score (``rouge1``, ``rouge1_precision``, ...,
    ``cosine``). With ``resume=True`` (default) an interrupted run continues
    from its last finished chunk; ``resume=False`` starts over. ``workers``
    are the kernel threads (-1 = all cores). ``scheduler`` (a Dask scheduler
    address or ``distributed.Client``) scores the chunks on a Dask cluster
    instead (:mod:`distillscope.scale.distributed`), with identical results.
    ``on_chunk(rows_done)`` is called after every committed chunk.
    """
    t0 = time.perf_counter()
    _require_pyarrow()
    src = Path(path)
    if not src.is_file():
        raise FileNotFoundError(f"pair file {str(src)!r} does not exist")
    _file_format(src)
    dst = Path(out)
    if not dst.name.lower().endswith((".parquet", ".pq")):
        raise ValueError(f"out must be a Parquet file name ending in .parquet; got {str(dst)!r}")
    if dst.resolve() == src.resolve():
        raise ValueError("out must differ from the input file")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    lexical, cosine = parse_metrics(metrics)
    metric_list = [*lexical, *(["cosine"] if cosine else [])]
    keep = [k for k in keep if k not in columns]
    emb = _open_embeddings(emb_a, emb_b, cosine)
    if emb is not None:
        emb_sig = [emb[0].signature(), emb[1].signature()]
        emb[0].close()
        emb[1].close()
    else:
        emb_sig = None
    total: int | None = None
    if _file_format(src) == "parquet":
        total = count_pairs(src)
        if emb_sig is not None and emb_sig[0]["shape"][0] != total:
            raise ValueError(f"the embedding files have {emb_sig[0]['shape'][0]} rows but {str(src)!r} has {total} "
                             "pairs; they need one row per pair")
    config = {"input": _file_signature(src), "metrics": metric_list, "columns": list(columns), "keep": list(keep),
              "tokenizer": tokenizer, "embeddings": emb_sig}
    ckpt = _Checkpoint(dst, config, resume)
    resumed_from = ckpt.rows_done
    stream = sys.stderr
    n_chunks = 0
    if scheduler is not None:
        from .distributed import _iter_remote_chunks

        results: Iterable[tuple[Any, int, int | None]] = _iter_remote_chunks(
            scheduler, src, metric_list, emb_a=emb_a, emb_b=emb_b, chunk_size=int(chunk_size), columns=columns,
            keep=keep, tokenizer=tokenizer, start_row=ckpt.rows_done, start_offset=ckpt.offset,
        )
    else:
        results = (
            (tbl, chunk.start, chunk.next_offset)
            for tbl, chunk in iter_scored_chunks(
                src, metric_list, emb_a=emb_a, emb_b=emb_b, chunk_size=chunk_size, columns=columns, keep=keep,
                tokenizer=tokenizer, workers=workers, start_row=ckpt.rows_done, start_offset=ckpt.offset,
            )
        )
    for tbl, start, next_offset in results:
        ckpt.commit(tbl, start, next_offset)
        n_chunks += 1
        if progress:
            _progress_line(ckpt.rows_done, total, t0, stream)
        if on_chunk is not None:
            on_chunk(ckpt.rows_done)
    if emb_sig is not None and ckpt.rows_done != emb_sig[0]["shape"][0]:
        raise ValueError(f"the embedding files have {emb_sig[0]['shape'][0]} rows but {str(src)!r} has "
                         f"{ckpt.rows_done} pairs; they need one row per pair")
    if progress:
        stream.write("\n")
    empty = _to_table(0, {k: [] for k in keep}, score_batch([], [], lexical, tokenizer=tokenizer) | (
        {"cosine": np.zeros(0, np.float32)} if cosine else {}))
    rows = ckpt.finalize(empty)
    import pyarrow.parquet as pq

    names = tuple(pq.ParquetFile(dst).schema_arrow.names)
    return ScoreSummary(str(dst), rows, resumed_from, time.perf_counter() - t0, names, n_chunks)


# ----------------------------------------------------------------------------- CLI


def configure_score_pairs(p: Any) -> None:
    import argparse

    p.add_argument("pairs", help="PAIRS.jsonl or PAIRS.parquet; every row has 'candidate' and 'reference' text")
    p.add_argument("--metrics", default="rouge1,rouge2,rougeL,chrf",
                   help=f"comma-separated, from {','.join(PAIR_METRICS)} (rougeN, jaccardN, containmentN too)")
    p.add_argument("--emb-a", help="candidate embeddings .npy (pairs x dim, float32/float16), memory-mapped")
    p.add_argument("--emb-b", help="reference embeddings .npy, one row per pair")
    p.add_argument("--out", required=True, help="output Parquet file")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="pairs per chunk (memory ~ 2 chunks of text)")
    p.add_argument("--workers", type=int, default=-1, help="kernel threads (-1 = all cores)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786): score the chunks on that cluster")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue an interrupted run from its checkpoint")
    p.add_argument("--tokenizer", default="unicode", help="word tokenizer for ROUGE/BLEU/overlap (unicode, rouge, 13a, whitespace)")
    p.add_argument("--candidate-column", default="candidate")
    p.add_argument("--reference-column", default="reference")
    p.add_argument("--keep", default="", help="comma-separated input columns to copy into the output (e.g. id,model)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress line on stderr (default: when stderr is a terminal)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="summary format on stdout")


def run_score_pairs(args: Any) -> int:
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    s = score_pairs(
        args.pairs, args.out, args.metrics, emb_a=args.emb_a, emb_b=args.emb_b, chunk_size=args.chunk_size,
        workers=args.workers, resume=args.resume, columns=(args.candidate_column, args.reference_column),
        keep=[k.strip() for k in args.keep.split(",") if k.strip()], tokenizer=args.tokenizer,
        scheduler=args.scheduler, progress=progress,
    )
    if args.format == "json":
        print(json.dumps(s.as_dict()))
    else:
        resumed = f" (resumed at row {s.resumed_from:,})" if s.resumed_from else ""
        print(f"scored {s.rows:,} pairs in {s.seconds:.1f} s{resumed} -> {s.out}")
        print(f"columns: {', '.join(s.columns)}")
    return 0
