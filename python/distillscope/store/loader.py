"""The one input loader every command uses: stores and importable files to one table.

Inputs are response stores (JSONL records with ``model``, ``prompt_id``,
``sample``, ``response``) or any file the importers read (AlpacaEval
``model_outputs.json``, Arena-Hard / MT-Bench answers, JSONL / CSV /
Parquet tables); files without shared prompt ids are joined by prompt text.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from .importers import detect_kind, import_alpaca_eval, import_arena_hard, import_mt_bench, import_table
from .store import is_record_line, read_records
from .table import ResponseTable, load_table

# Column names tried, in order, when a table names no mapping.
MODEL_COLUMNS = ("model", "model_id", "model_name", "generator")
PROMPT_COLUMNS = ("prompt", "instruction", "question", "input")
RESPONSE_COLUMNS = ("response", "output", "answer", "completion")
ID_COLUMNS = ("prompt_id", "question_id", "uid", "id")
SAMPLE_COLUMNS = ("sample", "sample_index")


def is_store(path: Path) -> bool:
    """True if ``path`` is a response store (JSONL whose first record has model, prompt_id, sample)."""
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return False
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                return is_record_line(line.strip())
    return False


def table_columns(path: Path) -> dict[str, str | None]:
    """The model / prompt / response / id columns of a table, found by name
    (first of ``MODEL_COLUMNS`` etc. present); raises naming the fix when the
    model, the response, or both prompt and id are missing."""
    from .._io import read_rows

    rows = read_rows(path, what="table")
    cols = set(rows[0]) if rows else set()
    if not rows:
        return {"model": None, "prompt": None, "response": None, "id": None, "sample": None}

    def pick(names: tuple[str, ...]) -> str | None:
        return next((c for c in names if c in cols), None)

    found = {"model": pick(MODEL_COLUMNS), "prompt": pick(PROMPT_COLUMNS),
             "response": pick(RESPONSE_COLUMNS), "id": pick(ID_COLUMNS), "sample": pick(SAMPLE_COLUMNS)}
    need: list[tuple[str, tuple[str, ...]]] = [("model", MODEL_COLUMNS), ("response", RESPONSE_COLUMNS)]
    if found["prompt"] is None and found["id"] is None:
        need.append(("prompt", PROMPT_COLUMNS + ID_COLUMNS))
    for field, names in need:
        if found[field] is None:
            raise ValueError(
                f"{path}: no {field} column (looked for {', '.join(names)}; it has {sorted(cols)}); rename the "
                f"column, or import the file with `distillscope import {path.name} --store S.jsonl "
                f"--map {field}=COLUMN` and pass the store"
            )
    return found


def load_inputs(paths: Sequence[str | Path]) -> ResponseTable:
    """One :class:`~distillscope.store.ResponseTable` from stores and importable files."""
    if not paths:
        raise ValueError("give at least one input file (a response store or an importable file)")
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="distillscope-import-") as tmp:
        for i, raw in enumerate(paths):
            p = Path(raw)
            if p.is_dir():
                raise IsADirectoryError(f"input {p} is a folder; give the store or table files in it")
            if not p.is_file():
                raise FileNotFoundError(f"input {p} does not exist")
            if is_store(p):
                records.extend(read_records(p))
                continue
            kind = detect_kind(p)
            store = Path(tmp) / f"import-{i}.jsonl"
            if kind == "table":
                if not p.read_bytes().strip():
                    continue  # an empty file holds no responses
                c = table_columns(p)
                if c["model"] is not None:
                    import_table(p, store, model_column=c["model"], prompt_column=c["prompt"],
                                 response_column=c["response"] or "response", id_column=c["id"],
                                 sample_column=c["sample"])
            else:
                fn = {"alpaca_eval": import_alpaca_eval, "arena_hard": import_arena_hard,
                      "mt_bench": import_mt_bench}[kind]
                fn(p, store)
            records.extend(read_records(store))
    if not records:
        raise ValueError(f"no responses found in {list(map(str, paths))}")
    return load_table(records)


__all__ = ["ID_COLUMNS", "MODEL_COLUMNS", "PROMPT_COLUMNS", "RESPONSE_COLUMNS", "SAMPLE_COLUMNS", "is_store", "load_inputs", "table_columns"]
