"""Checkpointed Parquet output of pair scoring: part files, the progress sidecar and the final concatenation.

Every finished chunk is written as its own Parquet part file
(``OUT.parts/part-<first row>.parquet``, written to a temporary name and
renamed, so a part either exists complete or not at all), then a sidecar
``OUT.progress.json`` records the rows done, the input byte offset and the
configuration (atomically replaced). A run killed at any point (even
``SIGKILL``) resumes at the last recorded chunk; a part written after the
last progress update is discarded and recomputed. When every row is scored
the parts are concatenated into ``OUT`` (again via a temporary name) and the
sidecars are removed.

A run never changes an earlier checkpoint before it records a chunk of its
own: a run that starts over (``resume=False``, or an unreadable sidecar)
writes its first part under a name the earlier checkpoint does not use,
then replaces the sidecar (the switch from the old checkpoint to the new one
is that one atomic rename), and only then deletes the old parts. So a run
that fails, is interrupted or is killed before its first chunk is recorded
leaves the earlier checkpoint resumable, byte for byte.

The input is identified by its size and modification time and, for JSONL,
by the SHA-256 of the bytes of every recorded chunk. A run that stopped on
a bad row can therefore be resumed once that row is fixed: the file's time
and size change, but the bytes the recorded chunks were read from do not,
and the resume goes on from the last recorded chunk whose bytes (and those
of every chunk before it) are unchanged. (A Parquet file is rewritten as a
whole when it is fixed; its checkpoint is kept only while its size and time
are unchanged.)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_write_text

_BLOCK = 1 << 20  # bytes read at a time when hashing the input

PROGRESS_VERSION = 2


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
        return {
            "out": self.out,
            "rows": self.rows,
            "resumed_from": self.resumed_from,
            "seconds": self.seconds,
            "columns": list(self.columns),
            "chunks": self.chunks,
        }


class ScoreCheckpoint:
    """Part files + progress sidecar next to ``out``; see the module docstring.

    ``source`` is the input file; ``config`` the settings a resume must match
    (the input's identity is checked separately, see the module docstring).
    """

    def __init__(self, out: Path, config: dict[str, Any], resume: bool, source: Path | None = None) -> None:
        self.out = out
        self.parts_dir = out.with_name(out.name + ".parts")
        self.progress_path = out.with_name(out.name + ".progress.json")
        self.config = config
        self.source = source
        self.rows_done = 0
        self.offset: int | None = None
        self.parts: list[str] = []
        self.chunks: list[list[Any]] = []  # per part: [rows done after it, input byte offset after it, sha256]
        # temp files of a run killed while writing the progress file or the final output
        for stale in [*out.parent.glob(out.name + ".tmp*"), *out.parent.glob(self.progress_path.name + ".tmp*")]:
            stale.unlink()
        state = None
        if resume and self.progress_path.is_file():
            try:
                state = json.loads(self.progress_path.read_text())
            except ValueError:
                state = None
            if not isinstance(state, dict):  # valid JSON yet no sidecar (a list, a number): as unreadable
                state = None
            if state is not None and state.get("version") != PROGRESS_VERSION:
                raise ValueError(
                    f"{str(self.progress_path)!r} was written by another version of distillscope; "
                    "rerun with --no-resume to start over"
                )
            if state is not None and state.get("config") != config:
                raise ValueError(
                    f"{str(self.progress_path)!r} belongs to a run with other inputs or settings; "
                    "rerun with --no-resume to start over (or restore the original inputs)"
                )
        # Nothing in the parts folder is touched before this run's first commit:
        # a run that starts over leaves the earlier checkpoint as it is until
        # then, and a resume drops the stray files (parts written after the last
        # progress update, temp files) only then too; see commit.
        self._replacing = state is None  # the sidecar on disk is not (yet) this run's
        self._tidy = True  # files the sidecar does not list are deleted after the next commit
        if state is not None:
            self.rows_done = int(state["rows_done"])
            self.offset = state.get("offset")
            self.parts = list(state["parts"])
            self.chunks = [list(c) for c in state.get("chunks") or []]
            for name in self.parts:
                if not (self.parts_dir / name).is_file():
                    raise ValueError(
                        f"checkpoint part {name!r} is missing from {str(self.parts_dir)!r}; rerun with --no-resume"
                    )
            if source is not None and state.get("input") != file_signature(source):
                self._keep_unchanged_prefix()

    def _keep_unchanged_prefix(self) -> None:
        """The input's size or time changed: keep the recorded chunks whose
        bytes are unchanged (hashed again, in order, up to the first that
        differs), or refuse when nothing tells which are."""
        assert self.source is not None
        if len(self.chunks) != len(self.parts) or any(end is None or digest is None for _, end, digest in self.chunks):
            raise ValueError(
                f"{str(self.source)!r} changed since {str(self.progress_path)!r} was written "
                "(a Parquet input is only resumed unchanged); rerun with --no-resume to start over"
            )
        keep = 0
        start = 0
        with open(self.source, "rb") as f:
            for _rows, end, digest in self.chunks:
                if _sha256(f, start, end) != digest:
                    break
                keep += 1
                start = end
        if keep < len(self.parts):
            self.parts, self.chunks = self.parts[:keep], self.chunks[:keep]
            self.rows_done = int(self.chunks[-1][0]) if keep else 0
            self.offset = int(self.chunks[-1][1]) if keep else None
            self._replacing = True  # as for a fresh start: the parts after it go at the next commit

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
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        name = f"part-{start:012d}.parquet"
        if self._replacing:  # never overwrite a part of the checkpoint this run replaces
            n = 0
            while (self.parts_dir / name).exists():
                n += 1
                name = f"part-{start:012d}.{n}.parquet"
        tmp = self.parts_dir / (name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.parts_dir / name)
        digest = None
        if self.source is not None and next_offset is not None:
            with open(self.source, "rb") as f:
                digest = _sha256(f, self.offset or 0, next_offset)
        self.parts.append(name)
        self.chunks.append([start + table.num_rows, next_offset, digest])
        self.rows_done = start + table.num_rows
        self.offset = next_offset
        atomic_write_text(
            self.progress_path,
            json.dumps(
                {
                    "version": PROGRESS_VERSION,
                    "config": self.config,
                    "input": None if self.source is None else file_signature(self.source),
                    "rows_done": self.rows_done,
                    "offset": self.offset,
                    "parts": self.parts,
                    "chunks": self.chunks,
                }
            ),
        )
        if self._tidy:  # the sidecar now names this run's parts only: anything else is garbage
            listed = set(self.parts)
            for p in self.parts_dir.iterdir():
                if p.name not in listed:
                    p.unlink()
            self._replacing = self._tidy = False

    def finalize(self, empty: Any, metadata: dict[str, str] | None = None) -> int:
        """Concatenate the parts into ``out`` (one part in memory at a time); returns rows written.

        ``metadata`` is stored as Parquet key-value metadata of the schema.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        tmp = self.out.with_name(self.out.name + f".tmp{os.getpid()}")
        rows = 0
        writer = None
        # JSONL 'keep' columns get their type per chunk (all-null chunk -> null); unify once
        schemas = [pq.read_schema(self.parts_dir / name) for name in self.parts]
        try:
            schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else empty.schema
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise ValueError(
                f"a kept column holds values of different types in different rows ({e}); "
                "make its values one type or drop it from keep"
            ) from e
        if metadata:
            schema = schema.with_metadata({**(schema.metadata or {}), **metadata})
        try:
            for name in self.parts:
                tbl = pq.read_table(self.parts_dir / name)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(tbl.select(schema.names).cast(schema))
                rows += tbl.num_rows
            if writer is None:
                writer = pq.ParquetWriter(tmp, schema)
                writer.write_table(empty.cast(schema))
        finally:
            if writer is not None:
                writer.close()
        os.replace(tmp, self.out)
        self._clear()
        if self.parts_dir.is_dir():  # a run that started over and had no rows never made it
            self.parts_dir.rmdir()
        return rows


def _sha256(f: Any, start: int, end: int) -> str:
    """SHA-256 of bytes ``start .. end`` of the open binary file ``f``."""
    h = hashlib.sha256()
    f.seek(start)
    left = end - start
    while left > 0:
        block = f.read(min(_BLOCK, left))
        if not block:  # the file is shorter now: it cannot match
            return ""
        h.update(block)
        left -= len(block)
    return h.hexdigest()


def file_signature(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


__all__ = ["PROGRESS_VERSION", "ScoreCheckpoint", "ScoreSummary", "file_signature"]
