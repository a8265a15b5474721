"""The real default model (all-MiniLM-L6-v2) against sentence-transformers.

* golden test: runs whenever the model is available locally (CI runs
  ``distillscope model download`` first); compares with embeddings that
  sentence-transformers produced (tests/data/make_golden.py).
* parity test: runs when sentence-transformers is importable too, and
  compares live.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from distillscope.embed.models import model_available

DATA = Path(__file__).parent.parent / "data"
pytestmark = pytest.mark.skipif(
    not model_available(),
    reason="all-MiniLM-L6-v2 is not available locally; run `distillscope model download` (needs network once)",
)


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return json.loads((DATA / "golden_sentences.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fp32(sentences):
    from distillscope import Encoder

    enc = Encoder(cache=None, precision="fp32")
    return enc, enc.encode(sentences)


def test_golden_file(sentences, fp32):
    enc, got = fp32
    assert len(sentences) >= 200
    assert enc.max_length == 256 and enc.pooling == "mean"
    assert int(enc.token_counts(sentences).max()) == 256  # texts longer than the 128 of tokenizer.json
    golden = np.load(DATA / "golden_minilm.npy").astype(np.float32)
    golden /= np.linalg.norm(golden, axis=1, keepdims=True)
    cos = (got * golden).sum(axis=1)
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.9999, f"cosine {cos.min():.6f} on {sentences[worst][:80]!r}"


def test_int8_agreement(sentences, fp32):
    from distillscope import Encoder

    _, ref = fp32
    got = Encoder(cache=None, precision="int8").encode(sentences)
    cos = (got * ref).sum(axis=1)
    assert cos.mean() >= 0.99, (cos.mean(), cos.min())
    assert cos.min() >= 0.95


def test_parity_with_sentence_transformers(sentences, fp32, torch_peer):
    SentenceTransformer = torch_peer("sentence_transformers").SentenceTransformer
    enc, got = fp32
    model = SentenceTransformer(str(enc.files.directory), device="cpu")
    want = model.encode(sentences, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    cos = (got * want).sum(axis=1)
    assert cos.min() >= 0.9999, cos.min()
