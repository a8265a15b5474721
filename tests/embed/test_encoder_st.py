"""Encoder.encode as a stand-in for SentenceTransformer.encode (tiny model built by the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from distillscope import Encoder
from distillscope.embed import onnx_builder as ob

TEXTS = ["the cat sat on the mat", "hello world", "a model is a teacher", ""]


@pytest.fixture(scope="module")
def enc(tmp_path_factory) -> Encoder:
    d: Path = ob.build_tiny_model(tmp_path_factory.mktemp("st") / "tiny-model", seed=5)
    return Encoder(d, cache=None, threads=1, batch_size=2)


def test_single_string_and_keywords(enc, capsys, monkeypatch):
    full = enc.encode(TEXTS)
    one = enc.encode(TEXTS[0])
    assert one.shape == (enc.dim,) and one.dtype == np.float32
    np.testing.assert_array_equal(one, full[0])
    np.testing.assert_array_equal(
        enc.encode(TEXTS, batch_size=1, normalize_embeddings=True, convert_to_numpy=True), full
    )
    rows = enc.encode(TEXTS, convert_to_numpy=False)
    assert isinstance(rows, list) and len(rows) == 4
    np.testing.assert_array_equal(np.stack(rows), full)
    np.testing.assert_allclose(np.linalg.norm(full, axis=1), 1.0, atol=1e-6)
    # the shared progress display (silent for stages under min_seconds: made 0 here)
    import functools

    from distillscope import progress as progress_mod

    monkeypatch.setattr(
        progress_mod.Progress, "__init__", functools.partialmethod(progress_mod.Progress.__init__, min_seconds=0.0)
    )
    capsys.readouterr()
    enc.encode([t + " (not cached yet)" for t in TEXTS], show_progress_bar=True)
    err = capsys.readouterr().err
    assert "embedding texts" in err and "4/4" in err
    enc.encode([t + " (quiet)" for t in TEXTS], show_progress_bar=False)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(enc.encode(tuple(TEXTS)), full)
    np.testing.assert_array_equal(enc.encode(np.array(TEXTS, dtype=object)), full)


def test_unsupported_keywords_and_tensor(enc):
    with pytest.raises(TypeError, match="device"):
        enc.encode(TEXTS, device="cuda")
    with pytest.raises(ValueError, match="encode_tokens"):
        enc.encode(TEXTS, output_value="token_embeddings")
    with pytest.raises(ValueError, match="batch_size"):
        enc.encode(TEXTS, batch_size=0)
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs torch"):
            enc.encode(TEXTS, convert_to_tensor=True)
    else:
        assert tuple(enc.encode(TEXTS, convert_to_tensor=True).shape) == (4, enc.dim)
