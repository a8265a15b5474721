"""ds.cos_sim (sentence-transformers' util.cos_sim) and float64 inputs to the dense kernels."""

from __future__ import annotations

import numpy as np
import pytest

import distillscope as ds
from distillscope import kernels


def _oracle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na == 0, 1, na)) @ (b / np.where(nb == 0, 1, nb)).T


@pytest.mark.parametrize("n,m,d", [(1, 1, 1), (7, 9, 8), (33, 17, 65), (5, 64, 384)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_matrix_matches_definition(n, m, d, dtype):
    rng = np.random.default_rng(n * 100 + m)
    a = rng.standard_normal((n, d)).astype(dtype)
    b = rng.standard_normal((m, d)).astype(dtype)
    a[0] = 0  # a zero row scores 0 against everything
    got = ds.cos_sim(a, b)
    assert got.dtype == np.float32 and got.shape == (n, m)
    np.testing.assert_allclose(got, _oracle(a, b), atol=2e-6)
    assert not got[0].any()


def test_tiles_and_out_buffer(monkeypatch):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((50, 16)), rng.standard_normal((20, 16))
    full = ds.cos_sim(a, b)
    monkeypatch.setattr(kernels, "_COS_SIM_TILE_BYTES", 4 * 20 * 3)  # 3 rows per tile
    out = np.full((50, 20), np.nan, dtype=np.float32)
    assert ds.cos_sim(a, b, out=out) is out
    np.testing.assert_array_equal(out, full)


def test_vectors_and_lists():
    got = ds.cos_sim([1.0, 0.0], [[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    np.testing.assert_allclose(got, [[1.0, 0.0, -1.0]], atol=1e-7)
    assert ds.cos_sim(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)


def test_bad_input():
    with pytest.raises(ValueError, match="same number of columns"):
        ds.cos_sim(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="out must be"):
        ds.cos_sim(np.ones((2, 3)), np.ones((2, 3)), out=np.empty((2, 2), np.float64))
    with pytest.raises(TypeError, match="astype"):
        ds.cos_sim(np.ones((2, 3), np.int32), np.ones((2, 3)))


def test_float64_accepted_by_dense_kernels():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    np.testing.assert_array_equal(ds.cosine_paired(a, b), ds.cosine_paired(a.astype(np.float32), b.astype(np.float32)))
    s64, i64 = ds.cosine_topk(a, b, 2)
    s32, i32 = ds.cosine_topk(a.astype(np.float32), b.astype(np.float32), 2)
    np.testing.assert_array_equal(s64, s32)
    np.testing.assert_array_equal(i64, i32)
    off = [0, 3, 6]
    np.testing.assert_array_equal(
        ds.cosine_grouped(a, off, b, off), ds.cosine_grouped(a.astype(np.float32), off, b.astype(np.float32), off)
    )
