"""Baselines and degree values against their definitions, on the demo's
simulated population (known lineage, known copy rates).

The semantic self-similarity is checked against its definition in
test_pipeline.py; here the lexical and style ones are: per prompt, the mean
over pairs of *distinct* samples of the same model (each sample against the
other samples only, never against itself).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from distillscope.analysis.degree import DegreeConfig, compute_degrees
from distillscope.analysis.similarity import RSEConfig, response_similarity, summary_matrix
from distillscope.cli.demo_sim import POPULATION, Simulation, _rng
from distillscope.store.table import load_table
from distillscope.text.lexical import lexical_scores
from distillscope.text.style import style_features, style_similarity

N_PROMPTS, SAMPLES = 24, 3


def _prompt(p: int) -> str:
    return f"Explain composting to a beginner, variant {p}."


@pytest.fixture(scope="module")
def demo():
    sim = Simulation(POPULATION, set())
    names = [m.name for m in POPULATION]
    recs = []
    for p in range(N_PROMPTS):
        prompt = _prompt(p)
        for m in names:
            for s in range(SAMPLES):
                recs.append(
                    {"model": m, "prompt_id": f"p{p}", "sample": s, "response": sim.answer(m, prompt, s), "error": None}
                )
    table = load_table(recs)
    st = response_similarity(table, names, config=RSEConfig(granularities=("lexical", "style")))
    texts = {(r["model"], r["prompt_id"], r["sample"]): r["response"] for r in recs}
    return names, st, texts


def _lexical(a: list[str], b: list[str]) -> np.ndarray:
    """The lexical granularity by its definition: mean(rougeL, bleu/100, chrf/100, jaccard2)."""
    s = lexical_scores(a, b, metrics=("rougeL", "bleu", "chrf", "jaccard2"))
    return (
        np.asarray(s["rougeL"]) + np.asarray(s["bleu"]) / 100 + np.asarray(s["chrf"]) / 100 + np.asarray(s["jaccard2"])
    ) / 4


def _style(a: list[str], b: list[str]) -> np.ndarray:
    return style_similarity(style_features(a), style_features(b))


@pytest.mark.parametrize("granularity, metric", [("lexical", _lexical), ("style", _style)])
def test_self_similarity_is_each_sample_against_the_other_samples(demo, granularity, metric):
    names, st, texts = demo
    pids = list(st.prompt_ids)
    for model in ("Aurora", "Breeze", "Flint"):
        got = st.self_similarity[granularity][model]
        for p in (0, 5, N_PROMPTS - 1):
            samples = [texts[(model, pids[p], s)] for s in range(SAMPLES)]
            pairs = list(itertools.combinations(range(SAMPLES), 2))  # distinct samples only
            want = float(np.mean(metric([samples[i] for i, _ in pairs], [samples[j] for _, j in pairs])))
            assert got[p] == pytest.approx(want, abs=1e-6), (model, p)
            if granularity == "lexical":
                # a sample against itself would pull it towards 1; only words
                # differ between samples (the demo's models keep one house
                # format, so two samples' style features can be identical)
                assert got[p] < 0.999


@pytest.mark.parametrize("granularity, metric", [("lexical", _lexical), ("style", _style)])
def test_raw_scores_are_all_sample_pairs_of_the_two_models(demo, granularity, metric):
    names, st, texts = demo
    pids = list(st.prompt_ids)
    for a, b in (("Breeze", "Aurora"), ("Hail", "Ember")):
        for p in (1, 11):
            sa = [texts[(a, pids[p], s)] for s in range(SAMPLES)]
            sb = [texts[(b, pids[p], s)] for s in range(SAMPLES)]
            pairs = list(itertools.product(range(SAMPLES), repeat=2))
            want = float(np.mean(metric([sa[i] for i, _ in pairs], [sb[j] for _, j in pairs])))
            assert st.scores[granularity][(a, b)][p] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("granularity, metric", [("lexical", _lexical), ("style", _style)])
def test_matched_scores_pair_each_sample_with_its_closest(demo, granularity, metric):
    """ScoreTable.matched (what the degree reads with several samples): every
    sample of A against its closest sample of B and every sample of B against
    its closest of A, the two means averaged; written with plain loops."""
    names, st, texts = demo
    pids = list(st.prompt_ids)
    for a, b in (("Breeze", "Aurora"), ("Hail", "Ember"), ("Drizzle", "Breeze")):
        for p in (1, 11, N_PROMPTS - 1):
            sa = [texts[(a, pids[p], s)] for s in range(SAMPLES)]
            sb = [texts[(b, pids[p], s)] for s in range(SAMPLES)]
            sim = [[float(metric([x], [y])[0]) for y in sb] for x in sa]
            a_side = sum(max(row) for row in sim) / SAMPLES
            b_side = sum(max(sim[i][j] for i in range(SAMPLES)) for j in range(SAMPLES)) / SAMPLES
            got = st.matched[granularity][(a, b)][p]
            assert got == pytest.approx((a_side + b_side) / 2, abs=1e-6)
            # never below the all-pairs mean (a best match is at least the mean)
            assert got >= st.scores[granularity][(a, b)][p] - 1e-12
    assert set(st.matched_null) == set(st.matched) and ("Breeze", "Aurora") in st.matched_null["lexical"]
    t, nul = st.degree_tensors("lexical")
    i, j = st.index_of("Breeze"), st.index_of("Aurora")
    np.testing.assert_array_equal(t[i, j], st.matched["lexical"][("Breeze", "Aurora")])
    assert nul is not None


def test_matched_scores_do_not_depend_on_workers(demo):
    names, st, texts = demo
    recs = [{"model": m, "prompt_id": p, "sample": s, "response": t, "error": None} for (m, p, s), t in texts.items()]
    cfg = RSEConfig(granularities=("lexical", "style"), workers=2)
    st2 = response_similarity(load_table(recs[::-1]), names, config=cfg)  # other record order, two workers
    for g in ("lexical", "style"):
        for key, v in st.matched[g].items():
            np.testing.assert_array_equal(st2.matched[g][key], v)
            np.testing.assert_array_equal(st2.matched_null[g][key], st.matched_null[g][key])


def test_one_sample_tables_have_no_matched_scores(demo):
    """With one sample per prompt the matched score is the score: none is stored
    and the degree reads ``scores``."""
    names, _, texts = demo
    recs = [
        {"model": m, "prompt_id": p, "sample": 0, "response": t, "error": None}
        for (m, p, s), t in texts.items()
        if s == 0
    ]
    st1 = response_similarity(load_table(recs), names, config=RSEConfig(granularities=("lexical",)))
    assert dict(st1.matched) == {} and dict(st1.matched_null) == {}
    assert st1.degree_tensors("lexical")[0] is st1.tensor("lexical")


def test_summary_matrix_is_the_mean_over_prompts(demo):
    names, st, _ = demo
    m = summary_matrix(st, "lexical")
    for i, a in enumerate(names):
        assert m[i, i] == pytest.approx(float(np.nanmean(st.self_similarity["lexical"][a])))
        for j, b in enumerate(names):
            if i != j:
                assert m[i, j] == pytest.approx(float(np.nanmean(st.scores["lexical"][(a, b)])))
    ai = names.index("Aurora")
    assert m[names.index("Breeze"), ai] > m[names.index("Cirrus"), ai] > m[names.index("Ember"), ai]


def _actual_share(student: str) -> float:
    """Share of the fixture's prompts on which ``student`` copies its teacher's
    whole answer: the same draw demo_sim.Simulation.answer makes."""
    m = next(x for x in POPULATION if x.name == student)
    prompts = [_prompt(p) for p in range(N_PROMPTS)]
    return sum(_rng("copy", m.name, q).random() < m.rate for q in prompts) / len(prompts)


# The degree estimates the share of S's answers derived from T, so the target
# of each copier is its realised copy share on these 24 prompts (not the
# nominal rate: 24 draws move it by up to ~0.1), and 0 for independents.
# Measured (degree v4, n_boot 100): Breeze 0.83 vs 0.83, Cirrus 0.36 vs
# 0.375, Drizzle 0.17 vs 0.21, Hail 0.69 vs 0.71 (lexical = combined: style
# weighs 0); Ember -> Aurora 0.00. Independent pairs: the interval covers 0;
# Ember -> Flint is the highest, 0.13 [0, 0.30]: on these 24 prompts their
# answers happen to overlap on a few prompts (0.04 with 60 prompts). A
# baseline or null computed wrongly (clones left in the row centres, a sample
# scored against itself) moves these by more.
COPIERS = ("Breeze", "Cirrus", "Drizzle", "Hail")
INDEPENDENT_PAIRS = (("Ember", "Aurora"), ("Ember", "Glacier"), ("Flint", "Aurora"), ("Ember", "Flint"))
# Known limitation, kept visible: Flint and Glacier both lay out every answer
# as a numbered list, and the shared "1. ... 2. ..." tokens raise their
# lexical similarity on every prompt above that of the other pairs, so the
# share reads a shared house format as derived answers (measured 0.29 with
# 24 prompts x 3 samples in degree v3, 0.15 [0, 0.32] in v4). The band records it; a fix (format-stripped
# lexical scores) would bring it under 0.12 and should tighten this band.
FORMAT_SHARED = {("Flint", "Glacier"): (0.1, 0.4)}


def test_degree_value_bands_at_known_copy_rates(demo):
    from distillscope._reference import degree_reference

    names, st, _ = demo
    res = compute_degrees(st, config=DegreeConfig(n_boot=100))
    for s in COPIERS:
        t = next(x.teacher for x in POPULATION if x.name == s)
        actual = _actual_share(s)
        for lvl in ("lexical", "combined"):
            got = res.get(s, t, lvl)["degree"]
            assert abs(got - actual) <= 0.15, (s, t, lvl, got, actual)
    for s, t in INDEPENDENT_PAIRS:
        for lvl in ("lexical", "combined"):
            d = res.get(s, t, lvl)
            assert abs(d["degree"]) <= 0.15 and d["ci_low"] <= 1e-9, (s, t, lvl, d)
    for (s, t), (lo, hi) in FORMAT_SHARED.items():
        assert lo <= res.get(s, t, "lexical")["degree"] <= hi, (s, t)
    # the value is the documented estimator (the loop oracle), not just something in a band
    for s, t in (("Breeze", "Aurora"), ("Cirrus", "Aurora"), ("Hail", "Glacier"), ("Ember", "Aurora")):
        want = degree_reference(st, s, t, "lexical", range(N_PROMPTS))
        assert res.get(s, t, "lexical")["degree"] == pytest.approx(want, rel=1e-9, abs=1e-12)
