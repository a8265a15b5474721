"""distillscope.compat.sacrebleu against the real sacrebleu: identical scores and statistics."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope.compat import sacrebleu as ds_sb

sb = pytest.importorskip("sacrebleu", reason="sacrebleu is a test dependency")

BLEU_OPTS = [
    {},
    {"lowercase": True},
    {"tokenize": "none"},
    {"tokenize": "intl"},
    {"tokenize": "char"},
    {"smooth_method": "floor"},
    {"smooth_method": "add-k", "smooth_value": 0.5},
    {"smooth_method": "none"},
    {"use_effective_order": True},
]
CHRF_OPTS = [
    {},
    {"word_order": 2},
    {"eps_smoothing": True},
    {"remove_whitespace": False},
    {"beta": 1},
    {"char_order": 4, "word_order": 1},
]


def _part(corpus, n: int) -> tuple[list[str], list[str], list[str]]:
    """The first n real answers plus every edge case (the multi-reference peer path is slow)."""
    return tuple(x[:n] + x[-7:] for x in corpus)  # type: ignore[return-value]


def _same_bleu(a, b) -> None:
    assert a.score == b.score
    assert (a.counts, a.totals, a.sys_len, a.ref_len) == (b.counts, b.totals, b.sys_len, b.ref_len)
    assert a.bp == b.bp
    assert np.allclose(a.precisions, b.precisions, rtol=0, atol=1e-12)
    assert str(a).split("|")[0] == str(b).split("|")[0]
    assert a.format(score_only=True) == b.format(score_only=True)


@pytest.mark.parametrize("opts", BLEU_OPTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("nrefs", [1, 2])
def test_corpus_bleu(corpus, opts, nrefs):
    h, r, r2 = _part(corpus, 100 if nrefs == 1 and opts.get("tokenize") != "char" else 25)
    refs = [r, r2][:nrefs]
    _same_bleu(ds_sb.corpus_bleu(h, refs, **opts), sb.corpus_bleu(h, refs, **opts))


@pytest.mark.parametrize("opts", CHRF_OPTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("nrefs", [1, 2])
def test_corpus_chrf(corpus, opts, nrefs):
    h, r, r2 = _part(corpus, 100 if nrefs == 1 else 25)
    refs = [r, r2][:nrefs]
    assert ds_sb.corpus_chrf(h, refs, **opts).score == sb.corpus_chrf(h, refs, **opts).score


def test_sentence_level_every_pair(corpus):
    h, r, r2 = _part(corpus, 30)
    for i in range(len(h)):
        _same_bleu(ds_sb.sentence_bleu(h[i], [r[i]]), sb.sentence_bleu(h[i], [r[i]]))
        _same_bleu(ds_sb.sentence_bleu(h[i], [r[i], r2[i]]), sb.sentence_bleu(h[i], [r[i], r2[i]]))
        for opts in ({}, {"word_order": 2}):
            assert (
                ds_sb.sentence_chrf(h[i], [r[i], r2[i]], **opts).score
                == sb.sentence_chrf(h[i], [r[i], r2[i]], **opts).score
            )


# short sentences: zero matches at the higher orders (the smoothing decides the
# precision), orders with no n-gram at all (totals 0), and no match whatsoever
SHORT_PAIRS = [
    ("the cat", "the cat sat on the mat"),
    ("a b c d e", "a x c y e"),
    ("the cat sat on the mat", "the dog sat on a mat"),
    ("one two three", "one two three"),
    ("hello", "goodbye"),
    ("", "something"),
]


@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"smooth_method": "floor"},
        {"smooth_method": "floor", "smooth_value": 0.3},
        {"smooth_method": "add-k"},
        {"smooth_method": "add-k", "smooth_value": 2},
        {"smooth_method": "none"},
        {"use_effective_order": True},
        {"smooth_method": "floor", "use_effective_order": True},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default",
)
def test_sentence_bleu_smoothing_on_short_sentences(opts):
    for h, r in SHORT_PAIRS:
        _same_bleu(ds_sb.sentence_bleu(h, [r], **opts), sb.sentence_bleu(h, [r], **opts))


def test_variable_number_of_references(corpus):
    h, r, r2 = _part(corpus, 25)
    r2_holes = [x if i % 3 else None for i, x in enumerate(r2)]
    _same_bleu(ds_sb.corpus_bleu(h, [r, r2_holes]), sb.corpus_bleu(h, [r, r2_holes]))
    assert ds_sb.corpus_chrf(h, [r, r2_holes]).score == sb.corpus_chrf(h, [r, r2_holes]).score
    m, p = ds_sb.metrics.BLEU(), sb.metrics.BLEU()
    m.corpus_score(h, [r, r2_holes])
    p.corpus_score(h, [r, r2_holes])
    assert "nrefs:var" in str(m.get_signature()) and "nrefs:var" in str(p.get_signature())


@pytest.mark.parametrize(
    "cls,opts",
    [
        ("BLEU", {}),
        ("BLEU", {"lowercase": True, "tokenize": "none", "effective_order": True}),
        ("BLEU", {"smooth_method": "floor", "smooth_value": 0.2}),
        ("CHRF", {}),
        ("CHRF", {"word_order": 2, "lowercase": True, "whitespace": True, "eps_smoothing": True}),
    ],
)
def test_metric_objects_and_signatures(corpus, cls, opts):
    h, r, _ = corpus
    mine, peer = getattr(ds_sb.metrics, cls)(**opts), getattr(sb.metrics, cls)(**opts)
    a, b = mine.corpus_score(h, [r]), peer.corpus_score(h, [r])
    assert a.score == b.score and a.name == b.name
    assert mine.sentence_score(h[0], [r[0]]).score == peer.sentence_score(h[0], [r[0]]).score
    # same fields and values; only the version names the package that computed the numbers
    for short in (False, True):
        ours = mine.get_signature().format(short=short).rsplit("|", 1)
        theirs = peer.get_signature().format(short=short).rsplit("|", 1)
        assert ours[0] == theirs[0]
        assert ours[1].split(":")[1].startswith("distillscope-")


def test_cached_references(corpus):
    h, r, _ = corpus
    assert ds_sb.metrics.BLEU(references=[r]).corpus_score(h, None).score == sb.corpus_bleu(h, [r]).score


def test_bad_input_messages(corpus):
    h, r, _ = corpus
    with pytest.raises(TypeError, match=r"\[refs\]"):
        ds_sb.corpus_bleu(h, r)  # a single stream passed without the outer list
    with pytest.raises(ValueError, match="segments"):
        ds_sb.corpus_bleu(h, [r[:-1]])
    with pytest.raises(TypeError, match="wrap it in a list"):
        ds_sb.corpus_chrf("one hypothesis", [["one ref"]])
    with pytest.raises(ValueError, match="smooth_method"):
        ds_sb.metrics.BLEU(smooth_method="bogus")
    with pytest.raises(NotImplementedError, match="n_bootstrap"):
        ds_sb.metrics.BLEU().corpus_score(h, [r], n_bootstrap=100)
    with pytest.raises(ValueError, match="evaluate the metric first"):
        ds_sb.metrics.BLEU().get_signature()
