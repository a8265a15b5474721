"""Store integrity (issue 13): a parseable last record is kept newline or
not, only a torn line is repaired (and logged with its byte range), and a
file that is not a store is never written to."""

from __future__ import annotations

import json
import logging

import pytest

from distillscope.store import ResponseStore, make_record, read_records, repair_store
from distillscope.store.importers import import_table


def _line(pid: str) -> bytes:
    return json.dumps(make_record("m", pid, 0, f"answer {pid}")).encode() + b"\n"


def test_last_record_without_newline_is_kept_by_readers_and_writers(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(_line("p1") + _line("p2").rstrip(b"\n"))
    assert [r["prompt_id"] for r in read_records(path)] == ["p1", "p2"]
    assert repair_store(path) == 0
    assert path.read_bytes() == _line("p1") + _line("p2")  # newline added, nothing lost
    with ResponseStore(path) as st:
        assert st.repaired_bytes == 0
        st.append(make_record("m", "p3", 0, "x"))
    assert [r["prompt_id"] for r in read_records(path)] == ["p1", "p2", "p3"]


def test_import_keeps_a_last_record_without_newline(tmp_path):
    store = tmp_path / "s.jsonl"
    store.write_bytes(_line("p1").rstrip(b"\n"))
    table = tmp_path / "t.csv"
    table.write_text("prompt,response\nhello,world\n")
    rep = import_table(table, store, model="other")
    assert rep.imported == 1
    assert [r["prompt_id"] for r in read_records(store)][0] == "p1"


def test_torn_line_repair_is_logged_with_its_byte_range(tmp_path, caplog):
    path = tmp_path / "s.jsonl"
    good = _line("p1")
    path.write_bytes(good + b'{"model":"m","pro')
    with caplog.at_level(logging.WARNING, logger="distillscope.store"):
        removed = repair_store(path)
    assert removed == len(b'{"model":"m","pro')
    assert path.read_bytes() == good
    assert f"bytes {len(good)}-{len(good) + removed}" in caplog.text


@pytest.mark.parametrize(
    "content",
    [b"my notes\nline two\n", b"my notes", b"\x00\x01\x02binary", b"[1, 2, 3]\n", b'{"hello": 1}\n'],
    ids=["text", "one-line-text", "binary", "json-list", "json-object"],
)
def test_a_file_that_is_not_a_store_is_never_written(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a response store"):
        ResponseStore(path).open()
    with pytest.raises(ValueError, match="not a response store"):
        repair_store(path)
    table = tmp_path / "t.csv"
    table.write_text("prompt,response\nhello,world\n")
    with pytest.raises(ValueError, match="not a response store"):
        import_table(table, path, model="m")
    assert path.read_bytes() == content


def test_a_folder_as_store_is_a_path_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        ResponseStore(tmp_path).open()
