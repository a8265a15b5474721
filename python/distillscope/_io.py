"""Shared file and JSON helpers: row readers, JSON sanitising, atomic writes.

Every module that reads a table of rows (prompt files, importers, the input
loader) or writes JSON / text outputs uses these, so a file is parsed and
written one way across the package.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["read_rows", "clean_json", "dump_json", "atomic_write_bytes", "atomic_write_text"]


def read_rows(path: Path, what: str = "prompt") -> list[dict[str, Any]]:
    """Rows of a JSONL / JSON-list / CSV / TSV / Parquet file as dicts.

    ``what`` names the file in error messages ("prompt file x.csv not found").
    """
    suf = path.suffix.lower()
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} not found")
    if suf in (".jsonl", ".ndjson"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as exc:
                        raise ValueError(f"{path}:{i}: invalid JSON ({exc})") from None
        return rows
    if suf == ".json":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of objects")
        return data
    if suf in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t" if suf == ".tsv" else ","))
    if suf in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(
                f"{path}: reading Parquet needs pyarrow; pip install 'distillscope[parquet]' or convert to JSONL"
            ) from None
        return pq.read_table(path).to_pylist()
    raise ValueError(f"{path}: unsupported {what} file type {suf!r}; use .jsonl, .json, .csv, .tsv or .parquet")


def clean_json(x: Any) -> Any:
    """JSON-ready copy: numpy scalars/arrays to Python, NaN/inf to None."""
    if isinstance(x, Mapping):
        return {str(k): clean_json(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return clean_json(x.tolist())
    if isinstance(x, (list, tuple)):
        return [clean_json(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    return x


def dump_json(obj: Any, path: Path) -> None:
    """Write ``clean_json(obj)`` as indented UTF-8 JSON (strict: no NaN)."""
    path.write_text(
        json.dumps(clean_json(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder
    and ``os.replace``: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))
