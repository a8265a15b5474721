"""Loading responses for a command: response stores and importable files into one ResponseTable."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .store import ResponseTable


def is_store(path: Path) -> bool:
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


def load_inputs(paths: Sequence[str | Path]) -> "ResponseTable":
    """One :class:`~distillscope.store.ResponseTable` from stores and importable files."""
    from . import importers
    from .store import load_table, read_records

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
            kind = importers.detect_kind(p)
            store = Path(tmp) / f"import-{i}.jsonl"
            fn = {"alpaca_eval": importers.import_alpaca_eval, "arena_hard": importers.import_arena_hard,
                  "mt_bench": importers.import_mt_bench, "table": importers.import_table}[kind]
            fn(p, store)
            records.extend(read_records(store))
    if not records:
        raise ValueError(f"no responses found in {list(map(str, paths))}")
    return load_table(records)


__all__ = ["is_store", "load_inputs"]
