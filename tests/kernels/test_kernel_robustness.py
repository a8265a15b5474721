"""Regression tests for the kernel items of issue 13 (wrong answers, aborts,
hangs and unbounded memory in the dense kernels, faiss paths and chrF)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import distillscope as ds
from distillscope import _reference as ref
from distillscope.text.align import align_embeddings
from distillscope.text.lexical import bleu_scores, chrf_scores


def _child_env() -> dict[str, str]:
    # The child imports the same distillscope as this process (the source
    # tree, an installed wheel or the sanitizer build) and inherits the rest
    # of the environment (LD_PRELOAD of the sanitizer run included).
    env = dict(os.environ)
    pkg_parent = str(Path(ds.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
    return env


def _rows(rng, n, d, scale=1.0):
    return (rng.standard_normal((n, d)) * scale).astype(np.float32)


# ---------------------------------------------------------------- l2_normalize


@pytest.mark.parametrize("scale", [1e-25, 1e-20, 1e-16, 1e16, 1e20, 1e30])
def test_l2_normalize_rows_outside_float32_range(isa, rng, scale):
    x = _rows(rng, 9, 33)
    x[::2] *= np.float32(scale)  # every other row tiny or huge
    got = ds.l2_normalize(x)
    want = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    np.testing.assert_allclose(got, want, atol=2e-7, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(got.astype(np.float64), axis=1), 1.0, atol=1e-6)


def test_l2_normalize_degenerate_rows(isa):
    x = np.array([[0, 0, 0], [np.nan, 1, 2], [np.inf, 1, 2], [3e38, 3e38, 1], [1e-45, 0, 0]], np.float32)
    got = ds.l2_normalize(x)
    assert np.array_equal(got[0], [0, 0, 0])
    assert np.isnan(got[1]).all()
    assert np.isnan(got[2, 0]) and np.array_equal(got[2, 1:], [0, 0])  # x / inf
    np.testing.assert_allclose(got[3], [np.sqrt(0.5), np.sqrt(0.5), 0], atol=1e-7)
    np.testing.assert_array_equal(got[4], [1, 0, 0])  # a subnormal row still has a direction


@pytest.mark.parametrize("method", ["faiss", "hnsw", "auto"])
def test_topk_faiss_paths_find_tiny_and_huge_rows(rng, method):
    c = _rows(rng, 60, 16)
    c[:20] *= np.float32(1e-22)
    c[20:40] *= np.float32(1e22)
    q = c[[3, 25, 50]] * np.float32(7.0)
    s, i = ds.cosine_topk(q, c, 1, method=method)
    assert i[:, 0].tolist() == [3, 25, 50]
    np.testing.assert_allclose(s[:, 0], 1.0, atol=1e-6)
    index = ds.CosineIndex(c, kind="hnsw" if method == "hnsw" else "flat")
    s2, i2 = index.search(q, 5)
    sn, in_ = ds.cosine_topk(q, c, 5, method="native")
    assert np.array_equal(i2[:, 0], in_[:, 0])
    np.testing.assert_allclose(s2, sn, atol=1e-5)


# ------------------------------------------------------ no -1 from faiss


def _check_valid(idx, n):
    assert idx.dtype == np.int64
    assert (idx >= 0).all() and (idx < n).all()
    for row in idx:  # a query never gets the same row twice
        assert len(set(row.tolist())) == len(row)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_nan_query_gets_exact_answer_not_minus_one(rng, kind):
    c = _rows(rng, 40, 8)
    q = _rows(rng, 3, 8)
    q[1, 2] = np.nan
    s, i = ds.CosineIndex(c, kind=kind).search(q, 4)
    _check_valid(i, 40)
    assert np.isnan(s[1]).all() and i[1].tolist() == [0, 1, 2, 3]  # as method="native"
    assert not np.isnan(s[[0, 2]]).any()


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_nan_corpus_rows_rank_last_with_k_equal_to_size(rng, kind):
    c = _rows(rng, 30, 8)
    c[[4, 17]] = np.nan
    q = _rows(rng, 5, 8)
    s, i = ds.CosineIndex(c, kind=kind).search(q, 30)
    _check_valid(i, 30)
    assert np.isnan(s[:, -2:]).all() and not np.isnan(s[:, :-2]).any()
    assert all(set(row[-2:].tolist()) == {4, 17} for row in i)
    sn, in_ = ds.cosine_topk(q, c, 30, method="native")
    assert np.array_equal(i, in_)
    np.testing.assert_allclose(s, sn, atol=1e-5)


def test_hnsw_small_ef_and_weak_graph_never_leak_minus_one(rng):
    c = _rows(rng, 300, 12)
    q = _rows(rng, 20, 12)
    for kw in ({"ef_search": 1}, {"m": 2, "ef_construction": 1, "ef_search": 1}):
        index = ds.CosineIndex(c, kind="hnsw", **kw)
        for k in (1, 299, 300):
            s, i = index.search(q, k)
            _check_valid(i, 300)
            assert (np.diff(s, axis=1) <= 0).all()
    s, i = ds.cosine_topk(q, c, 300, method="hnsw", m=2, ef_construction=1, ef_search=1)
    _check_valid(i, 300)


# ------------------------------------------------- parameter validation


@pytest.mark.parametrize(
    "kw,exc,msg",
    [
        ({"m": 0}, ValueError, r"m must be between 2 and 1024"),
        ({"m": -1}, ValueError, r"m must be between 2 and 1024"),
        ({"m": 1}, ValueError, r"m must be between 2 and 1024"),
        ({"m": 10**9}, ValueError, r"m must be between 2 and 1024"),
        ({"m": 8.0}, TypeError, r"m must be an int"),
        ({"ef_search": 0}, ValueError, r"ef_search must be between 1"),
        ({"ef_search": -5}, ValueError, r"ef_search must be between 1"),
        ({"ef_search": 2**40}, ValueError, r"ef_search must be between 1"),
        ({"ef_construction": 0}, ValueError, r"ef_construction must be between 1"),
        ({"ef_construction": "40"}, TypeError, r"ef_construction must be an int"),
        ({"workers": 0}, ValueError, r"workers must be >= 1"),
        ({"workers": 1.5}, TypeError, r"workers must be an int"),
        ({"kind": "ivf"}, ValueError, r"kind must be 'flat' or 'hnsw'"),
        ({"kind": None}, ValueError, r"kind must be 'flat' or 'hnsw'"),
    ],
)
def test_cosine_index_rejects_bad_parameters(rng, kw, exc, msg):
    kw = {"kind": "hnsw", **kw}
    with pytest.raises(exc, match=msg) as info:
        ds.CosineIndex(_rows(rng, 10, 4), **kw)
    assert "\n" not in str(info.value)


def test_hnsw_m_zero_and_negative_run_safely_in_a_subprocess():
    # Before the fix m=0 aborted the interpreter (faiss assertion) and m=-1
    # hung; a subprocess with a timeout keeps a regression from taking pytest down.
    code = textwrap.dedent(
        """
        import numpy as np, distillscope as ds
        x = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
        for m in (0, -1, 1):
            try:
                ds.CosineIndex(x, kind="hnsw", m=m)
            except ValueError as e:
                print("ValueError", m, e)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_child_env())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("ValueError") == 3


@pytest.mark.parametrize(
    "k,exc",
    [
        (2.7, TypeError),
        (2.0, TypeError),
        ("2", TypeError),
        (True, TypeError),
        (None, TypeError),
        (0, ValueError),
        (-1, ValueError),
        (31, ValueError),
    ],
)
def test_search_k_must_be_a_valid_int(rng, k, exc):
    index = ds.CosineIndex(_rows(rng, 30, 4))
    with pytest.raises(exc, match="k must be"):
        index.search(_rows(rng, 2, 4), k)
    with pytest.raises(exc, match="k must be"):
        ds.cosine_topk(_rows(rng, 2, 4), _rows(rng, 30, 4), k, method="faiss")


def test_search_accepts_numpy_ints(rng):
    c, q = _rows(rng, 30, 4), _rows(rng, 2, 4)
    index = ds.CosineIndex(c)
    for k in (np.int64(3), np.int32(3), np.uint8(3)):
        s, i = index.search(q, k)
        assert s.shape == i.shape == (2, 3)
        assert np.array_equal(i, ds.cosine_topk(q, c, 3, method="native")[1])


# --------------------------------------------------------------- chrF


def test_chrf_empty_batch_is_empty_like_rouge_and_bleu():
    res = chrf_scores([], [])
    assert res.score.shape == (0,)
    assert chrf_scores([], [], word_order=2).score.shape == (0,)
    assert bleu_scores([], []).score.shape == (0,)


@pytest.mark.parametrize(
    "kw,exc,msg",
    [
        ({"beta": -1}, ValueError, "beta must be a finite number >= 0"),
        ({"beta": float("nan")}, ValueError, "beta must be a finite number >= 0"),
        ({"beta": float("inf")}, ValueError, "beta must be a finite number >= 0"),
        ({"beta": "2"}, TypeError, "beta must be a number"),
        ({"char_order": 2.5}, TypeError, "char_order must be an int"),
        ({"word_order": -1}, ValueError, "char_order and word_order must be >= 0"),
    ],
)
def test_chrf_rejects_bad_options(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        chrf_scores(["a cat"], ["the cat"], **kw)


@pytest.mark.parametrize("method", ["floor", "add-k", "exp", "none"])
@pytest.mark.parametrize("value", [-1, float("nan"), float("inf")])
def test_bleu_rejects_bad_smooth_value(method, value):
    with pytest.raises(ValueError, match="smooth_value must be a finite number >= 0"):
        bleu_scores(["a cat"], ["the cat"], smooth_method=method, smooth_value=value)


def test_chrf_beta_zero_is_precision_only():
    # beta = 0 weights recall by 0: the score is the character n-gram precision.
    a = chrf_scores(["abcdef"], ["abcdefghijkl"], beta=0).score
    assert a[0] == pytest.approx(100.0)


# ------------------------------------------------ streaming reductions


def test_f1_has_no_pole_when_precision_and_recall_differ_in_sign():
    # One candidate row, two reference rows: P = 1, R = (-1 + 0·1)/1 with weights (1, 0).
    a = np.array([[0.5234375]], np.float32)
    b = np.array([[-1.0], [1.5625]], np.float32)
    off = np.array([0, 1], np.int64), np.array([0, 2], np.int64)
    res = align_embeddings(a, off[0], b, off[1], cand_weights=[1.0], ref_weights=[1.0, 0.0], threshold=-1.0)
    assert res.f1[0] == 0.0
    f1 = ds.cosine_grouped(
        np.ones((1, 1), np.float32),
        off[0],
        np.array([[-1.0], [-1.0], [1.0]], np.float32),
        np.array([0, 3], np.int64),
        reduce="f1",
    )
    assert f1[0] == 0.0  # P = 1, R = -1/3: the plain formula gives -1, outside [-1, 1] in general
    assert ref.harmonic_f1(1.0, -0.99999994) == 0.0


def test_multi_strip_groups_match_reference_and_are_split_invariant(rng):
    # 301 x 5000 rows: the block streams in ~26 strips with an odd last one.
    na, nb, d = 301, 5000, 5
    a, b = _rows(rng, na, d), _rows(rng, nb, d)
    a[7] *= np.float32(1e-24)  # the exact double path for the whole group
    one = (np.array([0, na], np.int64), np.array([0, nb], np.int64))
    small_a, small_b = _rows(rng, 6, d), _rows(rng, 4, d)
    batch_a = np.concatenate([small_a, a, small_a])
    batch_b = np.concatenate([small_b, b, small_b])
    batch_off = (np.array([0, 6, 6 + na, 12 + na], np.int64), np.array([0, 4, 4 + nb, 8 + nb], np.int64))
    for reduce in ("mean", "max", "precision", "recall", "f1", "matched"):
        alone = ds.cosine_grouped(a, one[0], b, one[1], reduce=reduce)
        in_batch = ds.cosine_grouped(batch_a, batch_off[0], batch_b, batch_off[1], reduce=reduce, workers=2)
        assert alone.tobytes() == in_batch[1:2].tobytes(), reduce
        want = ref.cosine_grouped(a, one[0], b, one[1], reduce)
        np.testing.assert_allclose(alone, want, atol=3e-6, err_msg=reduce)
    al = align_embeddings(a, one[0], b, one[1], threshold=0.9)
    al_batch = align_embeddings(batch_a, batch_off[0], batch_b, batch_off[1], threshold=0.9, workers=2)
    want = ref.align_grouped(a, one[0], b, one[1], threshold=0.9)
    for key in ("precision", "recall", "f1", "coverage", "order"):
        got = getattr(al, key)
        assert got.tobytes() == getattr(al_batch, key)[1:2].tobytes(), key
        np.testing.assert_allclose(got, want[key], atol=3e-5, err_msg=key)


_PEAK_RSS_CHILD = """
import sys, numpy as np
import distillscope as ds
from distillscope.text.align import align_embeddings

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024.0

n, d = 4000, 4
rng = np.random.default_rng(0)
a = rng.standard_normal((n, d)).astype(np.float32)
b = rng.standard_normal((n, d)).astype(np.float32)
off = np.array([0, n], np.int64)
ds.cosine_grouped(a[:8], np.array([0, 8]), b[:8], np.array([0, 8]))  # warm up (thread, allocator)
align_embeddings(a[:8], np.array([0, 8]), b[:8], np.array([0, 8]))
base = hwm_mb()
for reduce in ("mean", "max", "f1"):
    ds.cosine_grouped(a, off, b, off, reduce=reduce)
align_embeddings(a, off, b, off)
print(hwm_mb() - base)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS read from /proc (Linux)")
def test_grouped_and_alignment_memory_is_bounded_by_a_strip():
    # One 4000 x 4000 group: the whole cosine block would be 61 MiB; the
    # streamed reductions hold one strip (<= 256 KiB) plus O(na + nb).
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_CHILD], capture_output=True, text=True, timeout=300, env=_child_env()
    )
    assert out.returncode == 0, out.stderr[-2000:]
    extra_mb = float(out.stdout.strip().splitlines()[-1])
    assert extra_mb < 8.0, f"peak RSS grew by {extra_mb:.1f} MiB for one 4000x4000 group"
