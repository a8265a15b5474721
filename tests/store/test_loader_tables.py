"""`score` reads the CSV / Parquet tables `import` reads (issue 13): the one
loader finds the model / prompt / response columns by name."""

from __future__ import annotations

import json

import pytest

from distillscope import cli
from distillscope.store.loader import load_inputs, table_columns

ROWS = [
    {"model": m, "prompt": p, "response": f"{p} answered by {m} with words {i}"}
    for i, (m, p) in enumerate((m, p) for m in ("a", "b") for p in ("first question", "second question"))
]


def _csv(path, rows, names=("model", "prompt", "response")):
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for r in rows:
            w.writerow([r["model"], r["prompt"], r["response"]])


def test_score_reads_a_csv_table(tmp_path, capsys):
    _csv(tmp_path / "t.csv", ROWS)
    assert cli.main(["score", str(tmp_path / "t.csv"), "--encoder", "none", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["models"] == ["a", "b"] and out["n_prompts"] == 2


def test_score_reads_a_parquet_table_with_other_column_names(tmp_path, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    t = pa.table({"generator": [r["model"] for r in ROWS], "instruction": [r["prompt"] for r in ROWS],
                  "output": [r["response"] for r in ROWS]})
    pq.write_table(t, tmp_path / "t.parquet")
    assert table_columns(tmp_path / "t.parquet") == {"model": "generator", "prompt": "instruction",
                                                     "response": "output", "id": None, "sample": None}
    table = load_inputs([tmp_path / "t.parquet"])
    assert list(table.models) == ["a", "b"] and len(table.prompt_ids) == 2


def test_a_table_without_a_model_column_names_the_fix(tmp_path, capsys):
    _csv(tmp_path / "t.csv", ROWS, names=("who", "prompt", "response"))
    rc = cli.main(["score", str(tmp_path / "t.csv"), "--encoder", "none"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "no model column" in err and "--map model=COLUMN" in err and "model_column" not in err


def test_a_sample_column_keeps_every_sample(tmp_path):
    import csv

    with open(tmp_path / "t.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "prompt", "response", "sample"])
        for m in ("a", "b"):
            for p in ("q1", "q2"):
                for s in (0, 1):
                    w.writerow([m, p, f"{m} {p} {s}", s])
    table = load_inputs([tmp_path / "t.csv"])
    assert len(table.sample) == 8 and set(table.sample.tolist()) == {0, 1}
