"""Shared file helpers (issue 13): formula neutralising in every CSV the
package writes, strict CSV reading, encodings."""

from __future__ import annotations

import csv
import io
import json

import pytest

from distillscope import cli
from distillscope._io import csv_cell, read_rows
from distillscope.analysis.tables import render_table
from distillscope.identity.formats import format_csv
from distillscope.store.store import ResponseStore, make_record

DANGEROUS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "=HYPERLINK(\"http://x\")"]
HARMLESS = ["hello", "-0.5", "+1", "1e-5", "", "a=b", "-", 3, -4.5, None]


@pytest.mark.parametrize("v", DANGEROUS)
def test_formula_cells_are_neutralised(v):
    assert csv_cell(v) == "'" + v


@pytest.mark.parametrize("v", HARMLESS, ids=repr)
def test_numbers_and_text_are_left_alone(v):
    assert csv_cell(v) == v if v != "-" else csv_cell(v) == "'-"


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def test_render_table_neutralises_values_and_headers():
    text = render_table([{"=cmd()": "=1+1", "score": -0.25}], "csv")
    cells = _cells(text)
    assert "'=cmd()" in cells and "'=1+1" in cells and "-0.25" in cells
    assert not any(c.startswith("=") for c in cells)


def test_identity_csv_is_neutralised():
    level = {"count": 1, "n": 2, "rate": 0.5, "ci_low": 0.1, "ci_high": 0.9}
    block = {lvl: dict(level) for lvl in ("loose", "strict", "hard")}
    rates = {**block, "by_category": {"=evil()": block}, "by_language": {"@lang": block}}
    result = {"rates": rates}
    cells = _cells(format_csv(result))
    assert not any(c.startswith("=") for c in cells)


def test_score_per_prompt_csv_and_matrix_csv_are_neutralised(tmp_path, capsys):
    with ResponseStore(tmp_path / "s.jsonl") as st:
        for m in ("=A1", "@B"):
            for pid in ("=HYPERLINK(\"x\")", "+p2"):
                st.append(make_record(m, pid, 0, f"answer of {m} to {pid} words"))
    assert cli.main(["score", str(tmp_path / "s.jsonl"), "--encoder", "none", "--format", "csv",
                     "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    written = (tmp_path / "out" / "per_prompt_scores.csv").read_text()
    for text in (printed, written):
        cells = _cells("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))
        assert cells and not any(c.startswith(("=", "+", "@")) for c in cells), cells


@pytest.mark.parametrize(
    "data,match",
    [(b'a,b\n1,"x\n2,y\n', "unterminated|malformed"), (b"a,b\n1,2,3\n", "more fields"),
     (b"a,a\n1,2\n", "repeats"), ("a,b\n\xe9,1\n".encode("latin-1"), "not UTF-8"),
     ("a,b\n1,2\n".encode("utf-16"), "UTF-16")],
    ids=["unterminated-quote", "extra-field", "dup-header", "latin1", "utf16"],
)
def test_bad_csv_raises_instead_of_merging_rows(tmp_path, data, match):
    p = tmp_path / "t.csv"
    p.write_bytes(data)
    with pytest.raises(ValueError, match=match):
        read_rows(p, "table")


def test_unterminated_quote_used_to_merge_rows(tmp_path):
    # the silent result the strict reader replaces: one row swallowing the rest
    text = 'prompt,response\nq1,"open\nq2,b\nq3,c\n'
    assert len(list(csv.DictReader(io.StringIO(text)))) == 1
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=r"t.csv:\d+: malformed CSV"):
        read_rows(p, "table")


def test_bom_is_dropped(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"\xef\xbb\xbfid,prompt\n1,hi\n")
    assert read_rows(p) == [{"id": "1", "prompt": "hi"}]
    q = tmp_path / "t.jsonl"
    q.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": 1}).encode() + b"\n")
    assert read_rows(q) == [{"id": 1}]
