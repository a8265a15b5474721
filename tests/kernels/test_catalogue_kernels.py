"""Catalogue of bad inputs to the kernels (dense, text, alignment, CosineIndex).

Every entry asserts one of two things: the right result (compared with the
result on the equivalent clean input, or with the documented value), or a
one-line ValueError/TypeError that names the argument and the fix. Entries
that could abort or hang the interpreter if a check regressed (the faiss
paths) run in one child process under a timeout, and each reports its own
outcome, so an abort fails only the entries it reached and never pytest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import distillscope as ds
from distillscope.text.align import align_embeddings
from distillscope.text.lexical import bleu_scores, chrf_scores, lexical_scores, ngram_overlap, rouge_scores
from distillscope.text.tokenize import tokenize


def _child_env() -> dict[str, str]:
    # The child imports the same distillscope as this process (the source
    # tree, an installed wheel or the sanitizer build) and inherits the rest
    # of the environment (LD_PRELOAD of the sanitizer run included).
    env = dict(os.environ)
    pkg_parent = str(Path(ds.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
    return env


_rng = np.random.default_rng(1234)
A = _rng.standard_normal((6, 5)).astype(np.float32)
B = _rng.standard_normal((6, 5)).astype(np.float32)
C = _rng.standard_normal((20, 5)).astype(np.float32)
OFF_A = np.array([0, 2, 2, 6], np.int64)
OFF_B = np.array([0, 3, 5, 6], np.int64)


class Err:
    """Expect ``exc`` with a message matching ``pattern`` on one line."""

    def __init__(self, exc: type[Exception], pattern: str) -> None:
        self.exc, self.pattern = exc, pattern


# --------------------------------------------------------------- arrays
# (name, value, expected) for an argument that must be a 2-D float32 matrix.
BAD_MATRICES: list[tuple[str, Any, Err]] = [
    ("none", None, Err(TypeError, "must be a numpy array, got None")),
    ("str", "abc", Err(TypeError, "float32 array-like")),
    ("dict", {"a": 1}, Err(TypeError, "float32 array-like")),
    ("ragged-list", [[1.0, 2.0], [3.0]], Err(TypeError, "float32 array-like")),
    ("int-too-big", [[10**400]], Err(TypeError, "float32 array-like")),
    ("object-array", np.array([[1.0, "a"]], dtype=object), Err(TypeError, r"astype\(np.float32\)")),
    ("complex64", np.ones((2, 5), np.complex64), Err(TypeError, r"astype\(np.float32\)")),
    ("int64", np.ones((2, 5), np.int64), Err(TypeError, r"astype\(np.float32\)")),
    ("bool", np.ones((2, 5), bool), Err(TypeError, r"astype\(np.float32\)")),
    ("datetime", np.zeros((2, 5), "datetime64[D]"), Err(TypeError, r"astype\(np.float32\)")),
    ("1-D", np.ones(5, np.float32), Err(ValueError, "must be 2-D")),
    ("3-D", np.ones((2, 2, 5), np.float32), Err(ValueError, "must be 2-D")),
    ("0-D", np.float32(1.0), Err(ValueError, "must be 2-D")),
    ("scalar", 3.0, Err(ValueError, "must be 2-D")),
]

# Each kernel with its matrix arguments: call(x) puts x in that slot.
MATRIX_SLOTS: dict[str, Callable[[Any], Any]] = {
    "paired.a": lambda x: ds.cosine_paired(x, B),
    "paired.b": lambda x: ds.cosine_paired(A, x),
    "grouped.a": lambda x: ds.cosine_grouped(x, OFF_A, B, OFF_B),
    "grouped.b": lambda x: ds.cosine_grouped(A, OFF_A, x, OFF_B),
    "topk.queries": lambda x: ds.cosine_topk(x, C, 3),
    "topk.corpus": lambda x: ds.cosine_topk(A, x, 1),
    "l2.x": lambda x: ds.l2_normalize(x),
    "align.cand": lambda x: align_embeddings(x, OFF_A, B, OFF_B),
    "align.ref": lambda x: align_embeddings(A, OFF_A, x, OFF_B),
    "index.corpus": lambda x: ds.CosineIndex(x),
    "index.search": lambda x: ds.CosineIndex(C).search(x, 2),
}


def _matrix_cases():
    for slot, call in MATRIX_SLOTS.items():
        for name, value, exp in BAD_MATRICES:
            yield pytest.param(call, value, exp, id=f"{slot}-{name}")


def _one_line_error(exp: Err, fn: Callable[[], Any]) -> None:
    with pytest.raises(exp.exc) as info:
        fn()
    msg = str(info.value)
    assert type(info.value) in (ValueError, TypeError), type(info.value)
    assert "\n" not in msg and msg.strip(), repr(msg)
    assert re.search(exp.pattern, msg), f"{msg!r} does not match {exp.pattern!r}"


@pytest.mark.parametrize("call,value,exp", list(_matrix_cases()))
def test_bad_matrix(call, value, exp):
    _one_line_error(exp, lambda: call(value))


# ------------------------------------------ valid but unusual layouts
# The result must equal the result on the clean, contiguous float32 input.
def _layouts(x: np.ndarray) -> list[tuple[str, Any]]:
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), np.float32)
    wide[:, ::2] = x
    rev = np.ascontiguousarray(x[::-1])
    return [
        ("strided", wide[:, ::2]),
        ("fortran", np.asfortranarray(x)),
        ("reversed-view", rev[::-1]),
        ("list", x.tolist()),
        ("tuple", tuple(map(tuple, x.tolist()))),
        ("readonly", _readonly(x)),
        ("float16", x.astype(np.float16)),
        ("float64", x.astype(np.float64)),  # converted once to float32 (exact for float32 values)
    ]


def _readonly(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y.flags.writeable = False
    return y


LAYOUT_SLOTS: dict[str, tuple[np.ndarray, Callable[[Any], Any]]] = {
    "paired.a": (A, lambda x: ds.cosine_paired(x, B)),
    "grouped.b": (B, lambda x: ds.cosine_grouped(A, OFF_A, x, OFF_B, reduce="f1")),
    "topk.corpus": (C, lambda x: ds.cosine_topk(A, x, 4)),
    "l2.x": (A, lambda x: ds.l2_normalize(x)),
    "align.cand": (A, lambda x: align_embeddings(x, OFF_A, B, OFF_B).as_dict()),
    "index.search": (A, lambda x: ds.CosineIndex(C).search(x, 3)),
}


def _flat(res: Any) -> list[np.ndarray]:
    if isinstance(res, dict):
        return [res[k] for k in sorted(res)]
    if isinstance(res, tuple):
        return list(res)
    return [res]


def _layout_cases():
    for slot, (clean, call) in LAYOUT_SLOTS.items():
        for name, value in _layouts(clean):
            yield pytest.param(clean, call, value, name, id=f"{slot}-{name}")


@pytest.mark.parametrize("clean,call,value,name", list(_layout_cases()))
def test_unusual_layout_gives_the_clean_result(clean, call, value, name):
    if name == "float16" and call is not LAYOUT_SLOTS["paired.a"][1]:
        # float16 is converted once to float32 (documented): compare with that.
        clean = clean.astype(np.float16).astype(np.float32)
    if name == "float16" and call is LAYOUT_SLOTS["paired.a"][1]:
        _one_line_error(Err(TypeError, "same dtype"), lambda: call(value))  # a f16, b f32: mixed
        return
    for got, want in zip(_flat(call(value)), _flat(call(clean)), strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want, equal_nan=got.dtype.kind == "f")


# ------------------------------------------------ NaN, inf, huge, zero
def _with(x: np.ndarray, row: int, value: float) -> np.ndarray:
    y = x.copy()
    y[row, 1] = value
    return y


def _nan_rows(x: np.ndarray, rows: list[int]) -> np.ndarray:
    y = x.copy()
    y[rows] = np.nan
    return y


SPECIAL_VALUE_CASES = [
    (
        "paired-nan",
        lambda: ds.cosine_paired(_with(A, 2, np.nan), B),
        lambda r: np.isnan(r[2]) and not np.isnan(np.delete(r, 2)).any(),
    ),
    (
        "paired-inf",
        lambda: ds.cosine_paired(_with(A, 2, np.inf), B),
        lambda r: np.isnan(r[2]) and not np.isnan(np.delete(r, 2)).any(),
    ),
    ("paired-zero-row", lambda: ds.cosine_paired(np.zeros_like(A), B), lambda r: (r == 0).all()),
    (
        "paired-huge",
        lambda: ds.cosine_paired(A * np.float32(1e30), B),
        lambda r: np.allclose(r, ds.cosine_paired(A, B), atol=1e-6),
    ),
    (
        "paired-tiny",
        lambda: ds.cosine_paired(A * np.float32(1e-30), B),
        lambda r: np.allclose(r, ds.cosine_paired(A, B), atol=1e-6),
    ),
    (
        "paired-max-float",
        lambda: ds.cosine_paired(np.full((2, 5), 3.4e38, np.float32), np.ones((2, 5), np.float32)),
        lambda r: np.allclose(r, 1.0, atol=1e-6),
    ),
    (
        "paired-subnormal",
        lambda: ds.cosine_paired(np.full((2, 5), 1e-45, np.float32), np.ones((2, 5), np.float32)),
        lambda r: np.allclose(r, 1.0, atol=1e-6),
    ),
    (
        "grouped-nan-row",
        lambda: ds.cosine_grouped(_with(A, 3, np.nan), OFF_A, B, OFF_B),
        lambda r: np.isnan(r[2]) and not np.isnan(r[0]),
    ),
    (
        "grouped-inf-row",
        lambda: ds.cosine_grouped(_with(A, 0, -np.inf), OFF_A, B, OFF_B, reduce="max"),
        lambda r: np.isnan(r[0]) and not np.isnan(r[2]),
    ),
    (
        "grouped-huge",
        lambda: ds.cosine_grouped(A * np.float32(1e25), OFF_A, B, OFF_B),
        lambda r: np.allclose(r, ds.cosine_grouped(A, OFF_A, B, OFF_B), atol=1e-6, equal_nan=True),
    ),
    (
        "grouped-zero-rows",
        lambda: ds.cosine_grouped(np.zeros_like(A), OFF_A, B, OFF_B, reduce="f1"),
        lambda r: r[0] == 0 and np.isnan(r[1]) and r[2] == 0,
    ),
    (
        "topk-nan-query",
        lambda: ds.cosine_topk(_with(A, 0, np.nan), C, 3),
        lambda r: np.isnan(r[0][0]).all() and r[1][0].tolist() == [0, 1, 2],
    ),
    (
        "topk-nan-corpus",
        lambda: ds.cosine_topk(A, _nan_rows(C, [0, 5]), 20),
        lambda r: np.isnan(r[0][:, -2:]).all() and (r[1] >= 0).all(),
    ),
    (
        "topk-faiss-nan-corpus",
        lambda: ds.cosine_topk(A, _nan_rows(C, [0, 5]), 20, method="faiss"),
        lambda r: np.isnan(r[0][:, -2:]).all() and (r[1] >= 0).all(),
    ),
    (
        "topk-faiss-huge",
        lambda: ds.cosine_topk(A * np.float32(1e25), C, 3, method="faiss"),
        lambda r: np.array_equal(r[1], ds.cosine_topk(A, C, 3, method="native")[1]),
    ),
    (
        "topk-faiss-tiny",
        lambda: ds.cosine_topk(A, C * np.float32(1e-25), 3, method="faiss"),
        lambda r: np.array_equal(r[1], ds.cosine_topk(A, C, 3, method="native")[1]),
    ),
    (
        "l2-nan",
        lambda: ds.l2_normalize(_with(A, 1, np.nan)),
        lambda r: np.isnan(r[1]).all() and not np.isnan(np.delete(r, 1, axis=0)).any(),
    ),
    ("l2-huge", lambda: ds.l2_normalize(A * np.float32(1e30)), lambda r: np.allclose(r, ds.l2_normalize(A), atol=1e-6)),
    (
        "l2-tiny",
        lambda: ds.l2_normalize(A * np.float32(1e-30)),
        lambda r: np.allclose(r, ds.l2_normalize(A), atol=1e-6),
    ),
    ("l2-zero", lambda: ds.l2_normalize(np.zeros((3, 5), np.float32)), lambda r: (r == 0).all()),
    (
        "align-nan",
        lambda: align_embeddings(_with(A, 3, np.nan), OFF_A, B, OFF_B).as_dict(),
        lambda r: all(np.isnan(v[2]) and not np.isnan(v[0]) for v in r.values()),
    ),
    (
        "align-huge",
        lambda: align_embeddings(A * np.float32(1e25), OFF_A, B, OFF_B).as_dict(),
        lambda r: all(
            np.allclose(v, align_embeddings(A, OFF_A, B, OFF_B).as_dict()[k], atol=1e-5, equal_nan=True)
            for k, v in r.items()
        ),
    ),
    (
        "cos-sim-huge-tiny",
        lambda: ds.cos_sim(A * np.float32(1e25), C * np.float32(1e-25)),
        lambda r: np.allclose(r, ds.cos_sim(A, C), atol=1e-6),
    ),
    (
        "cos-sim-nan-row",
        lambda: ds.cos_sim(_with(A, 2, np.nan), C),
        lambda r: np.isnan(r[2]).all() and not np.isnan(np.delete(r, 2, axis=0)).any(),
    ),
    ("cos-sim-zero-row", lambda: ds.cos_sim(np.zeros((2, 5), np.float32), C), lambda r: (r == 0).all()),
    (
        "index-zero-query",
        lambda: ds.CosineIndex(C).search(np.zeros((2, 5), np.float32), 3),
        lambda r: (r[0] == 0).all() and r[1].tolist() == [[0, 1, 2], [0, 1, 2]],
    ),
]


@pytest.mark.parametrize("fn,check", [pytest.param(f, c, id=n) for n, f, c in SPECIAL_VALUE_CASES])
def test_special_values_give_the_documented_result(fn, check):
    with np.errstate(all="ignore"):
        assert check(fn())


# ------------------------------------------------------------- empty
EMPTY_CASES = [
    (
        "paired-no-rows",
        lambda: ds.cosine_paired(np.zeros((0, 5), np.float32), np.zeros((0, 5), np.float32)),
        lambda r: r.shape == (0,),
    ),
    (
        "paired-no-columns",
        lambda: ds.cosine_paired(np.zeros((3, 0), np.float32), np.zeros((3, 0), np.float32)),
        lambda r: (r == 0).all(),
    ),
    (
        "grouped-no-groups",
        lambda: ds.cosine_grouped(np.zeros((0, 5), np.float32), [0], np.zeros((0, 5), np.float32), [0]),
        lambda r: r.shape == (0,),
    ),
    ("grouped-empty-sides", lambda: ds.cosine_grouped(A, [0, 0, 6], B, [0, 6, 6]), lambda r: np.isnan(r).all()),
    (
        "topk-no-queries",
        lambda: ds.cosine_topk(np.zeros((0, 5), np.float32), C, 2),
        lambda r: r[0].shape == r[1].shape == (0, 2),
    ),
    (
        "topk-faiss-no-queries",
        lambda: ds.cosine_topk(np.zeros((0, 5), np.float32), C, 2, method="faiss"),
        lambda r: r[0].shape == r[1].shape == (0, 2),
    ),
    (
        "topk-no-columns",
        lambda: ds.cosine_topk(np.zeros((2, 0), np.float32), np.zeros((3, 0), np.float32), 2),
        lambda r: (r[0] == 0).all() and r[1].tolist() == [[0, 1], [0, 1]],
    ),
    ("l2-no-rows", lambda: ds.l2_normalize(np.zeros((0, 5), np.float32)), lambda r: r.shape == (0, 5)),
    ("l2-no-columns", lambda: ds.l2_normalize(np.zeros((4, 0), np.float32)), lambda r: r.shape == (4, 0)),
    (
        "align-no-groups",
        lambda: align_embeddings(np.zeros((0, 5), np.float32), [0], np.zeros((0, 5), np.float32), [0]).precision,
        lambda r: r.shape == (0,),
    ),
    (
        "align-one-side-empty",
        lambda: align_embeddings(A, [0, 6], np.zeros((0, 5), np.float32), [0, 0]).f1,
        lambda r: r.tolist() == [0.0],
    ),
    (
        "index-search-no-queries",
        lambda: ds.CosineIndex(C, kind="hnsw").search(np.zeros((0, 5), np.float32), 2),
        lambda r: r[1].shape == (0, 2),
    ),
    ("rouge-empty", lambda: rouge_scores([], []).scores["rouge1"].fmeasure, lambda r: r.shape == (0,)),
    ("bleu-empty", lambda: bleu_scores([], []).score, lambda r: r.shape == (0,)),
    ("chrf-empty", lambda: chrf_scores([], []).score, lambda r: r.shape == (0,)),
    ("chrf++-empty", lambda: chrf_scores([], [], word_order=2).score, lambda r: r.shape == (0,)),
    (
        "lexical-empty",
        lambda: lexical_scores([], [], metrics=("rouge1", "bleu", "chrf")),
        lambda r: all(v.shape == (0,) for v in r.values()),
    ),
    ("overlap-empty", lambda: ngram_overlap([], [], n=2).jaccard, lambda r: r.shape == (0,)),
    ("tokenize-empty", lambda: tokenize([]), lambda r: len(r) == 0),
    (
        "rouge-empty-strings",
        lambda: rouge_scores(["", " "], ["", "a"]).scores["rouge1"].fmeasure,
        lambda r: r.tolist() == [0.0, 0.0],
    ),
    ("chrf-empty-strings", lambda: chrf_scores(["", "abc"], ["", ""]).score, lambda r: r.tolist() == [0.0, 0.0]),
    ("bleu-empty-strings", lambda: bleu_scores(["", "a b"], ["", ""]).score, lambda r: r.tolist() == [0.0, 0.0]),
]


@pytest.mark.parametrize("fn,check", [pytest.param(f, c, id=n) for n, f, c in EMPTY_CASES])
def test_empty_inputs(fn, check):
    assert check(fn())


# ------------------------------------------------ options and shapes
def _w(**kw):
    return lambda: ds.cosine_grouped(A, OFF_A, B, OFF_B, **kw)


OPTION_CASES = [
    # workers, for every entry point
    ("paired-workers-0", lambda: ds.cosine_paired(A, B, workers=0), Err(ValueError, "workers must be >= 1")),
    ("paired-workers-bool", lambda: ds.cosine_paired(A, B, workers=True), Err(TypeError, "workers must be an int")),
    ("grouped-workers-float", _w(workers=1.5), Err(TypeError, "workers must be an int")),
    ("grouped-workers-str", _w(workers="2"), Err(TypeError, "workers must be an int")),
    ("grouped-workers-huge", _w(workers=2**40), Err(ValueError, "workers must be at most")),
    ("grouped-workers--2", _w(workers=-2), Err(ValueError, "workers must be >= 1, or -1")),
    ("topk-workers-none", lambda: ds.cosine_topk(A, C, 2, workers=None), Err(TypeError, "workers must be an int")),
    ("l2-workers-0", lambda: ds.l2_normalize(A, workers=0), Err(ValueError, "workers")),
    (
        "align-workers-str",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, workers="4"),
        Err(TypeError, "workers must be an int"),
    ),
    ("index-workers-0", lambda: ds.CosineIndex(C, workers=0), Err(ValueError, "workers")),
    ("rouge-workers-str", lambda: rouge_scores(["a"], ["a"], workers="2"), Err(TypeError, "workers must be an int")),
    ("tokenize-workers-0", lambda: tokenize(["a"], workers=0), Err(ValueError, "workers")),
    (
        "lexical-workers-float",
        lambda: lexical_scores(["a"], ["a"], workers=2.0),
        Err(TypeError, "workers must be an int"),
    ),
    ("cos-sim-workers-0", lambda: ds.cos_sim(A, C, workers=0), Err(ValueError, "workers")),
    ("cos-sim-out-shape", lambda: ds.cos_sim(A, C, out=np.empty((2, 2), np.float32)), Err(ValueError, "out must be")),
    ("cos-sim-columns", lambda: ds.cos_sim(A, C[:, :3]), Err(ValueError, "same number of columns")),
    # reduce / method / kind
    ("grouped-reduce-bad", _w(reduce="median"), Err(ValueError, "reduce must be one of")),
    ("grouped-reduce-none", _w(reduce=None), Err(ValueError, "reduce must be one of")),
    ("grouped-reduce-upper", _w(reduce="MEAN"), Err(ValueError, "reduce must be one of")),
    ("topk-method-bad", lambda: ds.cosine_topk(A, C, 2, method="ivf"), Err(ValueError, "method must be")),
    ("topk-method-none", lambda: ds.cosine_topk(A, C, 2, method=None), Err(ValueError, "method must be")),
    ("index-kind-bad", lambda: ds.CosineIndex(C, kind="ivf"), Err(ValueError, "kind must be")),
    # k
    ("topk-k-0", lambda: ds.cosine_topk(A, C, 0), Err(ValueError, "k must be between 1 and 20")),
    ("topk-k-neg", lambda: ds.cosine_topk(A, C, -3), Err(ValueError, "k must be between 1 and 20")),
    ("topk-k-huge", lambda: ds.cosine_topk(A, C, 10**12), Err(ValueError, "k must be between 1 and 20")),
    ("topk-k-float", lambda: ds.cosine_topk(A, C, 2.7), Err(TypeError, "k must be an int")),
    ("topk-k-str", lambda: ds.cosine_topk(A, C, "3"), Err(TypeError, "k must be an int")),
    ("topk-k-bool", lambda: ds.cosine_topk(A, C, True), Err(TypeError, "k must be an int")),
    ("topk-k-array", lambda: ds.cosine_topk(A, C, np.array([2])), Err(TypeError, "k must be an int")),
    ("search-k-float", lambda: ds.CosineIndex(C).search(A, 2.7), Err(TypeError, "k must be an int")),
    ("search-k-huge", lambda: ds.CosineIndex(C).search(A, 21), Err(ValueError, "k must be between 1 and 20")),
    ("search-k-neg", lambda: ds.CosineIndex(C).search(A, -1), Err(ValueError, "k must be between 1 and 20")),
    ("search-k-none", lambda: ds.CosineIndex(C).search(A, None), Err(TypeError, "k must be an int")),
    # shapes that disagree
    ("paired-shape-mismatch", lambda: ds.cosine_paired(A, B[:4]), Err(ValueError, "same shape")),
    ("paired-dtype-mismatch", lambda: ds.cosine_paired(A.astype(np.float16), B), Err(TypeError, "same dtype")),
    ("paired-int32", lambda: ds.cosine_paired(A.astype(np.int32), B), Err(TypeError, r"astype\(np.float32\)")),
    ("grouped-columns", lambda: ds.cosine_grouped(A, OFF_A, B[:, :4], OFF_B), Err(ValueError, "same number of col")),
    ("topk-columns", lambda: ds.cosine_topk(A, C[:, :3], 2), Err(ValueError, "same number of columns")),
    (
        "topk-empty-corpus",
        lambda: ds.cosine_topk(A, np.zeros((0, 5), np.float32), 1),
        Err(ValueError, "corpus is empty"),
    ),
    ("search-columns", lambda: ds.CosineIndex(C).search(A[:, :4], 2), Err(ValueError, "columns")),
    ("index-empty", lambda: ds.CosineIndex(np.zeros((0, 5), np.float32)), Err(ValueError, "corpus is empty")),
    ("index-no-columns", lambda: ds.CosineIndex(np.zeros((3, 0), np.float32)), Err(ValueError, "0 columns")),
    ("align-columns", lambda: align_embeddings(A, OFF_A, B[:, :2], OFF_B), Err(ValueError, "same number of col")),
    # offsets
    ("offsets-none", lambda: ds.cosine_grouped(A, None, B, OFF_B), Err(TypeError, "a_offsets must be an int64")),
    ("offsets-float", lambda: ds.cosine_grouped(A, OFF_A.astype(float), B, OFF_B), Err(TypeError, "integer array")),
    ("offsets-str", lambda: ds.cosine_grouped(A, ["0", "6"], B, [0, 6]), Err(TypeError, "integer array")),
    ("offsets-2d", lambda: ds.cosine_grouped(A, OFF_A[None], B, OFF_B), Err(ValueError, "1-D")),
    ("offsets-empty", lambda: ds.cosine_grouped(A, [], B, []), Err(ValueError, "length G\\+1 >= 1")),
    ("offsets-length", lambda: ds.cosine_grouped(A, [0, 6], B, OFF_B), Err(ValueError, "length G\\+1")),
    (
        "offsets-start",
        lambda: ds.cosine_grouped(A, [1, 2, 2, 6], B, OFF_B),
        Err(ValueError, r"a_offsets\[0\] must be 0"),
    ),
    ("offsets-decreasing", lambda: ds.cosine_grouped(A, [0, 4, 2, 6], B, OFF_B), Err(ValueError, "non-decreasing")),
    ("offsets-negative", lambda: ds.cosine_grouped(A, [0, -1, 2, 6], B, OFF_B), Err(ValueError, "non-decreasing")),
    ("offsets-end", lambda: ds.cosine_grouped(A, [0, 2, 2, 5], B, OFF_B), Err(ValueError, "number of rows")),
    ("offsets-past-end", lambda: ds.cosine_grouped(A, [0, 2, 2, 2**62], B, OFF_B), Err(ValueError, "number of rows")),
    (
        "offsets-uint64-big",
        lambda: ds.cosine_grouped(A, np.array([0, 2**63 + 1], np.uint64), B, [0, 6]),
        Err(ValueError, "beyond int64"),
    ),
    ("align-offsets-end", lambda: align_embeddings(A, OFF_A, B, [0, 3, 5, 7]), Err(ValueError, "number of rows")),
    # alignment options
    (
        "align-threshold-nan",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, threshold=float("nan")),
        Err(TypeError, "threshold must be a number"),
    ),
    (
        "align-threshold-str",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, threshold="high"),
        Err(TypeError, "threshold must be a number"),
    ),
    (
        "align-threshold-range",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, threshold=5),
        Err(ValueError, r"threshold must be a cosine in \[-1, 1\]"),
    ),
    (
        "align-weights-neg",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, cand_weights=-np.ones(6)),
        Err(ValueError, "finite and >= 0"),
    ),
    (
        "align-weights-nan",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, ref_weights=np.full(6, np.nan)),
        Err(ValueError, "finite and >= 0"),
    ),
    (
        "align-weights-inf",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, ref_weights=np.full(6, np.inf)),
        Err(ValueError, "finite and >= 0"),
    ),
    (
        "align-weights-length",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, ref_weights=np.ones(5)),
        Err(ValueError, "one weight per row"),
    ),
    # text kernels
    ("rouge-single-str", lambda: rouge_scores("a cat", "a cat"), Err(TypeError, "wrap it in a list")),
    ("rouge-none", lambda: rouge_scores(None, ["a"]), Err(TypeError, "must be a sequence")),
    ("rouge-int-item", lambda: rouge_scores([1], ["a"]), Err(TypeError, r"candidates\[0\] must be str")),
    (
        "rouge-none-item",
        lambda: rouge_scores(["a", None], ["a", "b"]),
        Err(TypeError, r"candidates\[1\] is None; replace missing texts"),
    ),
    ("rouge-length", lambda: rouge_scores(["a"], ["a", "b"]), Err(ValueError, "same length")),
    ("rouge-surrogate", lambda: rouge_scores(["\ud800 x"], ["x"]), Err(ValueError, "lone surrogate")),
    ("rouge-bad-bytes", lambda: rouge_scores([b"\xff\xfe"], [b"a"]), Err(ValueError, "UTF-8")),
    ("rouge-type-0", lambda: rouge_scores(["a"], ["a"], rouge_types=["rouge0"]), Err(ValueError, "rouge type")),
    ("rouge-type-bad", lambda: rouge_scores(["a"], ["a"], rouge_types=["rougeX"]), Err(ValueError, "rouge type")),
    ("rouge-tokenizer", lambda: rouge_scores(["a"], ["a"], tokenizer="spacy"), Err(ValueError, "tokenizer must be")),
    ("bleu-order-0", lambda: bleu_scores(["a"], ["a"], max_ngram_order=0), Err(ValueError, "between 1 and 64")),
    ("bleu-order-100", lambda: bleu_scores(["a"], ["a"], max_ngram_order=100), Err(ValueError, "between 1 and 64")),
    (
        "bleu-order-float",
        lambda: bleu_scores(["a"], ["a"], max_ngram_order=2.5),
        Err(TypeError, "max_ngram_order must be an int"),
    ),
    ("bleu-smooth-method", lambda: bleu_scores(["a"], ["a"], smooth_method="x"), Err(ValueError, "smooth_method")),
    (
        "bleu-smooth-neg",
        lambda: bleu_scores(["a"], ["a"], smooth_method="floor", smooth_value=-1),
        Err(ValueError, "smooth_value must be a finite number >= 0"),
    ),
    (
        "bleu-smooth-nan",
        lambda: bleu_scores(["a"], ["a"], smooth_method="add-k", smooth_value=float("nan")),
        Err(ValueError, "smooth_value must be a finite number >= 0"),
    ),
    (
        "bleu-smooth-str",
        lambda: bleu_scores(["a"], ["a"], smooth_method="add-k", smooth_value="1"),
        Err(TypeError, "smooth_value must be a number"),
    ),
    ("chrf-beta-neg", lambda: chrf_scores(["a"], ["a"], beta=-1), Err(ValueError, "beta must be a finite")),
    ("chrf-beta-nan", lambda: chrf_scores(["a"], ["a"], beta=float("nan")), Err(ValueError, "beta must be a finite")),
    ("chrf-beta-inf", lambda: chrf_scores(["a"], ["a"], beta=float("inf")), Err(ValueError, "beta must be a finite")),
    ("chrf-beta-none", lambda: chrf_scores(["a"], ["a"], beta=None), Err(TypeError, "beta must be a number")),
    ("chrf-orders-0", lambda: chrf_scores(["a"], ["a"], char_order=0), Err(ValueError, "positive sum")),
    ("chrf-orders-neg", lambda: chrf_scores(["a"], ["a"], char_order=-1), Err(ValueError, ">= 0")),
    ("chrf-orders-100", lambda: chrf_scores(["a"], ["a"], char_order=100), Err(ValueError, "at most 64")),
    (
        "chrf-order-float",
        lambda: chrf_scores(["a"], ["a"], char_order=6.0),
        Err(TypeError, "char_order must be an int"),
    ),
    ("chrf-length", lambda: chrf_scores(["a", "b"], ["a"]), Err(ValueError, "same length")),
    ("lexical-metric", lambda: lexical_scores(["a"], ["a"], metrics=["meteor"]), Err(ValueError, "unknown metric")),
    (
        "lexical-chrf-both",
        lambda: lexical_scores(["a"], ["a"], metrics=["chrf", "chrf++"]),
        Err(ValueError, "either 'chrf' or 'chrf\\+\\+'"),
    ),
    ("overlap-n-0", lambda: ngram_overlap(["a"], ["a"], n=0), Err(ValueError, "between 1 and 64")),
    ("tokenize-single-str", lambda: tokenize("a b"), Err(TypeError, "wrap it in a list")),
    ("tokenize-int", lambda: tokenize([3]), Err(TypeError, r"texts\[0\] must be str")),
    ("tokenize-bad", lambda: tokenize(["a"], tokenizer="bpe"), Err(ValueError, "tokenizer must be")),
]


@pytest.mark.parametrize("fn,exp", [pytest.param(f, e, id=n) for n, f, e in OPTION_CASES])
def test_bad_option_or_shape(fn, exp):
    _one_line_error(exp, fn)


VALID_ODDITIES = [
    ("numpy-int-k", lambda: ds.cosine_topk(A, C, np.int64(3))[1], lambda r: r.shape == (6, 3)),
    ("uint8-k-search", lambda: ds.CosineIndex(C).search(A, np.uint8(2))[1], lambda r: r.shape == (6, 2)),
    (
        "k-equals-corpus",
        lambda: ds.cosine_topk(A, C, 20, method="faiss")[1],
        lambda r: all(sorted(row) == list(range(20)) for row in r.tolist()),
    ),
    (
        "int32-offsets",
        lambda: ds.cosine_grouped(A, OFF_A.astype(np.int32), B, OFF_B),
        lambda r: np.array_equal(r, ds.cosine_grouped(A, OFF_A, B, OFF_B), equal_nan=True),
    ),
    (
        "list-offsets",
        lambda: ds.cosine_grouped(A, OFF_A.tolist(), B, OFF_B.tolist()),
        lambda r: np.array_equal(r, ds.cosine_grouped(A, OFF_A, B, OFF_B), equal_nan=True),
    ),
    (
        "workers-all",
        lambda: ds.cosine_grouped(A, OFF_A, B, OFF_B, workers=-1),
        lambda r: np.array_equal(r, ds.cosine_grouped(A, OFF_A, B, OFF_B), equal_nan=True),
    ),
    ("workers-many", lambda: ds.cosine_paired(A, B, workers=64), lambda r: np.array_equal(r, ds.cosine_paired(A, B))),
    ("numpy-workers", lambda: ds.l2_normalize(A, workers=np.int64(2)), lambda r: np.array_equal(r, ds.l2_normalize(A))),
    (
        "threshold-edge",
        lambda: align_embeddings(A, OFF_A, B, OFF_B, threshold=-1).coverage,
        lambda r: r[0] == 1.0 and r[2] == 1.0,
    ),
    (
        "nul-in-text",
        lambda: rouge_scores(["a\x00b c"], ["a\x00b c"]).scores["rouge1"].fmeasure,
        lambda r: r.tolist() == [1.0],
    ),
    (
        "utf8-bytes",
        lambda: rouge_scores([b"a cat"], ["a cat"]).scores["rouge1"].fmeasure,
        lambda r: r.tolist() == [1.0],
    ),
    (
        "numpy-str-array",
        lambda: chrf_scores(np.array(["a cat"]), np.array(["a cat"])).score,
        lambda r: r.tolist() == [100.0],
    ),
    ("long-text", lambda: chrf_scores(["ab" * 200_000], ["ab" * 200_000]).score, lambda r: r.tolist() == [100.0]),
    (
        "chrf-beta-zero",
        lambda: chrf_scores(["abcdef"], ["abcdefghijkl"], beta=0).score,
        lambda r: r[0] == pytest.approx(100.0),
    ),
    (
        "bleu-smooth-int",
        lambda: bleu_scores(["a b"], ["a c"], smooth_method="add-k", smooth_value=1).score,
        lambda r: r.shape == (1,) and 0 < r[0] < 100,
    ),
]


@pytest.mark.parametrize("fn,check", [pytest.param(f, c, id=n) for n, f, c in VALID_ODDITIES])
def test_valid_oddities(fn, check):
    assert check(fn())


# ------------------------------- risky entries: a child process, a timeout
# Each is source run in a child process; it either raises the named error
# with a message matching the pattern, or runs its own asserts and passes.
RISKY: list[tuple[str, str, str | None, str]] = [
    ("hnsw-m-0", "ds.CosineIndex(X, kind='hnsw', m=0)", "ValueError", "m must be between 2 and 1024"),
    ("hnsw-m-neg", "ds.CosineIndex(X, kind='hnsw', m=-1)", "ValueError", "m must be between 2 and 1024"),
    ("hnsw-m-1", "ds.CosineIndex(X, kind='hnsw', m=1)", "ValueError", "m must be between 2 and 1024"),
    ("hnsw-m-huge", "ds.CosineIndex(X, kind='hnsw', m=2**31)", "ValueError", "m must be between 2 and 1024"),
    ("topk-hnsw-m-0", "ds.cosine_topk(X[:2], X, 3, method='hnsw', m=0)", "ValueError", "m must be between"),
    ("hnsw-ef-0", "ds.CosineIndex(X, kind='hnsw', ef_search=0)", "ValueError", "ef_search must be between 1"),
    ("hnsw-ef-huge", "ds.CosineIndex(X, kind='hnsw', ef_search=2**31 - 1)", "ValueError", "ef_search must be"),
    ("hnsw-efc-neg", "ds.CosineIndex(X, kind='hnsw', ef_construction=-1)", "ValueError", "ef_construction"),
    (
        "hnsw-m-2",
        "s, i = ds.CosineIndex(X, kind='hnsw', m=2, ef_construction=1).search(X, 50)\n"
        "assert (i >= 0).all() and (i < 50).all()",
        None,
        "",
    ),
    ("hnsw-one-row", "s, i = ds.CosineIndex(X[:1], kind='hnsw').search(X, 1)\nassert (i == 0).all()", None, ""),
    (
        "hnsw-dim-1",
        "s, i = ds.CosineIndex(X[:, :1], kind='hnsw').search(X[:, :1], 50)\nassert (i >= 0).all()",
        None,
        "",
    ),
    (
        "hnsw-all-nan",
        "Y = np.full_like(X, np.nan)\ns, i = ds.CosineIndex(Y, kind='hnsw').search(X, 5)\n"
        "assert np.isnan(s).all() and (i >= 0).all()",
        None,
        "",
    ),
    (
        "hnsw-all-zero",
        "s, i = ds.CosineIndex(np.zeros_like(X), kind='hnsw').search(X, 50)\nassert (s == 0).all() and (i >= 0).all()",
        None,
        "",
    ),
    (
        "hnsw-inf-rows",
        "Y = X.copy(); Y[::3, 0] = np.inf\ns, i = ds.CosineIndex(Y, kind='hnsw').search(X, 50)\n"
        "assert (i >= 0).all() and np.isnan(s[:, -17:]).all()",
        None,
        "",
    ),
    (
        "hnsw-duplicates",
        "Y = np.repeat(X[:1], 50, axis=0)\ns, i = ds.CosineIndex(Y, kind='hnsw').search(X, 50)\n"
        "assert sorted(i[0].tolist()) == list(range(50))",
        None,
        "",
    ),
    (
        "flat-nan-query-k-all",
        "Q = X.copy(); Q[0] = np.nan\ns, i = ds.CosineIndex(X).search(Q, 50)\n"
        "assert np.isnan(s[0]).all() and i[0].tolist() == list(range(50))",
        None,
        "",
    ),
    (
        "flat-inf-query",
        "Q = X[:3].copy(); Q[:, 0] = np.inf\ns, i = ds.CosineIndex(X).search(Q, 4)\n"
        "assert np.isnan(s).all() and (i >= 0).all()",
        None,
        "",
    ),
    (
        "faiss-huge-values",
        "s, i = ds.cosine_topk(X * np.float32(1e37), X, 1, method='faiss')\nassert i[:, 0].tolist() == list(range(50))",
        None,
        "",
    ),
]

_CHILD = r"""
import json, sys, numpy as np
import distillscope as ds
X = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
for case_id, code in json.loads(sys.stdin.read()):
    print(json.dumps({"id": case_id, "started": True}), flush=True)
    try:
        exec(code, {"ds": ds, "np": np, "X": X})
        out = {"id": case_id, "exc": None, "msg": ""}
    except Exception as e:
        out = {"id": case_id, "exc": type(e).__name__, "msg": str(e)}
    print(json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def risky_outcomes() -> tuple[dict[str, dict], str]:
    payload = json.dumps([(cid, code) for cid, code, _, _ in RISKY])
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD], input=payload, capture_output=True, text=True, timeout=180, env=_child_env()
        )
        stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr, rc = "timed out (a hang)", None
    outcomes: dict[str, dict] = {}
    for line in stdout.splitlines():
        rec = json.loads(line)
        if not rec.get("started"):
            outcomes[rec["id"]] = rec
    return outcomes, f"child rc={rc}; stderr tail: {stderr[-1500:]}"


@pytest.mark.parametrize("case_id,code,exc,pattern", [pytest.param(*r, id=r[0]) for r in RISKY])
def test_risky_input_in_child_process(risky_outcomes, case_id, code, exc, pattern):
    outcomes, diag = risky_outcomes
    assert case_id in outcomes, f"{case_id} never finished (abort or hang): {diag}"
    got = outcomes[case_id]
    assert got["exc"] == exc, got
    if exc is not None:
        assert "\n" not in got["msg"] and re.search(pattern, got["msg"]), got
