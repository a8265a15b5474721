"""The column form of a store: codes, alignment, empty stores."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope.store.store import ResponseStore, make_record
from distillscope.store.table import load_table


def _rec(model, pid, sample=0, response="r", **kw):
    return make_record(model, pid, sample, response, **kw)


def test_load_table_columns_codes_and_alignment(tmp_path):
    path = tmp_path / "s.jsonl"
    with ResponseStore(path) as st:
        for m in ("b", "a"):
            for i in range(4):
                st.append(_rec(m, f"p{i}", 0, f"{m}{i}", usage={"prompt_tokens": i, "completion_tokens": 10 + i}))
        st.append(_rec("a", "p0", 1, "a0-s1"))
        st.append(make_record("b", "p2", 0, None, "HTTP 500", error_kind="http_500"))  # supersedes b/p2
        st.append(_rec("c", "p9", 0, "only c"))
    t = load_table(path)
    assert len(t) == 10
    assert list(t.models) == ["a", "b", "c"]
    assert t.model_code.dtype == np.int32 and t.sample.dtype == np.int32
    assert t.prompt_tokens.dtype == np.int64
    np.testing.assert_array_equal(t.model, t.models[t.model_code])
    # counts per model by integer codes
    np.testing.assert_array_equal(np.bincount(t.model_code, minlength=3), [5, 4, 1])
    assert int(t.ok.sum()) == 9
    assert t.summary()["b"] == {"records": 4, "ok": 3}
    # the b/p2 failure had no usage: -1 marks unknown
    bad = (t.model == "b") & (t.prompt_id == "p2")
    assert t.prompt_tokens[bad][0] == -1 and t.error[bad][0] == "HTTP 500"
    ids, resp = t.aligned(["a", "b"])
    assert list(ids) == ["p0", "p1", "p3"]
    assert list(resp["a"]) == ["a0", "a1", "a3"] and list(resp["b"]) == ["b0", "b1", "b3"]
    ids1, resp1 = t.aligned(["a"], sample=1)
    assert list(ids1) == ["p0"] and list(resp1["a"]) == ["a0-s1"]
    with pytest.raises(ValueError, match="not in the store"):
        t.aligned(["zzz"])
    sub = t.select(t.model == "a")
    assert len(sub) == 5 and set(sub.model) == {"a"}


def test_load_table_from_records_and_empty(tmp_path):
    t = load_table([_rec("m", "p", 0, "x"), _rec("m", "p", 0, "y")])
    assert len(t) == 1 and t.response[0] == "y"
    empty = load_table(tmp_path / "none.jsonl")
    assert len(empty) == 0 and empty.models.shape == (0,)
