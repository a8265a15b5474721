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
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import atomic_write_text

PROGRESS_VERSION = 1


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
            if state is not None and (state.get("version") != PROGRESS_VERSION or state.get("config") != config):
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
                    raise ValueError(
                        f"checkpoint part {name!r} is missing from {str(self.parts_dir)!r}; rerun with --no-resume"
                    )

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
        atomic_write_text(
            self.progress_path,
            json.dumps(
                {
                    "version": PROGRESS_VERSION,
                    "config": self.config,
                    "rows_done": self.rows_done,
                    "offset": self.offset,
                    "parts": self.parts,
                }
            ),
        )

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
        self.parts_dir.rmdir()
        return rows


def file_signature(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


__all__ = ["PROGRESS_VERSION", "ScoreCheckpoint", "ScoreSummary", "file_signature"]
