"""Reading pair files (JSONL or Parquet of candidate / reference texts) in fixed-size chunks.

Parquet is read with ``pyarrow.ParquetFile.iter_batches`` (only the needed
columns, rebatched to exactly ``chunk_size`` rows); JSONL is read line by line
from a binary file (``orjson`` when installed, else the standard library),
tracking the byte offset of every chunk so that a later read can start there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CHUNK = 16384


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


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as e:
        raise ImportError("pair scoring reads and writes Parquet: pip install 'distillscope[parquet]'") from e


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq", ".parq")):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {str(path)!r}: name it *.jsonl or *.parquet")


def check_pair_file(path: Path) -> None:
    """``path`` is a file that exists (a folder is said to be one, not "missing")."""
    if path.is_dir():
        raise IsADirectoryError(f"pair file {str(path)!r} is a folder; give the JSONL or Parquet file of pairs")
    if not path.is_file():
        raise FileNotFoundError(f"pair file {str(path)!r} does not exist")


def kept_columns(keep: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The further columns to carry along: ``keep`` without the pair columns
    (already read) and with a column named twice kept once, in order."""
    return list(dict.fromkeys(k for k in keep if k not in columns))


def open_parquet(path: Path, **options: Any) -> Any:
    """``pyarrow.parquet.ParquetFile(path)``; a file that is no Parquet (junk,
    empty, truncated) is a one-line ValueError naming it, not pyarrow's ArrowInvalid."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, **options)
    except pa.ArrowInvalid as exc:
        raise ValueError(
            f"{str(path)!r} is not a readable Parquet file ({exc}); give a Parquet or JSONL file"
        ) from None


# a UTF-8 byte order mark, which editors on Windows put before the first line
_BOM = b"\xef\xbb\xbf"


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
        f"row {row}: {name!r} must be a string, got {type(value).__name__}; fill missing texts with '' before scoring"
    )


def _iter_jsonl(
    path: Path,
    chunk_size: int,
    start_row: int,
    start_offset: int | None,
    columns: tuple[str, str],
    keep: Sequence[str],
    stop_row: int | None,
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
            if offset == 0 and line.startswith(_BOM):  # a BOM is read past, as by every other loader
                line = line[len(_BOM) :]
                offset = len(_BOM)
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
                raise ValueError(
                    f"row {row} of {str(path)!r} has no {e.args[0]!r} field; every row needs {cname!r} and {rname!r}"
                ) from None
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
    # pre_buffer=False: with the default, iter_batches keeps every row group it
    # has read cached for the whole iteration (the pool grew by ~1 GB per
    # million pairs in tests), which defeats streaming.
    pf = open_parquet(path, pre_buffer=False)
    names = pf.schema_arrow.names
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{str(path)!r} has no column(s) {missing}; its columns are {names}")
    return pf


def _iter_parquet(
    path: Path,
    chunk_size: int,
    start_row: int,
    columns: tuple[str, str],
    keep: Sequence[str],
    stop_row: int | None,
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
    check_pair_file(p)
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    if start_row < 0:
        raise ValueError(f"start_row must be >= 0; got {start_row}")
    keep = kept_columns(keep, columns)
    if file_format(p) == "parquet":
        require_pyarrow()
        return _iter_parquet(p, int(chunk_size), int(start_row), columns, keep, stop_row)
    return _iter_jsonl(p, int(chunk_size), int(start_row), start_offset, columns, keep, stop_row)


def input_columns(path: str | os.PathLike[str]) -> list[str] | None:
    """The column names of a pair file, read without reading its rows:
    Parquet: the schema; JSONL: the fields of the first row. None when that
    cannot tell (an empty file, a first row that is not a JSON object: the
    scoring reports those with the row number)."""
    p = Path(path)
    if file_format(p) == "parquet":
        require_pyarrow()
        return list(open_parquet(p).schema_arrow.names)
    loads = _loads()
    with open(p, "rb") as f:
        for line in f:
            line = line.removeprefix(_BOM)  # only the first line can hold one: the loop returns there
            if line.strip():
                try:
                    obj = loads(line)
                except ValueError:
                    return None
                return [str(k) for k in obj] if isinstance(obj, dict) else None
    return None


def check_first_pair(
    path: str | os.PathLike[str], columns: tuple[str, str] = ("candidate", "reference"), keep: Sequence[str] = ()
) -> None:
    """Read the first pair of ``path`` the way scoring reads every pair: a
    missing column, a wrong type or a row that is not a JSON object fails
    here, before any output or checkpoint is created."""
    chunks = iter_pair_chunks(path, chunk_size=1, columns=columns, keep=keep, stop_row=1)
    try:
        next(chunks, None)
    finally:
        getattr(chunks, "close", lambda: None)()


def count_pairs(path: str | os.PathLike[str]) -> int:
    """Number of pair rows (Parquet: from the footer; JSONL: non-blank lines, one pass)."""
    p = Path(path)
    if file_format(p) == "parquet":
        return int(open_parquet(p).metadata.num_rows)
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


__all__ = [
    "DEFAULT_CHUNK",
    "PairChunk",
    "check_first_pair",
    "check_pair_file",
    "count_pairs",
    "file_format",
    "input_columns",
    "iter_pair_chunks",
    "jsonl_chunk_offsets",
    "kept_columns",
    "open_parquet",
    "require_pyarrow",
]
