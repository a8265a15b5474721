"""Shared file and JSON helpers: row readers, JSON sanitising, atomic writes,
output folders that a failed run removes again.

Every module that reads a table of rows (prompt files, importers, the input
loader) or writes JSON / text outputs uses these, so a file is parsed and
written one way across the package.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "read_rows",
    "read_text",
    "read_csv_rows",
    "parse_json",
    "csv_cell",
    "csv_row",
    "clean_json",
    "dump_json",
    "atomic_write_bytes",
    "atomic_write_text",
    "missing_folders",
    "folders_undone_on_failure",
]


def read_text(path: Path, what: str = "input") -> str:
    """A whole file as text: UTF-8, a leading BOM dropped; anything else is a
    one-line ValueError that says how to convert the file."""
    if path.is_dir():
        raise IsADirectoryError(f"{what} file {path} is a folder; give a file")
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} not found")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError(f"{path}: the {what} file is UTF-16; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path}: the {what} file is not UTF-8 (byte {exc.start} is 0x{data[exc.start]:02x}); "
            "save it as UTF-8 (e.g. iconv -f latin1 -t UTF-8)"
        ) from None


def parse_json(text: str, where: str) -> Any:
    """``json.loads`` whose failures are one-line ValueErrors naming ``where``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"{where}: JSON nested too deeply to read; flatten it") from None
    except ValueError as exc:
        raise ValueError(f"{where}: invalid JSON ({exc})") from None


def read_csv_rows(text: str, path: Path, delimiter: str = ",") -> list[dict[str, Any]]:
    """Rows of CSV/TSV text. Strict: an unterminated quote, a stray quote or
    a row with more fields than the header raises (naming the line) instead
    of silently merging rows."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        for row in reader:
            if None in row:
                raise ValueError(
                    f"{path}:{reader.line_num}: a row has more fields than the header "
                    f"({len(reader.fieldnames or [])}); quote values that contain {delimiter!r}"
                )
            rows.append(row)
    except csv.Error as exc:
        raise ValueError(
            f"{path}:{reader.line_num}: malformed CSV ({exc}); check for an unterminated or stray quote"
        ) from None
    if reader.fieldnames is not None and len(set(reader.fieldnames)) != len(reader.fieldnames):
        raise ValueError(f"{path}: the header repeats a column name ({reader.fieldnames}); rename one")
    return rows


def read_rows(path: Path, what: str = "prompt") -> list[dict[str, Any]]:
    """Rows of a JSONL / JSON-list / CSV / TSV / Parquet file as dicts.

    ``what`` names the file in error messages ("prompt file x.csv not found").
    Every failure to read is a one-line ValueError (or a path error) that
    names the file, the line where it can, and the fix.
    """
    suf = path.suffix.lower()
    if path.is_dir():
        raise IsADirectoryError(f"{what} file {path} is a folder; give a file")
    if suf in (".parquet", ".pq"):
        if not path.is_file():
            raise FileNotFoundError(f"{what} file {path} not found")
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(
                f"{path}: reading Parquet needs pyarrow; pip install 'distillscope[parquet]' or convert to JSONL"
            ) from None
        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises many classes for a bad file
            raise ValueError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}"[:300] + ")") from None
        return rows
    if suf not in (".jsonl", ".ndjson", ".json", ".csv", ".tsv"):
        raise ValueError(f"{path}: unsupported {what} file type {suf!r}; use .jsonl, .json, .csv, .tsv or .parquet")
    text = read_text(path, what)
    if suf in (".csv", ".tsv"):
        return read_csv_rows(text, path, "\t" if suf == ".tsv" else ",")
    if suf == ".json":
        data = parse_json(text, str(path))
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of objects")
        rows = data
    else:
        rows = [parse_json(line, f"{path}:{i}") for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    for i, r in enumerate(rows, 1):
        if not isinstance(r, dict):
            raise ValueError(f"{path}: row {i} is {type(r).__name__}, not an object; each row must be a JSON object")
    return rows


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v: Any) -> Any:
    """A value safe to put in a CSV cell that a spreadsheet may open: text
    starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (which
    a spreadsheet may execute as a formula) gets a leading ``'``; numbers,
    including negative ones, are left alone."""
    if isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER.fullmatch(v):
        return "'" + v
    return v


def csv_row(values: Any) -> list[Any]:
    """:func:`csv_cell` applied to every value of a row."""
    return [csv_cell(v) for v in values]


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
    path.write_text(json.dumps(clean_json(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder
    and ``os.replace``: readers see the old file or the new one, never half.
    The temporary file is named ``<name>.tmp<random>``, so a run killed
    mid-write leaves only files that ``<name>.tmp*`` finds and cleans."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp")
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


def missing_folders(folder: Path) -> list[Path]:
    """The folders ``folder.mkdir(parents=True)`` would create, innermost
    first (``[]`` when ``folder`` exists)."""
    made: list[Path] = []
    d = Path(folder)
    while not d.exists() and d != d.parent:
        made.append(d)
        d = d.parent
    return made


@contextmanager
def folders_undone_on_failure(folder: Path, *, create: bool = True) -> Iterator[list[Path]]:
    """Run the block with ``folder`` (created with its missing parents unless
    ``create=False``: then the block creates it); if the block raises
    (KeyboardInterrupt included), remove the folders that were missing,
    innermost first, each only while it is empty: the first one that holds
    anything (a file the run meant to keep, or one someone else put there)
    and every folder above it stay. A folder already gone is skipped.

    Yields the missing folders, innermost first, so that a caller which owns
    what it wrote inside them can clear that in its own ``except`` first.
    """
    made = missing_folders(folder)
    if create:
        Path(folder).mkdir(parents=True, exist_ok=True)
    try:
        yield made
    except BaseException:
        for d in made:
            try:
                d.rmdir()
            except FileNotFoundError:
                continue
            except OSError:  # not empty (or not ours to remove): keep it and its parents
                break
        raise
