"""Text kernels take lists, tuples, numpy str/object arrays, pandas Series and pyarrow arrays."""

from __future__ import annotations

import numpy as np
import pytest

import distillscope as ds

CANDS = ["the cat sat on the mat", "Hello, world!", "", "naïve café 中文"]
REFS = ["a cat sat on a mat", "hello there world", "nothing", "café 中文 naïve"]


def _containers():
    yield "tuple", tuple(CANDS), tuple(REFS)
    yield "numpy-str", np.array(CANDS), np.array(REFS)
    yield "numpy-object", np.array(CANDS, dtype=object), np.array(REFS, dtype=object)
    pd = pytest.importorskip("pandas")
    yield "pandas", pd.Series(CANDS), pd.Series(REFS, index=[9, 8, 7, 6])  # index must not matter
    pa = pytest.importorskip("pyarrow")
    yield "pyarrow", pa.array(CANDS), pa.array(REFS, type=pa.large_string())
    yield "pyarrow-chunked", pa.chunked_array([CANDS[:1], CANDS[1:]]), pa.chunked_array([REFS[:3], REFS[3:]])


def test_every_container_gives_the_list_result():
    expected = ds.lexical_scores(CANDS, REFS, ("rouge1", "rougeL", "bleu", "chrf"))
    exp_tok = ds.tokenize(CANDS)
    exp_lsum = ds.rouge_scores(CANDS, REFS, rouge_types=["rougeLsum"])["rougeLsum"].fmeasure
    for name, c, r in _containers():
        got = ds.lexical_scores(c, r, ("rouge1", "rougeL", "bleu", "chrf"))
        for k, v in expected.items():
            np.testing.assert_array_equal(got[k], v, err_msg=name)
        np.testing.assert_array_equal(ds.tokenize(c).values, exp_tok.values, err_msg=name)
        np.testing.assert_array_equal(
            ds.rouge_scores(c, r, rouge_types=["rougeLsum"])["rougeLsum"].fmeasure, exp_lsum, err_msg=name
        )
        np.testing.assert_array_equal(ds.bleu_scores(c, r).score, ds.bleu_scores(CANDS, REFS).score, err_msg=name)


def test_missing_values_are_reported_with_the_row():
    pa = pytest.importorskip("pyarrow")
    with pytest.raises(TypeError, match=r"candidates\[1\] is None"):
        ds.rouge_scores(pa.array(["a", None]), ["a", "b"])
    with pytest.raises(ValueError, match="1-D"):
        ds.rouge_scores(np.array([["a"], ["b"]]), ["a", "b"])
