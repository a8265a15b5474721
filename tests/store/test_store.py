"""Append-only response store: round trip, crash repair, locking."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from distillscope.store.store import (
    ResponseStore,
    StoreLockedError,
    latest_records,
    make_record,
    read_records,
    repair_store,
)


def _rec(model, pid, sample=0, response="r", **kw):
    return make_record(model, pid, sample, response, **kw)


def test_round_trip_keeps_every_field_and_odd_text(tmp_path):
    path = tmp_path / "s.jsonl"
    tricky = 'line1\nline2\u2028 tab\t quote" emoji \U0001f600 中文'
    with ResponseStore(path) as st:
        st.append(_rec("m", "p1", 0, tricky, usage={"prompt_tokens": 3, "completion_tokens": 5}, latency_s=0.25))
        st.append(make_record("m", "p2", 1, None, "HTTP 500: boom", error_kind="http_500", attempts=7))
    raw = path.read_bytes()
    assert raw.count(b"\n") == 2  # one line per record even with newlines in text
    recs = list(read_records(path))
    assert [r["prompt_id"] for r in recs] == ["p1", "p2"]
    assert recs[0]["response"] == tricky
    assert recs[0]["usage"]["completion_tokens"] == 5
    assert recs[1]["error"] == "HTTP 500: boom" and recs[1]["response"] is None and recs[1]["attempts"] == 7


def test_make_record_validates():
    with pytest.raises(ValueError, match="response or an error"):
        make_record("m", "p", 0, None, None)
    with pytest.raises(ValueError, match="meta="):
        make_record("m", "p", 0, "x", bogus=1)
    with pytest.raises(ValueError, match="fsync"):
        ResponseStore("x.jsonl", fsync="sometimes")


def test_append_requires_open_store(tmp_path):
    st = ResponseStore(tmp_path / "s.jsonl")
    with pytest.raises(ValueError, match="not open"):
        st.append(_rec("m", "p"))


@pytest.mark.parametrize(
    "tail",
    [
        b'{"model":"m","prompt_id":"p3","sam',  # cut mid-line, no newline
        b'{"model":"m","prompt_id":"p3","sample":0,"response":"x"',  # cut before newline
        b'{"model":"m","prompt_id":"p3","sam\n',  # torn block that happens to end in \n
    ],
)
def test_half_written_last_line_is_detected_and_repaired(tmp_path, tail):
    path = tmp_path / "s.jsonl"
    with ResponseStore(path) as st:
        st.append(_rec("m", "p1"))
        st.append(_rec("m", "p2"))
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(tail)
    # readers skip the torn line without raising
    assert [r["prompt_id"] for r in read_records(path)] == ["p1", "p2"]
    # opening for append repairs it, and appends land on a clean line
    with ResponseStore(path) as st:
        assert st.repaired_bytes == len(tail)
        st.append(_rec("m", "p3"))
    assert path.read_bytes().startswith(good)
    assert [r["prompt_id"] for r in read_records(path)] == ["p1", "p2", "p3"]
    assert repair_store(path) == 0  # idempotent on a clean file


def test_repair_of_a_file_that_is_only_a_torn_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"model":"m"')
    assert repair_store(path) == len(b'{"model":"m"')
    assert path.read_bytes() == b""
    assert repair_store(tmp_path / "absent.jsonl") == 0


def test_corruption_in_the_middle_is_reported_with_line_number(tmp_path):
    path = tmp_path / "s.jsonl"
    lines = [json.dumps(_rec("m", f"p{i}")) for i in range(3)]
    lines[1] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"s.jsonl:2: corrupt store line"):
        list(read_records(path))
    path.write_text(json.dumps({"hello": 1}) + "\n")
    with pytest.raises(ValueError, match="not a response store"):
        list(read_records(path))


def test_latest_record_wins(tmp_path):
    path = tmp_path / "s.jsonl"
    with ResponseStore(path) as st:
        st.append(make_record("m", "p1", 0, None, "timeout", error_kind="timeout"))
        st.append(_rec("m", "p1", 0, "second try"))
        st.append(_rec("m", "p1", 1, "other sample"))
    latest = latest_records(path)
    assert len(latest) == 2
    assert latest[("m", "p1", 0)]["response"] == "second try"


def test_second_writer_is_refused_while_first_holds_the_lock(tmp_path):
    path = tmp_path / "s.jsonl"
    with ResponseStore(path) as st:
        st.append(_rec("m", "p1"))
        with pytest.raises(StoreLockedError, match="another process"):
            ResponseStore(path).open()
    # the lock is gone once the writer closes
    with ResponseStore(path) as st2:
        st2.append(_rec("m", "p2"))
    assert len(list(read_records(path))) == 2


def test_lock_is_released_when_the_writer_is_killed(tmp_path):
    path = tmp_path / "s.jsonl"
    code = (
        "import os, sys\n"
        "from distillscope.store.store import ResponseStore, make_record\n"
        f"st = ResponseStore({str(path)!r}).open()\n"
        "st.append(make_record('m', 'p1', 0, 'x'))\n"
        "os._exit(0)  # dies without closing: no flush, no unlock\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    with ResponseStore(path) as st:
        st.append(_rec("m", "p2"))
    assert [r["prompt_id"] for r in read_records(path)] == ["p1", "p2"]


@pytest.mark.parametrize("policy", ["always", "interval", "never"])
def test_fsync_policies_write_the_same_bytes(tmp_path, policy):
    path = tmp_path / f"{policy}.jsonl"
    with ResponseStore(path, fsync=policy, fsync_interval_s=0.0) as st:
        for i in range(5):
            st.append(_rec("m", f"p{i}"))
        assert st.appended == 5
    assert len(list(read_records(path))) == 5


def test_store_opens_lazily_and_reprs_its_state(tmp_path):
    st = ResponseStore(tmp_path / "sub" / "s.jsonl")
    assert "closed" in repr(st)
    assert not os.path.exists(tmp_path / "sub")  # nothing touches disk before open
    with st:
        assert "open" in repr(st)
        assert os.path.exists(tmp_path / "sub" / "s.jsonl")
    assert "closed" in repr(st)


from hypothesis import example, given  # noqa: E402
from hypothesis import strategies as st_  # noqa: E402


@given(
    texts=st_.lists(st_.text(max_size=40), min_size=1, max_size=8),
    cut=st_.floats(min_value=0.0, max_value=1.0),
)
@example(texts=["", "", "\x1f\u0800", "0\r\x80\x80\u0800"], cut=0.490234375)  # cut right before p1's newline
def test_any_torn_tail_repairs_to_the_complete_prefix(tmp_path_factory, texts, cut):
    """Cut the file at any byte: repair leaves exactly the records whose
    line was complete, and appending afterwards yields a valid store."""
    path = tmp_path_factory.mktemp("torn") / "s.jsonl"
    with ResponseStore(path, fsync="never") as st:
        for i, t in enumerate(texts):
            st.append(_rec("m", f"p{i}", 0, t))
    data = path.read_bytes()
    off = int(round(cut * len(data)))
    path.write_bytes(data[:off])
    # a cut just before a line's newline leaves a whole record without it: repair keeps
    # that record and adds the newline (store.repair_tail), so it counts as complete
    complete = data[:off].count(b"\n") + (data[off : off + 1] == b"\n")
    with ResponseStore(path, fsync="never") as st:
        st.append(_rec("m", "after", 0, "x"))
    got = list(read_records(path))
    assert [r["prompt_id"] for r in got] == [f"p{i}" for i in range(complete)] + ["after"]
    assert [r["response"] for r in got[:-1]] == texts[:complete]
