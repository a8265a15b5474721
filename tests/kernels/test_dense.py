"""Dense kernels against the numpy oracles, on every SIMD path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import distillscope as ds
from distillscope import _reference as ref

# Sizes around SIMD widths plus the common embedding sizes.
DIMS = [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 384, 768, 1024]
dims = st.one_of(st.sampled_from(DIMS), st.integers(1, 1024))
REDUCES = ["mean", "max", "precision", "recall", "f1", "matched"]


def _rand(rng, n, d, dtype=np.float32, scale=1.0):
    return (rng.standard_normal((n, d)) * scale).astype(dtype)


# ------------------------------------------------------------------ paired
@given(d=dims, n=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_paired_matches_reference_all_isas(d, n, seed):
    rng = np.random.default_rng(seed)
    a, b = _rand(rng, n, d), _rand(rng, n, d)
    want = ref.cosine_paired(a, b)
    for isa in ds.capabilities()["available"]:
        with ds.force_isa(isa):
            got = ds.cosine_paired(a, b)
        assert got.dtype == np.float32 and got.shape == (n,)
        np.testing.assert_allclose(got, want, atol=2e-6, rtol=0, err_msg=isa)


@given(d=dims, n=st.integers(0, 30), seed=st.integers(0, 2**32 - 1))
def test_paired_float16_matches_reference(d, n, seed):
    rng = np.random.default_rng(seed)
    a, b = _rand(rng, n, d, np.float16), _rand(rng, n, d, np.float16)
    want = ref.cosine_paired(a.astype(np.float32), b.astype(np.float32))
    for isa in ds.capabilities()["available"]:
        with ds.force_isa(isa):
            got = ds.cosine_paired(a, b)
        np.testing.assert_allclose(got, want, atol=2e-6, rtol=0, err_msg=isa)


def test_paired_identical_and_opposite(isa, rng):
    a = _rand(rng, 50, 384)
    np.testing.assert_allclose(ds.cosine_paired(a, a), 1.0, atol=1e-6)
    np.testing.assert_allclose(ds.cosine_paired(a, -a), -1.0, atol=1e-6)
    assert ds.cosine_paired(a, a).max() <= 1.0  # clamped


def test_paired_degenerate(isa):
    a = np.zeros((4, 9), np.float32)
    b = np.ones((4, 9), np.float32)
    a[1, 3] = np.nan
    a[2] = 1.0
    b[3] = 0.0
    a[3] = 1.0
    got = ds.cosine_paired(a, b)
    assert got[0] == 0.0  # zero vector → 0.0 by definition
    assert np.isnan(got[1])  # NaN propagates
    assert got[2] == pytest.approx(1.0)
    assert got[3] == 0.0
    # inf overflowing the norms is NaN, not a crash
    c = np.full((1, 8), np.inf, np.float32)
    assert np.isnan(ds.cosine_paired(c, c)[0])


def test_paired_huge_and_tiny_values(isa):
    """The README: rows whose squared norm leaves float32's safe range are
    recomputed in double, so the cosine is the true one (never NaN or 0)."""
    big = np.full((2, 16), 1e18, np.float32)  # |x|² overflows float32 lanes
    tiny = np.full((2, 16), 1e-30, np.float32)  # |x|² underflows to 0
    np.testing.assert_allclose(ds.cosine_paired(big, big), 1.0, atol=1e-6)
    np.testing.assert_allclose(ds.cosine_paired(tiny, tiny), 1.0, atol=1e-6)
    # mixed magnitudes against the double-precision reference
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 33)).astype(np.float32)
    b = rng.standard_normal((6, 33)).astype(np.float32)
    a[:3] *= np.float32(3e19)
    b[3:] *= np.float32(1e-25)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = (a64 * b64).sum(1) / np.linalg.norm(a64, axis=1) / np.linalg.norm(b64, axis=1)
    np.testing.assert_allclose(ds.cosine_paired(a, b), want, atol=1e-6)
    offs = np.array([0, 3, 6], dtype=np.int64)
    grouped = ds.cosine_grouped(a, offs, b, offs, reduce="mean")
    full = (a64 / np.linalg.norm(a64, axis=1, keepdims=True)) @ (b64 / np.linalg.norm(b64, axis=1, keepdims=True)).T
    np.testing.assert_allclose(grouped, [full[:3, :3].mean(), full[3:, 3:].mean()], atol=1e-6)


def test_paired_workers_bit_identical(rng):
    a, b = _rand(rng, 20001, 65), _rand(rng, 20001, 65)
    base = ds.cosine_paired(a, b, workers=1)
    for w in (2, 3, 7, -1):
        assert np.array_equal(ds.cosine_paired(a, b, workers=w), base)
    # any split of the batch gives the same bits
    parts = np.concatenate([ds.cosine_paired(a[i : i + 777], b[i : i + 777]) for i in range(0, len(a), 777)])
    assert np.array_equal(parts, base)


def test_paired_non_contiguous_and_lists(rng):
    a = _rand(rng, 10, 32)
    b = _rand(rng, 10, 32)
    np.testing.assert_allclose(
        ds.cosine_paired(a[:, ::2], b[:, ::2]), ref.cosine_paired(a[:, ::2], b[:, ::2]), atol=2e-6
    )
    np.testing.assert_allclose(ds.cosine_paired(a.T.copy().T, b), ref.cosine_paired(a, b), atol=2e-6)  # Fortran order
    np.testing.assert_allclose(ds.cosine_paired(a.tolist(), b.tolist()), ref.cosine_paired(a, b), atol=2e-6)


@pytest.mark.parametrize(
    "a,b,exc,msg",
    [
        (np.zeros((3, 4), np.float32), np.zeros((3, 5), np.float32), ValueError, "same shape"),
        (np.zeros((3, 4), np.float32), np.zeros((2, 4), np.float32), ValueError, "same shape"),
        (np.zeros(4, np.float32), np.zeros(4, np.float32), ValueError, "2-D"),
        (np.zeros((2, 2, 2), np.float32), np.zeros((2, 2, 2), np.float32), ValueError, "2-D"),
        (np.zeros((3, 4), np.complex64), np.zeros((3, 4), np.complex64), TypeError, "astype"),
        (np.zeros((3, 4), np.int32), np.zeros((3, 4), np.int32), TypeError, "astype"),
        (np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float16), TypeError, "same dtype"),
        (None, np.zeros((3, 4), np.float32), TypeError, "None"),
        (np.array([["x"]]), np.array([["y"]]), TypeError, "astype"),
    ],
)
def test_paired_bad_input(a, b, exc, msg):
    with pytest.raises(exc, match=msg):
        ds.cosine_paired(a, b)


@pytest.mark.parametrize("w", [0, -2])
def test_bad_workers(w):
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="workers"):
        ds.cosine_paired(a, a, workers=w)
    with pytest.raises(ValueError, match="workers"):
        ds.cosine_grouped(a, [0, 2], a, [0, 2], workers=w)
    with pytest.raises(ValueError, match="workers"):
        ds.cosine_topk(a, a, 1, workers=w)


# ----------------------------------------------------------------- grouped
@st.composite
def groups(draw):
    d = draw(dims)
    g = draw(st.integers(0, 12))
    na = draw(st.lists(st.integers(0, 9), min_size=g, max_size=g))
    nb = draw(st.lists(st.integers(0, 9), min_size=g, max_size=g))
    seed = draw(st.integers(0, 2**32 - 1))
    return d, na, nb, seed


def _grouped_arrays(params, dtype=np.float32):
    """(a, a_off, b, b_off) for a ``groups()`` draw: rows of each side and their CSR offsets."""
    d, na, nb, seed = params
    rng = np.random.default_rng(seed)
    a_off = np.concatenate([[0], np.cumsum(na)]).astype(np.int64)
    b_off = np.concatenate([[0], np.cumsum(nb)]).astype(np.int64)
    return _rand(rng, int(a_off[-1]), d, dtype), a_off, _rand(rng, int(b_off[-1]), d, dtype), b_off


@given(groups())
def test_grouped_matches_reference_all_isas(params):
    a, a_off, b, b_off = _grouped_arrays(params)
    for isa in ds.capabilities()["available"]:
        with ds.force_isa(isa):
            got = {r: ds.cosine_grouped(a, a_off, b, b_off, reduce=r) for r in REDUCES}
        for reduce in ("mean", "max", "precision", "recall", "matched"):
            want = ref.cosine_grouped(a, a_off, b, b_off, reduce)
            assert got[reduce].shape == (len(a_off) - 1,)
            np.testing.assert_allclose(got[reduce], want, atol=3e-6, rtol=0, err_msg=f"{isa} {reduce}")
        # F1 is 0 where P and R differ in sign (the plain 2PR/(P+R) has a pole
        # there); it is checked against that definition applied to the
        # kernel's own P and R, since the sign of a P or R near 0 is rounding.
        p, r = got["precision"].astype(np.float64), got["recall"].astype(np.float64)
        want_f1 = [ref.harmonic_f1(x, y) if not (np.isnan(x) or np.isnan(y)) else np.nan for x, y in zip(p, r)]
        np.testing.assert_allclose(got["f1"], want_f1, rtol=1e-6, atol=1e-7, err_msg=f"{isa} f1")
        assert np.all(np.abs(got["f1"][~np.isnan(got["f1"])]) <= 1.0)
        # matched is the mean of the kernel's own P and R (the same maxima,
        # averaged in double before the cast to float32)
        np.testing.assert_allclose(got["matched"], 0.5 * (p + r), rtol=0, atol=1.5e-7, err_msg=f"{isa} matched")
        assert np.array_equal(np.isnan(got["matched"]), np.isnan(got["precision"]))


def test_grouped_identical_groups_score_one(isa, rng):
    a = _rand(rng, 40, 384)
    off = np.arange(0, 41, 8, dtype=np.int64)
    for reduce in ("max", "precision", "recall", "f1", "matched"):
        np.testing.assert_allclose(ds.cosine_grouped(a, off, a, off, reduce=reduce), 1.0, atol=1e-6)


def test_grouped_degenerate(isa):
    a = np.zeros((3, 5), np.float32)
    b = np.ones((3, 5), np.float32)
    a[2, 0] = np.nan
    off_a = np.array([0, 0, 2, 3], np.int64)  # first group empty on a's side
    off_b = np.array([0, 1, 2, 3], np.int64)
    got = ds.cosine_grouped(a, off_a, b, off_b)
    assert np.isnan(got[0])  # empty group → NaN
    assert got[1] == 0.0  # zero rows → 0.0
    assert np.isnan(got[2])  # NaN propagates
    assert ds.cosine_grouped(a[:0], [0], b[:0], [0]).shape == (0,)


def test_grouped_matched_degenerate(isa):
    # same rules as the other reduces: empty side → NaN, zero row → 0, NaN row → NaN
    a = np.zeros((4, 5), np.float32)
    b = np.ones((4, 5), np.float32)
    a[3, 0] = np.nan
    off_a = np.array([0, 0, 2, 4, 4], np.int64)  # groups: a empty, 2 zero rows, a NaN row, both empty
    off_b = np.array([0, 1, 3, 4, 4], np.int64)
    got = ds.cosine_grouped(a, off_a, b, off_b, reduce="matched")
    assert got.dtype == np.float32 and got.shape == (4,)
    assert np.isnan(got[0]) and got[1] == 0.0 and np.isnan(got[2]) and np.isnan(got[3])
    want = ref.cosine_grouped(a, off_a, b, off_b, "matched")
    np.testing.assert_array_equal(got, want)
    assert ds.cosine_grouped(a[:0], [0], b[:0], [0], reduce="matched").shape == (0,)


@given(groups())
def test_grouped_matched_float64_input(params):
    # float64 is converted to float32 once: the same result as float32 input,
    # and the oracle on the float64 data within float32 precision
    a, a_off, b, b_off = _grouped_arrays(params, np.float64)
    got = ds.cosine_grouped(a, a_off, b, b_off, reduce="matched")
    assert got.dtype == np.float32
    same = ds.cosine_grouped(a.astype(np.float32), a_off, b.astype(np.float32), b_off, reduce="matched")
    assert np.array_equal(got, same, equal_nan=True)
    np.testing.assert_allclose(got, ref.cosine_grouped(a, a_off, b, b_off, "matched"), atol=3e-6, rtol=0)


def test_grouped_workers_and_splits_bit_identical(rng):
    sizes = rng.integers(0, 12, size=(3001, 2))
    a_off = np.concatenate([[0], np.cumsum(sizes[:, 0])]).astype(np.int64)
    b_off = np.concatenate([[0], np.cumsum(sizes[:, 1])]).astype(np.int64)
    a, b = _rand(rng, int(a_off[-1]), 48), _rand(rng, int(b_off[-1]), 48)
    for reduce in REDUCES:
        base = ds.cosine_grouped(a, a_off, b, b_off, reduce=reduce)
        for w in (2, 5, -1):
            assert np.array_equal(ds.cosine_grouped(a, a_off, b, b_off, reduce=reduce, workers=w), base, equal_nan=True)
        # split the batch of groups in two and rebase the offsets
        cut = 1234
        first = ds.cosine_grouped(a[: a_off[cut]], a_off[: cut + 1], b[: b_off[cut]], b_off[: cut + 1], reduce=reduce)
        second = ds.cosine_grouped(
            a[a_off[cut] :], a_off[cut:] - a_off[cut], b[b_off[cut] :], b_off[cut:] - b_off[cut], reduce=reduce
        )
        assert np.array_equal(np.concatenate([first, second]), base, equal_nan=True)


@pytest.mark.parametrize(
    "a_off,b_off,exc,msg",
    [
        ([0, 2, 1, 4], [0, 1, 2, 4], ValueError, "non-decreasing"),
        ([1, 2, 3, 4], [0, 1, 2, 4], ValueError, r"a_offsets\[0\] must be 0"),
        ([0, 1, 2, 5], [0, 1, 2, 4], ValueError, "number of rows"),
        ([0, 1, 2, 3], [0, 1, 2, 4], ValueError, "number of rows"),
        ([0, 1, 4], [0, 1, 2, 4], ValueError, "length G\\+1"),
        ([], [], ValueError, "G\\+1 >= 1"),
        ([0.0, 4.0], [0, 4], TypeError, "integer"),
        (np.array([[0, 4]]), [0, 4], ValueError, "1-D"),
        (None, [0, 4], TypeError, "None"),
        ([0, -1, 4], [0, 2, 4], ValueError, "non-decreasing"),
    ],
)
def test_grouped_bad_offsets(a_off, b_off, exc, msg):
    a = np.ones((4, 3), np.float32)
    with pytest.raises(exc, match=msg):
        ds.cosine_grouped(a, a_off, a, b_off)


def test_grouped_bad_arrays():
    a = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="same number of columns"):
        ds.cosine_grouped(a, [0, 4], np.ones((4, 2), np.float32), [0, 4])
    with pytest.raises(ValueError, match="reduce"):
        ds.cosine_grouped(a, [0, 4], a, [0, 4], reduce="median")
    with pytest.raises(TypeError, match="astype"):
        ds.cosine_grouped(a.astype(np.int32), [0, 4], a, [0, 4])
    with pytest.raises(ValueError, match="2-D"):
        ds.cosine_grouped(a.ravel(), [0, 12], a.ravel(), [0, 12])
    # float16 is accepted (converted once)
    np.testing.assert_allclose(ds.cosine_grouped(a.astype(np.float16), [0, 4], a, [0, 4]), 1.0, atol=1e-6)


# -------------------------------------------------------------------- top-k
@given(d=dims, nq=st.integers(1, 20), nc=st.integers(1, 300), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_topk_native_matches_reference(d, nq, nc, seed, data):
    k = data.draw(st.integers(1, nc))
    rng = np.random.default_rng(seed)
    q, c = _rand(rng, nq, d), _rand(rng, nc, d)
    want_s, want_i = ref.cosine_topk(q, c, k)
    for isa in ds.capabilities()["available"]:
        with ds.force_isa(isa):
            s, i = ds.cosine_topk(q, c, k, method="native")
        assert s.shape == (nq, k) and i.shape == (nq, k) and i.dtype == np.int64
        np.testing.assert_allclose(s, want_s, atol=3e-6, rtol=0)
        # indices agree wherever the scores are not near-ties
        sim = ref.cosine_matrix(q, c)
        np.testing.assert_allclose(np.take_along_axis(sim, i, 1), want_s, atol=3e-6)
        assert all(len(set(row)) == k for row in i.tolist())


def test_topk_ties_and_nan(isa):
    c = np.array([[1, 0], [1, 0], [0, 1], [np.nan, 0], [2, 0], [0, 0]], np.float32)
    q = np.array([[1, 0]], np.float32)
    s, i = ds.cosine_topk(q, c, 6, method="native")
    assert i[0].tolist() == [0, 1, 4, 2, 5, 3]  # ties by index, zero row = 0.0, NaN last
    assert np.isnan(s[0, -1]) and s[0, 3] == 0.0 and s[0, 4] == 0.0


def test_topk_methods_agree(rng):
    q, c = _rand(rng, 64, 96), _rand(rng, 3000, 96)
    s_n, i_n = ds.cosine_topk(q, c, 10, method="native")
    s_f, i_f = ds.cosine_topk(q, c, 10, method="faiss")
    np.testing.assert_allclose(s_f, s_n, atol=3e-6)
    assert (i_f == i_n).mean() > 0.99
    s_h, i_h = ds.cosine_topk(q, c, 10, method="hnsw")
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i_h.tolist(), i_n.tolist())])
    assert recall > 0.9
    s_a, i_a = ds.cosine_topk(q, c, 10)  # auto
    np.testing.assert_allclose(s_a, s_n, atol=3e-6)


def test_topk_workers_bit_identical(rng):
    q, c = _rand(rng, 123, 40), _rand(rng, 1001, 40)
    base = ds.cosine_topk(q, c, 7, method="native")
    for w in (2, 3, -1):
        s, i = ds.cosine_topk(q, c, 7, method="native", workers=w)
        assert np.array_equal(s, base[0]) and np.array_equal(i, base[1])
    s1, i1 = ds.cosine_topk(q[:50], c, 7, method="native")
    assert np.array_equal(s1, base[0][:50]) and np.array_equal(i1, base[1][:50])


def test_cosine_index_reuse(rng):
    c = _rand(rng, 500, 32)
    index = ds.CosineIndex(c)
    q = _rand(rng, 5, 32)
    s, i = index.search(q, 3)
    s2, i2 = ds.cosine_topk(q, c, 3, method="native")
    np.testing.assert_allclose(s, s2, atol=3e-6)
    with pytest.raises(ValueError, match="columns"):
        index.search(_rand(rng, 2, 31), 3)
    with pytest.raises(ValueError, match="corpus is empty"):
        ds.CosineIndex(np.zeros((0, 4), np.float32))
    with pytest.raises(ValueError, match="kind"):
        ds.CosineIndex(c, kind="ivf")


@pytest.mark.parametrize(
    "q,c,k,kw,exc,msg",
    [
        (np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), 0, {}, ValueError, "k must be between"),
        (np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), 5, {}, ValueError, "k must be between"),
        (np.ones((2, 3), np.float32), np.ones((4, 4), np.float32), 1, {}, ValueError, "columns"),
        (np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), 1.5, {}, TypeError, "k must be an int"),
        (np.ones((2, 3), np.float32), np.ones((4, 3), np.float32), 1, {"method": "x"}, ValueError, "method"),
        (np.ones(3, np.float32), np.ones((4, 3), np.float32), 1, {}, ValueError, "2-D"),
        (np.ones((2, 3), np.int64), np.ones((4, 3), np.float32), 1, {}, TypeError, "astype"),
        (np.ones((2, 3), np.float32), np.ones((0, 3), np.float32), 1, {}, ValueError, "corpus is empty"),
    ],
)
def test_topk_bad_input(q, c, k, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        ds.cosine_topk(q, c, k, **kw)


def test_l2_normalize(isa, rng):
    x = _rand(rng, 10, 17)
    x[3] = 0
    y = ds.l2_normalize(x)
    norms = np.linalg.norm(y, axis=1)
    np.testing.assert_allclose(np.delete(norms, 3), 1.0, atol=1e-6)
    assert norms[3] == 0.0


# ------------------------------------------------------------ capabilities
def test_capabilities_and_forcing():
    caps = ds.capabilities()
    assert caps["isa"] in caps["available"] and caps["available"][0] == "scalar"
    with ds.force_isa("scalar") as active:
        assert active == "scalar" and ds.capabilities()["isa"] == "scalar"
    assert ds.capabilities()["isa"] == caps["isa"]
    with pytest.raises(ValueError, match="isa must be one of"):
        ds.set_isa("sse9")
    if "avx512" not in caps["available"]:
        from distillscope import _core

        with pytest.raises(ValueError, match="does not support"):
            _core.set_isa_cap("avx512")


def test_env_var_forces_isa(tmp_path):
    import subprocess
    import sys

    code = "import distillscope as d; print(d.capabilities()['isa'])"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "DISTILLSCOPE_ISA": "scalar"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "scalar"


def _counts_during(call) -> tuple[int, float]:
    """How far a pure-Python counting thread gets while ``call()`` runs in the
    main thread, and how long the call took. A call that holds the GIL
    starves the counter (it can only run in the moments around the call)."""
    import threading
    import time

    counter = [0]
    stop = threading.Event()
    started = threading.Event()

    def spin():
        started.set()
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    started.wait()
    time.sleep(0.02)
    before = counter[0]
    t0 = time.perf_counter()
    call()
    secs = time.perf_counter() - t0
    during = counter[0] - before
    stop.set()
    t.join()
    return during, secs


def test_gil_released_during_batch(rng):
    """Long kernel calls (one worker) against a GIL-holding C call: a counting
    thread keeps the same order of counts per second as alone while the kernel
    runs, and gets almost none during the GIL-holding call. A kernel that kept
    the GIL would score like the baseline."""
    import sys

    a, b = _rand(rng, 600_000, 64), _rand(rng, 600_000, 64)
    ds.cosine_paired(a, b)  # warm up (page in the arrays)
    exponent = 2_000_000
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        free, free_s = _counts_during(lambda: __import__("time").sleep(0.3))  # the counter alone
        kernel, kernel_s = _counts_during(lambda: [ds.cosine_paired(a, b, workers=1) for _ in range(3)])
        # big-integer power: one C call that holds the GIL throughout (~1 s)
        held, held_s = _counts_during(lambda: pow(7, exponent))
    finally:
        sys.setswitchinterval(old)
    rate_free, rate_kernel, rate_held = free / free_s, kernel / kernel_s, held / held_s
    print(
        f"\ncounts/s: alone {rate_free:,.0f}, during the kernel {rate_kernel:,.0f} ({kernel_s:.2f} s), "
        f"during a GIL-holding pow {rate_held:,.0f} ({held_s:.2f} s)"
    )
    # the baseline shows the measurement discriminates (switch interval 1 ms)
    assert rate_held < 0.1 * rate_free, "the GIL-holding baseline did not starve the counter: measurement unusable"
    assert rate_kernel > 0.2 * rate_free  # the counter kept running through the kernel call
    assert rate_kernel > 5 * rate_held


def test_topk_faiss_ties_ordered_like_native(rng):
    """Ties (duplicate corpus rows) come back by lower index from every exact
    method, so native and faiss give the same indices."""
    base = _rand(rng, 4, 16)
    c = np.ascontiguousarray(np.repeat(base, 60, axis=0)[rng.permutation(240)])
    q = _rand(rng, 5, 16)
    s_n, i_n = ds.cosine_topk(q, c, k=120, method="native")  # two whole tie groups
    s_f, i_f = ds.cosine_topk(q, c, k=120, method="faiss")
    np.testing.assert_allclose(s_f, s_n, atol=1e-5)
    assert np.array_equal(i_f, i_n)
    for row_s, row_i in zip(s_f, i_f):
        for v in np.unique(row_s):
            tied = row_i[np.isclose(row_s, v, atol=1e-6)]
            assert np.all(np.diff(tied) > 0)  # ties by lower index
