"""BERTScore on the ONNX encoder.

* Against an independent oracle on the tiny random BERT the test-suite builds:
  token states from the float64 numpy forward pass of ``_reference.bert_forward``
  (truncated to ``num_layers``), ids from the ``tokenizers`` library, and
  BERTScore written out from its definition with dense numpy matrices.
* Against the real bert-score package (and torch, transformers), on
  all-MiniLM-L6-v2 resolved through distillscope.embed.models: `.ci/run`
  installs the CPU build of torch and bert-score, so CI runs it (a missing
  peer fails there); elsewhere it skips with the reason.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import distillscope as ds
from distillscope import _reference as ref
from distillscope.compat import bert_score as ds_bs
from distillscope.embed import onnx_builder as ob

CANDS = [
    "the cat sat on the mat",
    "a model is a teacher",
    "hello world",
    "paris is the capital of france",
    "the the the",
    "one two three four five",
    "python code function return value",
    "yes",
]
REFS = [
    "a cat sat on a mat",
    "the student model learns from the teacher",
    "hello there world",
    "london is a city",
    "the",
    "five four three two one",
    "return the value of a function",
    "no",
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return ob.build_tiny_model(tmp_path_factory.mktemp("bs") / "tiny-model", seed=3)


def _oracle(model_dir: Path, cands, refs, layers: int, idf: bool) -> np.ndarray:
    from tokenizers import Tokenizer

    cfg = json.loads((model_dir / "config.json").read_text())
    cfg = dict(cfg, num_hidden_layers=layers)
    tensors = ob.load_bert_tensors(model_dir / "model.safetensors")
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()  # bert-score encodes each text alone, unpadded

    def states(text):
        e = tok.encode(text.strip())
        ids = np.array([e.ids])
        h = ref.bert_forward(tensors, cfg, ids, np.ones_like(ids))[0]
        return h / np.linalg.norm(h, axis=1, keepdims=True), e.ids, [bool(s) for s in e.special_tokens_mask]

    ref_tok = [states(r) for r in refs]
    m = len(refs)
    df: dict[int, int] = {}
    for _, ids, _ in ref_tok:
        for t in set(ids):
            df[t] = df.get(t, 0) + 1

    def weight(t, special):
        if special:
            return 0.0
        return math.log((m + 1) / (df.get(t, 0) + 1)) if idf else 1.0

    out = []
    for c, (rh, rids, rsp) in zip(cands, ref_tok):
        ch, cids, csp = states(c)
        sim = ch @ rh.T
        wc = np.array([weight(t, s) for t, s in zip(cids, csp)])
        wr = np.array([weight(t, s) for t, s in zip(rids, rsp)])
        p = (sim.max(axis=1) * wc).sum() / wc.sum()
        r = (sim.max(axis=0) * wr).sum() / wr.sum()
        out.append((p, r, 2 * p * r / (p + r)))
    return np.array(out)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("idf", [False, True])
def test_matches_numpy_oracle(tiny_dir, layers, idf):
    p, r, f = ds_bs.score(CANDS, REFS, model_type=str(tiny_dir), num_layers=layers, idf=idf)
    expected = _oracle(tiny_dir, CANDS, REFS, layers, idf)
    np.testing.assert_allclose(np.stack([p, r, f], axis=1), expected, atol=2e-5)
    assert p.dtype == np.float64 and p.shape == (len(CANDS),)


def test_layer_changes_scores_and_default_graph_is_untouched(tiny_dir):
    default = (tiny_dir / "model.onnx").read_bytes() if (tiny_dir / "model.onnx").exists() else None
    f1 = ds_bs.score(CANDS, REFS, model_type=str(tiny_dir), num_layers=1)[2]
    f2 = ds_bs.score(CANDS, REFS, model_type=str(tiny_dir), num_layers=2)[2]
    assert np.abs(f1 - f2).max() > 1e-3
    if default is not None:
        assert (tiny_dir / "model.onnx").read_bytes() == default
    assert (tiny_dir / "model.L1.onnx").is_file()


def test_multiple_references_take_the_max(tiny_dir):
    multi = [[r, c] for c, r in zip(CANDS, REFS)]
    p, r, f = ds_bs.score(CANDS, multi, model_type=str(tiny_dir), num_layers=2)
    p1, r1, f1 = ds_bs.score(CANDS, REFS, model_type=str(tiny_dir), num_layers=2)
    p2, r2, f2 = ds_bs.score(CANDS, CANDS, model_type=str(tiny_dir), num_layers=2)
    # idf off: weights do not depend on the reference set, so the max is elementwise
    np.testing.assert_allclose(f, np.maximum(f1, f2), atol=1e-7)
    np.testing.assert_allclose(f2, 1.0, atol=1e-5)  # a text against itself


def test_native_entry_point_and_errors(tiny_dir):
    res = ds.bert_score(CANDS, REFS, model=str(tiny_dir), layer=2)
    np.testing.assert_allclose(res.f1, ds_bs.score(CANDS, REFS, model_type=str(tiny_dir), num_layers=2)[2])
    assert "idf:no" in res.signature
    with pytest.raises(ValueError, match="layer must be an int between 1 and 2"):
        ds.bert_score(CANDS, REFS, model=str(tiny_dir), layer=3)
    with pytest.raises(NotImplementedError, match="baseline"):
        ds_bs.score(CANDS, REFS, model_type=str(tiny_dir), rescale_with_baseline=True)
    with pytest.raises(ValueError, match="same length"):
        ds_bs.score(CANDS, REFS[:-1], model_type=str(tiny_dir))


def test_against_bert_score_package(torch_peer, corpus):
    """compat.bert_score.score against bert-score itself: the issue's setting
    (all-MiniLM-L6-v2, num_layers=6), short hand-made pairs and real AlpacaEval
    answers of 50-300 words within the model's 512 positions, idf off and on."""
    bert_score = torch_peer("bert_score")
    from distillscope.embed.models import resolve_model

    try:
        model_dir = resolve_model("all-MiniLM-L6-v2").directory
    except (FileNotFoundError, ValueError) as exc:
        pytest.skip(f"all-MiniLM-L6-v2 files not available locally: {exc}")
    hyps, refs_real, _ = corpus
    enc = ds.Encoder(model_dir, cache=None, precision="fp32", max_length=512)
    n_tok = enc.token_counts(hyps + refs_real)
    real = [
        (h, r)
        for h, r, a, b in zip(hyps, refs_real, n_tok[: len(hyps)], n_tok[len(hyps) :])
        if 50 <= len(h.split()) <= 300 and 50 <= len(r.split()) <= 300 and max(a, b) <= 512
    ][:24]
    assert len(real) >= 12
    cands = CANDS + ["Distillation makes student models sound like their teachers, sometimes word for word."]
    refs = REFS + ["Student models trained on teacher outputs often copy the teacher's phrasing."]
    cands += [h for h, _ in real]
    refs += [r for _, r in real]
    peer_f = {}
    for idf in (False, True):
        P, R, F = bert_score.score(cands, refs, model_type=str(model_dir), num_layers=6, idf=idf, batch_size=8)
        peer_f[idf] = F.numpy()
        p, r, f = ds_bs.score(cands, refs, model_type=str(model_dir), num_layers=6, idf=idf)
        assert np.abs(f - F.numpy()).max() <= 1e-4
        assert np.abs(p - P.numpy()).max() <= 1e-4 and np.abs(r - R.numpy()).max() <= 1e-4
        assert np.std(f) > 0.05  # the pairs span a real range of scores, not one value
    # the native API defaults to the same fp32 encoder (int8 would move F by ~1e-2)
    res = ds.bert_score(cands[-4:], refs[-4:], model=str(model_dir), layer=6)
    assert "|fp32|" in res.signature
    assert np.abs(res.f1 - peer_f[False][-4:]).max() <= 1e-4
