"""The one input loader every command uses: stores and importable files to one table.

Inputs are response stores (JSONL records with ``model``, ``prompt_id``,
``sample``, ``response``) or any file the importers read (AlpacaEval
``model_outputs.json``, Arena-Hard / MT-Bench answers, JSONL / CSV /
Parquet tables); files without shared prompt ids are joined by prompt text.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Sequence

from .importers import detect_kind, import_alpaca_eval, import_arena_hard, import_mt_bench, import_table
from .store import read_records
from .table import ResponseTable, load_table


def is_store(path: Path) -> bool:
    """True if ``path`` is a response store (JSONL whose first record has model, prompt_id, sample)."""
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    rec = json.loads(line)
                except ValueError:
                    return False
                return isinstance(rec, dict) and {"model", "prompt_id", "sample"} <= rec.keys()
    return False


def load_inputs(paths: Sequence[str | Path]) -> ResponseTable:
    """One :class:`~distillscope.store.ResponseTable` from stores and importable files."""
    if not paths:
        raise ValueError("give at least one input file (a response store or an importable file)")
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="distillscope-import-") as tmp:
        for i, raw in enumerate(paths):
            p = Path(raw)
            if not p.is_file():
                raise FileNotFoundError(f"input {p} does not exist")
            if is_store(p):
                records.extend(read_records(p))
                continue
            kind = detect_kind(p)
            store = Path(tmp) / f"import-{i}.jsonl"
            fn = {"alpaca_eval": import_alpaca_eval, "arena_hard": import_arena_hard,
                  "mt_bench": import_mt_bench, "table": import_table}[kind]
            fn(p, store)
            records.extend(read_records(store))
    if not records:
        raise ValueError(f"no responses found in {list(map(str, paths))}")
    return load_table(records)


__all__ = ["is_store", "load_inputs"]
