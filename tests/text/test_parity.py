"""Parity with the reference libraries: rouge-score (ROUGE), sacrebleu (BLEU, chrF).

2,000+ random English-like pairs with the punctuation, digits, case, entity
and whitespace quirks that the reference tokenizers treat specially, plus
edge cases (empty, whitespace-only, punctuation-only, identical, disjoint,
very long).
"""

from __future__ import annotations

import numpy as np
import pytest

import distillscope as ds

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer", reason="rouge-score is a test dependency")
sacrebleu = pytest.importorskip("sacrebleu", reason="sacrebleu is a test dependency")

WORDS = (
    "the a of and to in is was it that for on with as by at an be this which from or have "
    "model models language answer question data training teacher student distill distilled "
    "Model GPT-4 Claude's don't it's U.S. e.g. 3.14 1,000 2024 10-20 x86_64 C++ naïve café "
    "über İstanbul Kelvin \u212a résumé 中文 日本語 한국어 -- ... ?! \" ' ( ) [ ] { } < > & @ # $ % "
    "&amp; &lt; &gt; &quot; <skipped> 5.5. 7, ,8 .9 a.b a,b end. start, (paren) [bracket] "
    "hello-world well-known 3-4 -5 5- ok; yes: no! why? e-mail www.example.com/path?q=1 "
    "\u00a0nbsp \u2003emsp tab\tsep new\nline hy-\nphen"
).split(" ")


def make_pairs(n: int, seed: int, lo: int = 1, hi: int = 60) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    vocab = np.array(WORDS, dtype=object)
    cands, refs = [], []
    for _ in range(n):
        base = list(rng.choice(vocab, size=int(rng.integers(lo, hi))))
        ref = list(base)
        # candidate: a noisy copy (substitutions, deletions, insertions, shuffles)
        cand = [w for w in base if rng.random() > 0.15]
        for _ in range(int(rng.integers(0, 4))):
            cand.insert(int(rng.integers(0, len(cand) + 1)), str(rng.choice(vocab)))
        if rng.random() < 0.2:
            rng.shuffle(cand)
        if rng.random() < 0.1:
            cand = list(rng.choice(vocab, size=int(rng.integers(0, hi))))
        seps = [" ", " ", " ", "  ", "\n", "\t"]
        cands.append("".join(w + str(rng.choice(seps)) for w in cand).rstrip(" ") * 1)
        refs.append("".join(w + str(rng.choice(seps)) for w in ref))
    return cands, refs


EDGE = [
    ("", ""),
    ("", "reference only"),
    ("candidate only", ""),
    ("   ", "\n\t "),
    ("...", "!!! ???"),
    ("!", "!"),
    ("same text here.", "same text here."),
    ("alpha beta gamma", "delta epsilon zeta"),
    ("a a a a a", "a"),
    ("a", "a a a a a"),
    ("The THE the", "the"),
    ("3.14, 2.71.", "3.14 2.71"),
    ("x" * 5000, "x" * 4999),
    (" ".join(["word"] * 3000), " ".join(["word", "other"] * 1500)),
    ("中文 text", "中文 text"),
    ("İI\u212a", "ii k"),
    ("end with hyphen-\n", "end with hyphen"),
    ("&amp;lt; &quot;q&quot;", '&lt; "q"'),
    ("trailing space   ", "trailing space"),
]


@pytest.fixture(scope="module")
def corpus():
    c, r = make_pairs(2200, seed=7)
    c += [e[0] for e in EDGE]
    r += [e[1] for e in EDGE]
    return c, r


def test_rouge_matches_rouge_score(corpus):
    cands, refs = corpus
    types = ["rouge1", "rouge2", "rouge3", "rougeL"]
    res = ds.rouge_scores(cands, refs, rouge_types=types, tokenizer="rouge")
    scorer = rouge_scorer.RougeScorer(types)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = scorer.score(r, c)  # rouge-score: score(target, prediction)
        for t in types:
            got = (res[t].precision[i], res[t].recall[i], res[t].fmeasure[i])
            exp = (want[t].precision, want[t].recall, want[t].fmeasure)
            assert np.allclose(got, exp, rtol=0, atol=1e-12), (i, t, c, r, got, exp)


def test_rouge_stemmer_matches_rouge_score(corpus):
    pytest.importorskip("nltk", reason="use_stemmer needs nltk (a rouge-score dependency)")
    cands, refs = corpus[0][:300], corpus[1][:300]
    cands = cands + ["running dogs were eaten quickly", "generalization generously"]
    refs = refs + ["the dog runs and eats", "general generous"]
    res = ds.rouge_scores(cands, refs, rouge_types=["rouge1", "rougeL"], tokenizer="rouge", use_stemmer=True)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = scorer.score(r, c)
        for t in ("rouge1", "rougeL"):
            assert abs(res[t].fmeasure[i] - want[t].fmeasure) <= 1e-12, (i, t)
    assert "porter" in res.signature


@pytest.mark.parametrize(
    "smooth,value",
    [("exp", None), ("floor", None), ("floor", 0.3), ("add-k", None), ("add-k", 2), ("none", None)],
)
def test_bleu_matches_sacrebleu(corpus, smooth, value):
    cands, refs = corpus
    if smooth != "exp":  # every method on a subset; the default on all pairs
        cands, refs = cands[::4] + cands[-len(EDGE) :], refs[::4] + refs[-len(EDGE) :]
    res = ds.bleu_scores(cands, refs, smooth_method=smooth, smooth_value=value)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = sacrebleu.sentence_bleu(c, [r], smooth_method=smooth, smooth_value=value)
        assert abs(res.score[i] - want.score) <= 1e-9, (i, c, r, res.score[i], want.score)
        assert res.sys_len[i] == want.sys_len and res.ref_len[i] == want.ref_len
        assert abs(res.bp[i] - want.bp) <= 1e-12


def test_bleu_without_effective_order_and_lowercase(corpus):
    cands, refs = corpus[0][:400], corpus[1][:400]
    res = ds.bleu_scores(cands, refs, effective_order=False, lowercase=True)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = sacrebleu.sentence_bleu(c, [r], use_effective_order=False, lowercase=True)
        assert abs(res.score[i] - want.score) <= 1e-9, i
    assert "eff:no" in res.signature and "case:lc" in res.signature


@pytest.mark.parametrize("tok", ["13a", "none"])
def test_bleu_counts_match_sacrebleu(corpus, tok):
    cands, refs = corpus[0][:300], corpus[1][:300]
    res = ds.bleu_scores(cands, refs, tokenizer=tok)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = sacrebleu.sentence_bleu(c, [r], tokenize=tok)
        assert list(res.counts[i]) == list(want.counts) and list(res.totals[i]) == list(want.totals), i
        assert abs(res.score[i] - want.score) <= 1e-9


@pytest.mark.parametrize(
    "word_order,ws,eps", [(0, False, False), (2, False, False), (2, True, False), (0, False, True)]
)
def test_chrf_matches_sacrebleu(corpus, word_order, ws, eps):
    cands, refs = corpus
    if (word_order, ws, eps) != (0, False, False):
        cands, refs = cands[::3] + cands[-len(EDGE) :], refs[::3] + refs[-len(EDGE) :]
    res = ds.chrf_scores(cands, refs, word_order=word_order, remove_whitespace=not ws, eps_smoothing=eps)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = sacrebleu.sentence_chrf(c, [r], word_order=word_order, remove_whitespace=not ws, eps_smoothing=eps)
        assert abs(res.score[i] - want.score) <= 1e-9, (i, c, r, res.score[i], want.score)


def test_chrf_other_orders_and_beta(corpus):
    cands, refs = corpus[0][:300], corpus[1][:300]
    res = ds.chrf_scores(cands, refs, char_order=4, word_order=1, beta=1)
    for i, (c, r) in enumerate(zip(cands, refs)):
        want = sacrebleu.sentence_chrf(c, [r], char_order=4, word_order=1, beta=1)
        assert abs(res.score[i] - want.score) <= 1e-9, i


def test_tokenizers_match_reference_tokens(corpus):
    from rouge_score import tokenize as rtok
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    cands = corpus[0][:800] + [e[0] for e in EDGE]
    got_r = ds.token_strings(cands, "rouge")
    got_13a = ds.token_strings(cands, "13a")
    t13a = Tokenizer13a()
    for i, c in enumerate(cands):
        assert got_r[i] == rtok.tokenize(c, None), (i, c)
        assert got_13a[i] == t13a(c.rstrip()).split(), (i, c)
