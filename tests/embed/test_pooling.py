"""Late chunking: window plan, token ownership, span pooling, and Encoder.encode_with_segments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillscope._ragged import Ragged
from distillscope.embed import onnx_builder as ob
from distillscope.embed.encoder import Encoder
from distillscope.embed.pooling import (
    owned_tokens,
    plan_windows,
    pool_runs,
    span_token_index,
)
from distillscope.text.segment import segment


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 2000), width=st.integers(1, 300), frac=st.floats(0, 0.49))
def test_windows_cover_every_token_with_context(n, width, frac):
    margin = min(int(width * frac), (width - 1) // 2)
    starts = plan_windows(n, width, margin)
    assert starts[0] == 0 and (np.diff(starts) > 0).all()
    assert starts[-1] + width >= n and (starts >= 0).all()
    win, pos = owned_tokens(n, starts, width)
    assert ((pos >= 0) & (pos < width)).all()
    assert (np.diff(win) >= 0).all()  # ownership moves forward through the text
    if len(starts) > 1:
        ctx_left = np.where(np.arange(n) >= margin, pos, margin)  # the text's own start has no more context
        ctx_right = np.where(np.arange(n) < n - margin, width - 1 - pos, margin)
        assert ctx_left.min() >= margin and ctx_right.min() >= margin


def test_window_plan_errors():
    with pytest.raises(ValueError, match="margin"):
        plan_windows(10, 8, 4)
    with pytest.raises(ValueError, match="width"):
        plan_windows(10, 0, 0)


def test_span_token_index_and_pooling():
    # tokens (char ranges) of "Ab cd. Ef gh." with spans [0,6) and [7,13)
    ts = np.array([0, 3, 5, 7, 10, 12])
    te = np.array([2, 5, 6, 9, 12, 13])
    spans = np.array([[0, 6], [7, 13]])
    assert span_token_index(ts, te, spans).tolist() == [0, 0, 0, 1, 1, 1]
    assert span_token_index(np.array([6, 20]), np.array([8, 21]), spans).tolist() == [1, -1]  # starts in the gap
    states = np.arange(6 * 3, dtype=np.float32).reshape(6, 3)
    got = pool_runs(states, np.array([0, 0, 0, 1, 1, 1]), 3)
    want = np.stack([states[:3].mean(0), states[3:].mean(0)])
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(got[:2], want, rtol=1e-6)
    assert not got[2].any()  # a span without tokens is the zero vector
    shuffled = pool_runs(states[::-1], np.array([1, 1, 1, 0, 0, 0]), 2)  # non-monotone ids: same sums
    np.testing.assert_allclose(shuffled, got[:2], rtol=1e-6)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Encoder:
    d = ob.build_tiny_model(tmp_path_factory.mktemp("tiny-late") / "m", seed=11)
    return Encoder(d, precision="fp32", cache=None, threads=1)


def _texts() -> list[str]:
    words = ob.tiny_vocab()[120:]
    long = " ".join(f"{words[i % len(words)]} {words[(5 * i) % len(words)]}." for i in range(120))
    return ["", "the cat sat. it ran!", long, "the cat sat. it ran!", long[: len(long) // 3]]


def _reference(enc: Encoder, text: str, spans: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Window-by-window forward passes with the plain encode_tokens machinery, stitched in Python."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(enc.files.tokenizer))
    tok.no_truncation()
    tok.no_padding()
    e = tok.encode(text, add_special_tokens=False)
    ids, offs = e.ids, e.offsets
    width = enc.max_length - 2
    starts = plan_windows(len(ids), width, margin)
    per_window = []
    for s in starts:  # feed ids directly (decoding is lossy)
        w = enc._run(
            [
                type(
                    "W",
                    (),
                    {
                        "ids": [
                            *tok.encode("", add_special_tokens=True).ids[:1],
                            *ids[s : s + width],
                            *tok.encode("", add_special_tokens=True).ids[1:],
                        ],
                        "type_ids": [0] * (min(width, len(ids)) + 2),
                    },
                )()
            ],
            type("B", (), {"rows": np.array([0]), "length": min(width, len(ids)) + 2})(),
        )[0][0]
        per_window.append(w)
    states = []
    for t in range(len(ids)):
        centres = starts + width / 2
        k = int(np.argmin(np.abs(centres - (t + 0.5))))  # nearest centre, first on ties
        states.append(per_window[k][1 + t - starts[k]])
    content = np.array(states).reshape(-1, enc.dim)
    full = np.concatenate([per_window[0][:1], content, per_window[-1][-1:]])
    resp = full.mean(0) / np.linalg.norm(full.mean(0))
    segs = []
    for a, b in spans:
        sel = [i for i, (s, e_) in enumerate(offs) if a <= s < b]
        v = content[sel].mean(0)
        segs.append(v / np.linalg.norm(v))
    return resp, np.array(segs).reshape(-1, enc.dim)


def test_encode_with_segments_matches_a_window_by_window_reference(tiny):
    texts = _texts()
    sp = segment(texts, "sentence")
    resp, segs = tiny.encode_with_segments(texts, sp, margin=4)
    assert resp.shape == (len(texts), tiny.dim) and segs.values.shape == (len(sp.values), tiny.dim)
    np.testing.assert_array_equal(segs.offsets, sp.offsets)
    assert tiny.token_counts([texts[2]])[0] == tiny.max_length  # the long text needs windows
    for i in (1, 2, 4):
        r, s = _reference(tiny, texts[i], sp.values[sp.offsets[i] : sp.offsets[i + 1]], 4)
        np.testing.assert_allclose(resp[i], r, atol=2e-5)
        np.testing.assert_allclose(segs.values[sp.offsets[i] : sp.offsets[i + 1]], s, atol=2e-5)
    # a text that fits in one window gets exactly encode()'s vector
    short = [0, 1, 4] if tiny.token_counts([texts[4]])[0] < tiny.max_length else [0, 1]
    np.testing.assert_allclose(resp[short], tiny.encode([texts[i] for i in short]), atol=1e-6)
    np.testing.assert_array_equal(resp[1], resp[3])


def test_encode_with_segments_cache_and_batching(tiny, tmp_path, monkeypatch):
    texts = _texts()
    sp = segment(texts, "paragraph")
    want_r, want_s = tiny.encode_with_segments(texts, sp)
    e = Encoder(tiny.files.directory, precision="fp32", cache=tmp_path / "c.sqlite3", threads=1, batch_size=2)
    r, s = e.encode_with_segments(texts, sp)
    np.testing.assert_array_equal(r, want_r)  # batch size never changes fp32 results
    np.testing.assert_array_equal(s.values, want_s.values)

    def boom(*a, **k):
        raise AssertionError("a cached response was encoded again")

    monkeypatch.setattr(e, "_late_uncached", boom)
    r2, s2 = e.encode_with_segments(texts, sp)
    np.testing.assert_array_equal(r2, want_r)
    np.testing.assert_array_equal(s2.values, want_s.values)


def test_encode_with_segments_errors(tiny):
    with pytest.raises(ValueError, match="one row of offsets per text"):
        tiny.encode_with_segments(["a", "b"], Ragged(np.zeros((0, 2), np.int64), np.zeros(2, np.int64)))
    with pytest.raises(ValueError, match="margin"):
        tiny.encode_with_segments(["a"], segment(["a"], "sentence"), margin=10_000)
    with pytest.raises(TypeError, match="single str"):
        tiny.encode_with_segments("a", segment(["a"], "sentence"))
