"""Lexical metrics: hypothesis tests against the _reference oracles on token
ids, CJK golden values computed by hand, determinism across workers and
batch splits, the combined entry point, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import distillscope as ds
from distillscope import Ragged
from distillscope import _reference as ref

token_lists = st.lists(st.integers(0, 6), max_size=40)
pairs = st.lists(st.tuples(token_lists, token_lists), min_size=1, max_size=8)


def _rag(rows, dtype=np.int64):
    return Ragged.from_rows([np.asarray(r, dtype=dtype) for r in rows], dtype=dtype)


@given(pairs)
def test_rouge_on_ids_matches_reference(ps):
    c, r = _rag([p[0] for p in ps]), _rag([p[1] for p in ps])
    res = ds.rouge_scores(c, r, rouge_types=("rouge1", "rouge2", "rouge4", "rougeL"))
    for i, (cand, refr) in enumerate(ps):
        for t, want in (
            ("rouge1", ref.rouge_n(cand, refr, 1)),
            ("rouge2", ref.rouge_n(cand, refr, 2)),
            ("rouge4", ref.rouge_n(cand, refr, 4)),
            ("rougeL", ref.rouge_l(cand, refr)),
        ):
            got = (res[t].precision[i], res[t].recall[i], res[t].fmeasure[i])
            assert got == pytest.approx(want, abs=1e-15), (t, cand, refr)
    assert "tok:ids" in res.signature


@given(pairs, st.sampled_from(["exp", "floor", "add-k", "none"]), st.booleans())
def test_bleu_on_ids_matches_reference(ps, smooth, eff):
    c, r = _rag([p[0] for p in ps], np.uint32), _rag([p[1] for p in ps], np.uint32)
    res = ds.bleu_scores(c, r, smooth_method=smooth, effective_order=eff)
    for i, (cand, refr) in enumerate(ps):
        want = ref.sentence_bleu(cand, refr, smooth, None, eff)
        assert res.score[i] == pytest.approx(want, rel=1e-12, abs=1e-12)


@given(pairs, st.integers(1, 5), st.booleans())
def test_overlap_on_ids_matches_reference(ps, n, multiset):
    c, r = _rag([p[0] for p in ps]), _rag([p[1] for p in ps])
    res = ds.ngram_overlap(c, r, n=n, mode="multiset" if multiset else "set")
    for i, (cand, refr) in enumerate(ps):
        assert res.jaccard[i] == pytest.approx(ref.ngram_jaccard(cand, refr, n, multiset), abs=1e-15)
        cc = ref.ngram_counts(cand, n)
        rc = ref.ngram_counts(refr, n)
        inter = sum((cc & rc).values()) if multiset else len(set(cc) & set(rc))
        size_c = sum(cc.values()) if multiset else len(cc)
        size_r = sum(rc.values()) if multiset else len(rc)
        assert res.intersection[i] == inter and res.cand_count[i] == size_c
        same_short = bool(cand) and list(cand) == list(refr) and len(cand) < n
        want = 1.0 if same_short else (inter / size_c if size_c else 0.0)
        assert res.containment[i] == pytest.approx(want, abs=1e-15)
        want = 1.0 if same_short else (inter / size_r if size_r else 0.0)
        assert res.coverage[i] == pytest.approx(want, abs=1e-15)


@pytest.mark.parametrize(
    ("cand", "refr", "n", "want"),
    [
        ("Test", "Test", 2, 1.0),  # one word: no bigram on either side, the same text
        ("a b", "a b", 3, 1.0),
        ("b a", "a b", 3, 0.0),  # same words, other order
        ("a", "b", 2, 0.0),
        ("", "", 2, 0.0),  # two empty answers are not evidence of anything
        ("a", "a b", 2, 0.0),  # one side has a bigram: the plain ratio
        ("Test", "Test", 1, 1.0),
    ],
)
def test_overlap_of_texts_shorter_than_n(cand, refr, n, want):
    """Identical answers score 1 on every similarity, also when they are too
    short to hold an n-gram (AlpacaEval's "Test" prompt: an exact copy read
    0.5 on mean(ROUGE-L, bigram Jaccard) and fell under the degree's tau)."""
    for mode in ("set", "multiset"):
        ov = ds.ngram_overlap([cand], [refr], n=n, mode=mode)
        assert (ov.jaccard[0], ov.containment[0], ov.coverage[0]) == (want, want, want), mode
    key = f"jaccard{n}"
    assert ds.lexical_scores([cand], [refr], metrics=(key,))[key][0] == want


@given(st.lists(st.integers(0, 3), max_size=200), st.lists(st.integers(0, 3), max_size=200))
def test_lcs_matches_dp_across_word_boundaries(a, b):
    res = ds.rouge_scores(_rag([a]), _rag([b]), rouge_types=("rougeL",))
    want = ref.rouge_l(a, b)
    assert res["rougeL"].fmeasure[0] == pytest.approx(want[2], abs=1e-15)


@pytest.mark.parametrize("m", [1, 63, 64, 65, 127, 128, 129, 300])
def test_lcs_sizes_around_word_width(m, rng):
    a = rng.integers(0, 5, size=m).tolist()
    b = rng.integers(0, 5, size=m + 7).tolist()
    lcs = ref.lcs_length(a, b)
    res = ds.rouge_scores(_rag([a, b]), _rag([b, a]), rouge_types=("rougeL",))
    assert res["rougeL"].precision[0] * m == pytest.approx(lcs)
    assert res["rougeL"].precision[1] * (m + 7) == pytest.approx(lcs)


def _lis(seq):
    import bisect

    tails: list[int] = []
    for x in seq:
        k = bisect.bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
        else:
            tails[k] = x
    return len(tails)


def test_long_lcs_uses_striped_path_and_stays_exact(rng):
    # 20k distinct shared tokens x 313 words exceeds the dense mask budget;
    # LCS(permutation, sorted) = longest increasing subsequence.
    n = 20_000
    perm = rng.permutation(n)
    res = ds.rouge_scores(_rag([perm]), _rag([np.arange(n)]), rouge_types=("rougeL",))
    assert round(res["rougeL"].precision[0] * n) == _lis(perm.tolist())


# --------------------------------------------------------------------------- golden CJK values (by hand)


def test_chinese_golden():
    r = ds.rouge_scores(["我爱北京天安门"], ["我爱北京"])
    # 7 candidate characters, 4 reference, all 4 matched: P=4/7 R=1 F=8/11
    assert r["rouge1"].precision[0] == pytest.approx(4 / 7)
    assert r["rouge1"].recall[0] == 1.0
    assert r["rouge1"].fmeasure[0] == pytest.approx(8 / 11)
    # bigrams: 6 vs 3, 3 matched: P=1/2 R=1 F=2/3
    assert r["rouge2"].fmeasure[0] == pytest.approx(2 / 3)
    assert r["rougeL"].fmeasure[0] == pytest.approx(8 / 11)
    # rouge-score's own tokenizer deletes every Chinese character
    assert ds.rouge_scores(["我爱北京天安门"], ["我爱北京"], tokenizer="rouge")["rouge1"].fmeasure[0] == 0.0


def test_japanese_golden():
    r = ds.rouge_scores(["私は学生です"], ["私は先生です"])
    assert r["rouge1"].fmeasure[0] == pytest.approx(5 / 6)  # 学 vs 先
    assert r["rouge2"].fmeasure[0] == pytest.approx(3 / 5)  # 私は 生で です of 5 bigrams each
    assert r["rougeL"].fmeasure[0] == pytest.approx(5 / 6)


def test_korean_golden():
    r = ds.rouge_scores(["나는 학생입니다"], ["나는 선생님입니다"])
    # 7 vs 8 syllables, 6 shared (나 는 생 입 니 다): P=6/7, R=3/4, F=4/5
    assert r["rouge1"].precision[0] == pytest.approx(6 / 7)
    assert r["rouge1"].recall[0] == pytest.approx(3 / 4)
    assert r["rouge1"].fmeasure[0] == pytest.approx(4 / 5)
    assert r["rougeL"].fmeasure[0] == pytest.approx(4 / 5)


def test_mixed_chinese_english_golden():
    c, rf = ["GPT-4 是一个模型"], ["gpt-4是模型"]
    r = ds.rouge_scores(c, rf)
    # cand: gpt - 4 是 一 个 模 型 (8); ref: gpt - 4 是 模 型 (6), all 6 matched
    assert r["rouge1"].precision[0] == pytest.approx(6 / 8)
    assert r["rouge1"].fmeasure[0] == pytest.approx(6 / 7)
    assert r["rougeL"].fmeasure[0] == pytest.approx(6 / 7)
    ov = ds.ngram_overlap(c, rf, n=1)
    assert ov.jaccard[0] == pytest.approx(6 / 8)
    # BLEU on unicode tokens: p1=6/8, p2=4/7 (gpt- -4 4是 模型), p3=2/6 (gpt-4 -4是), p4=1/5; BP=1
    b = ds.bleu_scores(c, rf, tokenizer="unicode")
    want = 100 * math.exp((math.log(6 / 8) + math.log(4 / 7) + math.log(2 / 6) + math.log(1 / 5)) / 4)
    assert b.score[0] == pytest.approx(want, rel=1e-12)


def test_cjk_chrf_matches_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu", reason="sacrebleu is a test dependency")
    c = ["我爱北京天安门", "私は学生です", "나는 학생입니다", "GPT-4 是一个模型"]
    r = ["我爱北京", "私は先生です", "나는 선생님입니다", "gpt-4是模型"]
    got = ds.chrf_scores(c, r, word_order=2).score
    for i in range(len(c)):
        assert got[i] == pytest.approx(sacrebleu.sentence_chrf(c[i], [r[i]], word_order=2).score, abs=1e-9)


# --------------------------------------------------------------------------- combined entry point, determinism


def _texts(rng, n):
    words = "the a model answer 中 文 データ 한 3.14 , . ! is was teacher student".split()
    return [" ".join(rng.choice(words, size=int(rng.integers(0, 50)))) for _ in range(n)]


ALL = ("rouge1", "rouge2", "rougeL", "bleu", "chrf", "jaccard", "containment2", "jaccard_multiset3")


def test_lexical_scores_equal_single_metric_functions(rng):
    c, r = _texts(rng, 300), _texts(rng, 300)
    got = ds.lexical_scores(c, r, ALL)
    rg = ds.rouge_scores(c, r)
    for t in ("rouge1", "rouge2", "rougeL"):
        assert np.array_equal(got[t], rg[t].fmeasure)
        assert np.array_equal(got[t + "_precision"], rg[t].precision)
        assert np.array_equal(got[t + "_recall"], rg[t].recall)
    assert np.array_equal(got["bleu"], ds.bleu_scores(c, r, tokenizer="unicode").score)
    assert np.array_equal(got["chrf"], ds.chrf_scores(c, r).score)
    assert np.array_equal(got["jaccard"], ds.ngram_overlap(c, r, n=1).jaccard)
    assert np.array_equal(got["containment2"], ds.ngram_overlap(c, r, n=2).containment)
    assert np.array_equal(got["jaccard_multiset3"], ds.ngram_overlap(c, r, n=3, mode="multiset").jaccard)
    pp = ds.lexical_scores(c, r, ("chrf++",))
    assert np.array_equal(pp["chrf++"], ds.chrf_scores(c, r, word_order=2).score)
    assert "metric:lexical" in ds.lexical_signature(ALL)


def test_identical_for_any_workers_and_batch_split(rng):
    c, r = _texts(rng, 700), _texts(rng, 700)
    one = ds.lexical_scores(c, r, ALL, workers=1)
    two = ds.lexical_scores(c, r, ALL, workers=2)
    allw = ds.lexical_scores(c, r, ALL, workers=-1)
    parts = [ds.lexical_scores(c[a:b], r[a:b], ALL) for a, b in ((0, 1), (1, 333), (333, 700))]
    for k in one:
        assert np.array_equal(one[k], two[k]) and np.array_equal(one[k], allw[k])
        assert np.array_equal(one[k], np.concatenate([p[k] for p in parts]))


def test_pretokenized_ids_equal_text_path(rng):
    c, r = _texts(rng, 100), _texts(rng, 100)
    via_ids = ds.rouge_scores(ds.tokenize(c), ds.tokenize(r))
    via_text = ds.rouge_scores(c, r)
    for t in via_ids.keys():
        assert np.array_equal(via_ids[t].fmeasure, via_text[t].fmeasure)


def test_results_are_frozen_and_signed():
    res = ds.bleu_scores(["a b c"], ["a b c"])
    with pytest.raises(AttributeError):
        res.score = None  # type: ignore[misc]
    assert res.signature.startswith("metric:bleu|nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|n:4|version:")
    assert ds.chrf_scores(["a"], ["a"], word_order=2).signature.startswith("metric:chrF2++|")
    assert ds.rouge_scores(["a"], ["a"]).signature.split("|")[3].startswith("tok:unicode-")
    assert res.score[0] == pytest.approx(100.0)


def test_edge_cases_defined():
    c = ["", "", "x", "   ", "!!!"]
    r = ["", "x", "", "\n", "!!!"]
    out = ds.lexical_scores(c, r, ALL)
    for k, v in out.items():
        assert v.shape == (5,) and np.all(np.isfinite(v)), k
    assert out["rouge1"][:4].tolist() == [0.0] * 4 and out["rouge1"][4] == 1.0
    assert out["bleu"][:4].tolist() == [0.0] * 4 and out["chrf"][:4].tolist() == [0.0] * 4
    assert out["jaccard"][:4].tolist() == [0.0] * 4 and out["jaccard"][4] == 1.0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (lambda: ds.rouge_scores(["a"], ["a", "b"]), ValueError, "same length"),
        (lambda: ds.rouge_scores(["a"], None), TypeError, "sequence"),
        (lambda: ds.rouge_scores("a", "b"), TypeError, "wrap it in a list"),
        (lambda: ds.rouge_scores([None], ["a"]), TypeError, r"candidates\[0\] is None"),
        (lambda: ds.rouge_scores([b"\xc3"], ["a"]), ValueError, "not valid UTF-8"),
        (lambda: ds.rouge_scores(["a"], ["a"], rouge_types=("rougeX",)), ValueError, "invalid rouge type"),
        (lambda: ds.rouge_scores(["a"], ["a"], rouge_types=()), ValueError, "at least one"),
        (lambda: ds.rouge_scores(["a"], ["a"], use_stemmer=True), ValueError, "tokenizer='rouge'"),
        (lambda: ds.bleu_scores(["a"], ["a"], smooth_method="nist"), ValueError, "smooth_method"),
        (lambda: ds.chrf_scores(["a"], ["a"], char_order=0), ValueError, "positive sum"),
        (lambda: ds.ngram_overlap(["a"], ["a"], n=0), ValueError, "n must be"),
        (lambda: ds.ngram_overlap(["a"], ["a"], mode="bag"), ValueError, "mode"),
        (lambda: ds.lexical_scores(["a"], ["a"], ("meteor",)), ValueError, "unknown metric"),
        (lambda: ds.lexical_scores(["a"], ["a"], ("chrf", "chrf++")), ValueError, "either"),
        (lambda: ds.rouge_scores(_rag([[1]]), ["a"]), TypeError, "both"),
        (lambda: ds.rouge_scores(_rag([[1]]), _rag([[1], [2]])), ValueError, "same number of rows"),
        (lambda: ds.rouge_scores(Ragged(np.array([1.5]), np.array([0, 1])), _rag([[1]])), TypeError, "integer"),
        (lambda: ds.chrf_scores(_rag([[1]]), _rag([[1]])), ValueError, "characters"),
        (lambda: ds.rouge_scores(["a"], ["a"], workers=-3), ValueError, "workers"),
    ],
)
def test_bad_input(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_ten_megabyte_candidate_scores_correctly():
    unit = "lorem ipsum dolor sit amet "
    big = unit * (10 * 1024 * 1024 // len(unit))
    k = big.count("lorem")
    out = ds.lexical_scores([big], ["lorem ipsum amet"], ("rouge1", "rouge2", "rougeL", "bleu", "chrf"))
    # candidate has 5k tokens; the 3 reference unigrams all match; bigram "lorem ipsum" matches
    assert out["rouge1_recall"][0] == 1.0
    assert out["rouge1_precision"][0] == pytest.approx(3 / (5 * k))
    assert out["rouge2_recall"][0] == pytest.approx(1 / 2)
    assert out["rougeL_recall"][0] == 1.0
    assert np.isfinite(out["bleu"][0]) and np.isfinite(out["chrf"][0])


CHRF_ALPHABET = "abc AB.,!-'中文 \n"


@given(
    st.lists(
        st.tuples(st.text(CHRF_ALPHABET, max_size=30), st.text(CHRF_ALPHABET, max_size=30)), min_size=1, max_size=6
    ),
    st.sampled_from([(6, 0), (6, 2), (3, 1), (1, 0)]),
)
def test_chrf_matches_reference(ps, orders):
    co, wo = orders
    got = ds.chrf_scores([p[0] for p in ps], [p[1] for p in ps], char_order=co, word_order=wo).score
    for i, (c, r) in enumerate(ps):
        assert got[i] == pytest.approx(ref.chrf(c, r, co, wo), abs=1e-9), (c, r)
