"""distillscope.compat.rouge_scorer against the real rouge-score: bit-identical Score tuples."""

from __future__ import annotations

import numpy as np
import pytest

import distillscope as ds
from distillscope.compat import rouge_scorer as ds_rs

rs = pytest.importorskip("rouge_score.rouge_scorer", reason="rouge-score is a test dependency")

TYPES = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
# sentence structure that makes the union LCS of rougeLsum differ from plain LCS
LSUM_EDGE = [
    ("the cat sat\non the mat\n\nthe end", "on the mat the cat\nsat\nthe end the"),
    ("\n\n", "a b c"),
    ("a b c", "\n"),
    ("x y\ny x\nx y", "y x y x\nx"),
    ("--\n!!", "-- !!"),
]


class WhitespaceTokenizer:
    def tokenize(self, text: str) -> list[str]:
        return text.split()


def _pairs(corpus):
    h, r, _ = corpus
    return list(r) + [t for t, _ in LSUM_EDGE], list(h) + [p for _, p in LSUM_EDGE]


@pytest.mark.parametrize(
    "opts",
    [{}, {"use_stemmer": True}, {"tokenizer": WhitespaceTokenizer()}],
    ids=["default", "stemmer", "custom-tokenizer"],
)
def test_score_and_batch_identical(corpus, opts):
    if opts.get("use_stemmer"):
        pytest.importorskip("nltk.stem.porter")
    targets, preds = _pairs(corpus)
    peer, mine = rs.RougeScorer(TYPES, **opts), ds_rs.RougeScorer(TYPES, **opts)
    batch = mine.score_batch(targets, preds)
    for i, (t, p) in enumerate(zip(targets, preds)):
        expected = peer.score(t, p)
        got = mine.score(t, p) if i % 10 == 0 else None
        for k in TYPES:
            e = tuple(expected[k])
            assert (batch[k].precision[i], batch[k].recall[i], batch[k].fmeasure[i]) == e, (k, i)
            if got is not None:
                assert tuple(got[k]) == e and isinstance(got[k], ds_rs.Score)


def test_score_multi(corpus):
    h, r, r2 = corpus
    peer, mine = rs.RougeScorer(TYPES), ds_rs.RougeScorer(TYPES)
    for i in range(0, 40, 4):
        targets = [r[i], r2[i], h[i + 1]]
        assert mine.score_multi(targets, h[i]) == peer.score_multi(targets, h[i])


def test_rougeLsum_in_native_rouge_scores(corpus):
    targets, preds = _pairs(corpus)
    res = ds.rouge_scores(
        np.array(preds, dtype=object), tuple(targets), rouge_types=("rougeLsum", "rouge1"), tokenizer="rouge"
    )
    peer = rs.RougeScorer(["rougeLsum"])
    f = [peer.score(t, p)["rougeLsum"].fmeasure for t, p in zip(targets, preds)]
    assert res["rougeLsum"].fmeasure.tolist() == f
    with pytest.raises(ValueError, match="texts, not Ragged"):
        ids = ds.tokenize(["a b"], "rouge")
        ds.rouge_scores(ids, ids, rouge_types=["rougeLsum"])


def test_bad_input_messages():
    with pytest.raises(ValueError, match="rougeLsum"):
        ds_rs.RougeScorer(["rougeX"])
    with pytest.raises(TypeError, match="score_batch"):
        ds_rs.RougeScorer(["rouge1"]).score(["a"], "a")
    with pytest.raises(ValueError, match="same length"):
        ds_rs.RougeScorer(["rouge1"]).score_batch(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="tokenize"):
        ds_rs.RougeScorer(["rouge1"], tokenizer=object())
