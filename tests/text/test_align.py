"""Alignment kernels (greedy P/R/F, monotone order score, coverage) and align_scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from distillscope import _reference as ref
from distillscope import align_embeddings, align_scores
from distillscope.embed import onnx_builder as ob
from distillscope.embed.encoder import Encoder

KEYS = ("precision", "recall", "f1", "order", "coverage")


def _check(res, want, atol=2e-5):
    for k in KEYS:
        np.testing.assert_allclose(getattr(res, k), want[k], atol=atol, rtol=0, err_msg=k)


@st.composite
def grouped(draw, weights=False):
    d = draw(st.sampled_from([1, 3, 7, 8, 9, 15, 16, 17, 33]))
    g = draw(st.integers(0, 6))
    na = draw(st.lists(st.integers(0, 9), min_size=g, max_size=g))
    nb = draw(st.lists(st.integers(0, 9), min_size=g, max_size=g))
    # the block kernel squares in float32: keep away from underflow (|x| < 1e-19)
    elems = st.one_of(st.just(0.0), st.floats(0.125, 4, width=32), st.floats(-4, -0.125, width=32))
    a = draw(hnp.arrays(np.float32, (sum(na), d), elements=elems))
    b = draw(hnp.arrays(np.float32, (sum(nb), d), elements=elems))
    ao = np.concatenate([[0], np.cumsum(na)]).astype(np.int64)
    bo = np.concatenate([[0], np.cumsum(nb)]).astype(np.int64)
    wa = wb = None
    if weights:
        w = st.floats(0, 3, width=32)
        wa = draw(hnp.arrays(np.float32, (sum(na),), elements=w))
        wb = draw(hnp.arrays(np.float32, (sum(nb),), elements=w))
    thr = draw(st.sampled_from([-1.0, 0.0, 0.3, 0.5, 0.9]))
    return a, ao, b, bo, wa, wb, thr


def _no_threshold_ties(a, ao, b, bo, thr, eps=1e-5):
    """Coverage counts similarities >= threshold: a cosine within float32
    rounding of the threshold (e.g. exactly 0 against 0.0) may fall either
    side in the float32 kernel, so such draws are not a test of it."""
    for g in range(len(ao) - 1):
        x, y = a[ao[g] : ao[g + 1]].astype(np.float64), b[bo[g] : bo[g + 1]].astype(np.float64)
        if len(x) and len(y):
            nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
            ok = (nx > 0)[:, None] & (ny > 0)[None, :]
            cos = (x @ y.T) / np.where(ok, np.outer(nx, ny), 1.0)
            if np.any(ok & (np.abs(cos - thr) < eps)):
                return False
    return True


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # isa only switches a global
@given(grouped())
def test_matches_reference(isa, case):
    a, ao, b, bo, _, _, thr = case
    assume(_no_threshold_ties(a, ao, b, bo, thr))
    _check(align_embeddings(a, ao, b, bo, threshold=thr), ref.align_grouped(a, ao, b, bo, threshold=thr))


@given(grouped(weights=True))
def test_matches_reference_weighted(case):
    a, ao, b, bo, wa, wb, thr = case
    assume(_no_threshold_ties(a, ao, b, bo, thr))
    res = align_embeddings(a, ao, b, bo, cand_weights=wa, ref_weights=wb, threshold=thr)
    _check(res, ref.align_grouped(a, ao, b, bo, wa, wb, threshold=thr), atol=5e-5)


def test_workers_and_batch_split_bit_identical(rng):
    sizes_a = rng.integers(0, 12, 700)
    sizes_b = rng.integers(0, 12, 700)
    a = rng.standard_normal((sizes_a.sum(), 48)).astype(np.float32)
    b = rng.standard_normal((sizes_b.sum(), 48)).astype(np.float32)
    ao = np.concatenate([[0], np.cumsum(sizes_a)])
    bo = np.concatenate([[0], np.cumsum(sizes_b)])
    one = align_embeddings(a, ao, b, bo, workers=1)
    for w in (2, 3, -1):
        many = align_embeddings(a, ao, b, bo, workers=w)
        for k in KEYS:
            assert np.array_equal(getattr(one, k), getattr(many, k), equal_nan=True)
    cut = 311
    lo = align_embeddings(a[: ao[cut]], ao[: cut + 1], b[: bo[cut]], bo[: cut + 1])
    hi = align_embeddings(a[ao[cut] :], ao[cut:] - ao[cut], b[bo[cut] :], bo[cut:] - bo[cut])
    for k in KEYS:
        assert np.array_equal(getattr(one, k), np.concatenate([getattr(lo, k), getattr(hi, k)]), equal_nan=True)


def test_identical_and_permuted(rng):
    pts = rng.standard_normal((6, 64)).astype(np.float32)
    perm = pts[[3, 0, 5, 1, 4, 2]]
    off = np.array([0, 6])
    same = align_embeddings(pts, off, pts, off)
    for k in KEYS:
        assert getattr(same, k)[0] == pytest.approx(1.0, abs=1e-6)
    shuf = align_embeddings(perm, off, pts, off)
    assert shuf.f1[0] == pytest.approx(1.0, abs=1e-6)  # greedy F ignores order
    assert shuf.coverage[0] == pytest.approx(1.0, abs=1e-6)
    assert shuf.order[0] < 0.75  # the monotone alignment does not


def test_degenerate_cases():
    d = 4
    a = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [np.nan, 0, 0, 0]], np.float32)
    b = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], np.float32)
    # groups: both empty | cand empty | ref empty | zero vector vs b | NaN row
    ao = np.array([0, 0, 0, 1, 2, 3])
    bo = np.array([0, 0, 1, 1, 2, 3])
    b2 = np.concatenate([b, b[:1]])
    assert b2.shape == (3, d)
    res = align_embeddings(a, ao, b2, bo)
    assert all(np.isnan(getattr(res, k)[0]) for k in KEYS)
    for g in (1, 2):
        assert all(getattr(res, k)[g] == 0.0 for k in KEYS)
    assert res.f1[3] == 0.0 and res.order[3] == 0.0  # zero vector: cosine 0
    assert all(np.isnan(getattr(res, k)[4]) for k in KEYS)
    assert len(align_embeddings(np.zeros((0, 3), np.float32), [0], np.zeros((0, 3), np.float32), [0])) == 0


def test_bad_input():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="columns"):
        align_embeddings(a, [0, 3], np.ones((3, 5), np.float32), [0, 3])
    with pytest.raises(ValueError, match="cand_offsets\\[-1\\]|a_offsets"):
        align_embeddings(a, [0, 2], a, [0, 3])
    with pytest.raises(ValueError, match="non-decreasing"):
        align_embeddings(a, [0, 2, 1, 3], a, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="one weight per row"):
        align_embeddings(a, [0, 3], a, [0, 3], cand_weights=np.ones(2))
    with pytest.raises(ValueError, match=">= 0"):
        align_embeddings(a, [0, 3], a, [0, 3], ref_weights=np.array([1, -1, 1]))
    with pytest.raises(TypeError, match="astype"):
        align_embeddings(a.astype(np.int32), [0, 3], a, [0, 3])
    with pytest.raises(TypeError, match="threshold"):
        align_embeddings(a, [0, 3], a, [0, 3], threshold="high")
    with pytest.raises(ValueError, match="workers"):
        align_embeddings(a, [0, 3], a, [0, 3], workers=0)


# ------------------------------------------------------------------ with an encoder
@pytest.fixture(scope="module")
def enc(tmp_path_factory):
    d = ob.build_tiny_model(tmp_path_factory.mktemp("tiny") / "m", seed=11)
    return Encoder(d, cache=None, threads=1)


CANDS = [
    "The cat sat on the mat. The dog ran in the park. Paris is the capital of France.",
    "Paris is the capital of France. The cat sat on the mat. The dog ran in the park.",
    "",
    "One short answer.",
    "- first point\n- second point\n\nA closing remark.",
]
REFS = [
    "The cat sat on the mat. The dog ran in the park. Paris is the capital of France.",
    "The cat sat on the mat. The dog ran in the park. Paris is the capital of France.",
    "",
    "",
    "- first point\n- second point",
]


def test_align_scores_sentences(enc):
    res = align_scores(CANDS, REFS, level="sentence", encoder=enc)
    assert len(res) == 5 and res.signature.startswith("align:sentence")
    for k in KEYS:
        assert getattr(res, k)[0] == pytest.approx(1.0, abs=1e-6)  # identical answers
    assert res.f1[1] == pytest.approx(1.0, abs=1e-6) and res.order[1] < res.f1[1] - 0.05
    assert np.isnan(res.f1[2]) and res.f1[3] == 0.0
    # the same as embedding the sentences by hand and calling the kernel
    from distillscope import segment

    sc, sr = segment(CANDS), segment(REFS)
    ec = enc.encode([t[a:b] for i, t in enumerate(CANDS) for a, b in sc[i].tolist()])
    er = enc.encode([t[a:b] for i, t in enumerate(REFS) for a, b in sr[i].tolist()])
    manual = align_embeddings(ec, sc.offsets, er, sr.offsets)
    for k in KEYS:
        assert np.array_equal(getattr(res, k), getattr(manual, k), equal_nan=True)
    para = align_scores(CANDS, REFS, level="paragraph", encoder=enc)
    assert para.f1[0] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("idf", [False, True])
def test_token_level_equals_numpy_bertscore(enc, idf):
    cands = ["the cat sat on the mat", "a dog ran in the park today", "what is the capital of france?"]
    refs = ["a cat was sitting on a mat", "the dog runs in a park", "paris is the capital of france."]
    res = align_scores(cands, refs, level="token", encoder=enc, idf=idf)
    toks, ids = enc.encode_tokens(cands + refs, return_ids=True)
    n = len(cands)
    ref_docs = [ids[toks.offsets[n + i] : toks.offsets[n + i + 1]] for i in range(n)]
    df = {}
    for doc in ref_docs:
        for t in set(doc.tolist()):
            df[t] = df.get(t, 0) + 1
    for i in range(n):
        c_ids = ids[toks.offsets[i] : toks.offsets[i + 1]]
        r_ids = ref_docs[i]
        wc = wr = None
        if idf:
            wc = [np.log((n + 1) / (df.get(t, 0) + 1)) for t in c_ids.tolist()]
            wr = [np.log((n + 1) / (df.get(t, 0) + 1)) for t in r_ids.tolist()]
        p, r, f = ref.bertscore_numpy(toks[i], toks[n + i], wc, wr)
        assert res.precision[i] == pytest.approx(p, abs=2e-6)
        assert res.recall[i] == pytest.approx(r, abs=2e-6)
        assert res.f1[i] == pytest.approx(f, abs=2e-6)


def test_align_scores_bad_input(enc):
    with pytest.raises(ValueError, match="pair up"):
        align_scores(["a"], ["a", "b"], encoder=enc)
    with pytest.raises(ValueError, match="idf"):
        align_scores(["a"], ["b"], encoder=enc, idf=True)
    with pytest.raises(ValueError, match="level"):
        align_scores(["a"], ["b"], encoder=enc, level="word")
    with pytest.raises(TypeError, match="wrap it"):
        align_scores("a", "b", encoder=enc)
