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
from distillscope.cli.demo_sim import POPULATION, Simulation
from distillscope.store.table import load_table
from distillscope.text.lexical import lexical_scores
from distillscope.text.style import style_features, style_similarity

N_PROMPTS, SAMPLES = 24, 3


@pytest.fixture(scope="module")
def demo():
    sim = Simulation(POPULATION, set())
    names = [m.name for m in POPULATION]
    recs = []
    for p in range(N_PROMPTS):
        prompt = f"Explain composting to a beginner, variant {p}."
        for m in names:
            for s in range(SAMPLES):
                recs.append({"model": m, "prompt_id": f"p{p}", "sample": s, "response": sim.answer(m, prompt, s),
                             "error": None})
    table = load_table(recs)
    st = response_similarity(table, names, config=RSEConfig(granularities=("lexical", "style")))
    texts = {(r["model"], r["prompt_id"], r["sample"]): r["response"] for r in recs}
    return names, st, texts


def _lexical(a: list[str], b: list[str]) -> np.ndarray:
    """The lexical granularity by its definition: mean(rougeL, bleu/100, chrf/100, jaccard2)."""
    s = lexical_scores(a, b, metrics=("rougeL", "bleu", "chrf", "jaccard2"))
    return (np.asarray(s["rougeL"]) + np.asarray(s["bleu"]) / 100 + np.asarray(s["chrf"]) / 100
            + np.asarray(s["jaccard2"])) / 4


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


def _documented_degree(st, g: str, s: str, t: str, names: list[str]) -> float:
    """The degree of analysis/degree.py's docstring, computed from the series by hand."""
    raw = st.scores[g][(s, t)]
    others_s = [st.scores[g][(s, m)] for m in names if m not in (s, t)]
    others_t = [st.scores[g][(t, m)] for m in names if m not in (s, t)]
    pop = np.mean(0.5 * (np.mean(others_s, axis=0) + np.mean(others_t, axis=0)))
    null = np.mean(st.null[g][(s, t)])
    ceil = np.sqrt(np.mean(st.self_similarity[g][s]) * np.mean(st.self_similarity[g][t]))
    base = max(pop, null)
    if ceil - null < 0.05:
        ceil = 1.0
    return float(np.clip((np.mean(raw) - base) / (ceil - null), -1, 1))


# Value bands at the demo's known copy rates. The simulated student takes each
# sentence slot from its teacher with probability r (demo_sim.py), so its
# lexical degree to the teacher grows with r and sits near 0 for r = 0. The
# bands are wide enough for a sound redefinition of the scale and narrow
# enough that a baseline or ceiling computed wrongly (e.g. self-similarity
# counting a sample against itself: Breeze's combined degree fell 0.56 -> 0.41)
# leaves them.
BANDS = {
    # (student, candidate, level): (low, high)
    ("Breeze", "Aurora", "lexical"): (0.6, 0.95),    # copy rate 0.8
    ("Cirrus", "Aurora", "lexical"): (0.2, 0.5),     # 0.5
    ("Drizzle", "Aurora", "lexical"): (0.08, 0.32),  # 0.25
    ("Hail", "Glacier", "lexical"): (0.55, 0.9),     # 0.6
    ("Ember", "Aurora", "lexical"): (-0.3, 0.1),     # independent
    ("Flint", "Glacier", "lexical"): (-0.25, 0.1),   # independent
    ("Breeze", "Aurora", "combined"): (0.48, 0.75),
    ("Hail", "Glacier", "combined"): (0.42, 0.7),
}


def test_degree_value_bands_at_known_copy_rates(demo):
    names, st, _ = demo
    res = compute_degrees(st, config=DegreeConfig(n_boot=100))
    got = {k: res.get(*k)["degree"] for k in BANDS}
    print("\ndegrees at known copy rates:", {f"{s}->{c} {lvl}": round(v, 3) for (s, c, lvl), v in got.items()})
    for key, (lo, hi) in BANDS.items():
        assert lo <= got[key] <= hi, (key, got[key], (lo, hi))
    # the value is the documented formula, not just something in the band
    for s, t in (("Breeze", "Aurora"), ("Cirrus", "Aurora"), ("Hail", "Glacier"), ("Ember", "Aurora")):
        for g in ("lexical", "style"):
            assert res.get(s, t, g)["degree"] == pytest.approx(_documented_degree(st, g, s, t, names), abs=1e-9)
