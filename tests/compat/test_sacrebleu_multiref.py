"""Multi-reference BLEU on the native kernel: bit-exact with sacrebleu where clipping and lengths are subtle."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope import _core
from distillscope.compat import sacrebleu as ds_sb

sb = pytest.importorskip("sacrebleu", reason="sacrebleu is a test dependency")


def _same(a, b) -> None:
    assert a.score == b.score
    assert (a.counts, a.totals, a.sys_len, a.ref_len, a.bp) == (b.counts, b.totals, b.sys_len, b.ref_len, b.bp)


def _random_corpus(seed: int, n: int, streams: int) -> tuple[list[str], list[list[str]]]:
    """Small vocabulary and repeated words, so n-grams recur within and across references."""
    rng = np.random.default_rng(seed)
    vocab = np.array(["a", "b", "c", "the", "cat", "sat", "on", "mat", ".", ","])

    def text() -> str:
        return " ".join(rng.choice(vocab, size=int(rng.integers(0, 14))))

    return [text() for _ in range(n)], [[text() for _ in range(n)] for _ in range(streams)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("streams", [2, 3, 5])
def test_random_small_vocabulary(seed, streams):
    hyps, refs = _random_corpus(seed, 150, streams)
    _same(ds_sb.corpus_bleu(hyps, refs), sb.corpus_bleu(hyps, refs))
    for i in range(0, 150, 10):
        seg = [r[i] for r in refs]
        _same(ds_sb.sentence_bleu(hyps[i], seg), sb.sentence_bleu(hyps[i], seg))


def test_max_clipping_is_per_reference_not_summed():
    # "a" occurs 3 times in the hypothesis, at most twice in any one reference, 4 times over both
    hyp, refs = "a a a b", [["a a b"], ["a b a c"]]
    mine, peer = ds_sb.corpus_bleu([hyp], refs), sb.corpus_bleu([hyp], refs)
    _same(mine, peer)
    assert mine.counts[0] == 3  # a: min(3, max(2, 2)) = 2, plus b


@pytest.mark.parametrize(
    "hyp,refs",
    [
        ("one two three four", [["one two three"], ["one two three four five"]]),  # tie: the shorter wins
        ("one two", [["x y z w"], ["x"], ["x y z"]]),
        ("", [["some words"], [""]]),
        ("same", [["same"], ["same"]]),
    ],
)
def test_closest_reference_length(hyp, refs):
    _same(ds_sb.corpus_bleu([hyp], refs), sb.corpus_bleu([hyp], refs))


@pytest.mark.parametrize(
    "opts",
    [
        {"lowercase": True},
        {"tokenize": "none"},
        {"tokenize": "char"},
        {"max_ngram_order": 2},
        {"max_ngram_order": 6},
        {"smooth_method": "add-k"},
    ],
)
def test_options(corpus, opts):
    h, r, r2 = (x[:30] + x[-7:] for x in corpus)
    refs = [r, r2, h[::-1]]
    if "max_ngram_order" in opts:
        mine = ds_sb.metrics.BLEU(**opts).corpus_score(h, refs)
        peer = sb.metrics.BLEU(**opts).corpus_score(h, refs)
    else:
        mine, peer = ds_sb.corpus_bleu(h, refs, **opts), sb.corpus_bleu(h, refs, **opts)
    _same(mine, peer)


def test_holes_in_several_streams():
    hyps, refs = _random_corpus(9, 60, 3)
    refs[1] = [x if i % 2 else None for i, x in enumerate(refs[1])]
    refs[2] = [x if i % 3 else None for i, x in enumerate(refs[2])]
    _same(ds_sb.corpus_bleu(hyps, refs), sb.corpus_bleu(hyps, refs))


def test_kernel_is_worker_invariant_and_checks_input():
    hyps, refs = _random_corpus(3, 500, 3)
    hv, ho = _core.text_tokenize(hyps, "13a", 1, False)
    toks = [_core.text_tokenize(r, "13a", 1, False) for r in refs]
    ids, offs = [t[0] for t in toks], [t[1] for t in toks]
    one = _core.text_bleu_multi_stats(hv, ho, ids, offs, None, 4, 1)
    assert one.shape == (500, 10)
    assert np.array_equal(one, _core.text_bleu_multi_stats(hv, ho, ids, offs, None, 4, 3))
    with pytest.raises(ValueError, match="n \\+ 1"):
        _core.text_bleu_multi_stats(hv, ho, ids, [offs[0][:-1], offs[1], offs[2]], None, 4, 1)
    with pytest.raises(ValueError, match="same length"):
        _core.text_bleu_multi_stats(hv, ho, ids, offs[:2], None, 4, 1)
    with pytest.raises(ValueError, match="present must have shape"):
        _core.text_bleu_multi_stats(hv, ho, ids, offs, np.ones((2, 500), np.uint8), 4, 1)
    with pytest.raises(ValueError, match="order"):
        _core.text_bleu_multi_stats(hv, ho, ids, offs, None, 0, 1)
