"""Calibration: ScoreTable contract, degree formula, bootstrap, attribution."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from distillscope.analysis.agreement import judge_agreement, spearman_rows
from distillscope.analysis.attribution import attribute, degree_matrix
from distillscope.analysis.degree import DegreeConfig, compute_degrees
from distillscope.analysis.table import ScoreTable
from distillscope.stats import bootstrap_counts, bootstrap_indices, derangement, spearman

FAST = DegreeConfig(n_boot=200, seed=3)


# ----------------------------------------------------------------- simulation
def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def simulate(
    seed: int,
    n: int = 240,
    d: int = 24,
    rates=(0.1, 0.3, 0.5, 0.7, 0.9),
    noise: float = 0.6,
    granularities=("semantic",),
):
    """Models answer with a reproducible per-prompt vector plus sampling noise.

    Teacher T and two unrelated models A, B have their own vectors; student
    ``s<r>`` mixes T's vector (weight sqrt(r)) with its own; ``cA`` copies A
    at rate 0.5. Scores are cosines of sampled answers; self-similarity uses
    a second sample, the null a deranged prompt order.
    """
    rng = np.random.default_rng(seed)
    mu = {m: rng.standard_normal((n, d)) for m in ("T", "A", "B")}
    for r in rates:
        mu[f"s{round(r * 100)}"] = math.sqrt(r) * mu["T"] + math.sqrt(1 - r) * rng.standard_normal((n, d))
    mu["cA"] = math.sqrt(0.5) * mu["A"] + math.sqrt(0.5) * rng.standard_normal((n, d))
    models = list(mu)
    perm = derangement(n, seed)
    scores, null, selfsim = {}, {}, {}
    for gi, g in enumerate(granularities):
        # each granularity sees its own sampling noise (and a different scale)
        z = {m: [mu[m] + noise * (1 + 0.3 * gi) * rng.standard_normal((n, d)) for _ in range(2)] for m in models}
        scores[g], null[g] = {}, {}
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                scores[g][(a, b)] = _cos(z[a][0], z[b][0])
                null[g][(a, b)] = _cos(z[a][0], z[b][0][perm])
        selfsim[g] = {m: _cos(z[m][0], z[m][1]) for m in models}
    return ScoreTable(models, scores, selfsim, null), models


# ----------------------------------------------------------------- helpers
@given(st.integers(2, 300), st.integers(0, 2**32 - 1))
def test_derangement_is_a_fixed_point_free_permutation(n, seed):
    p = derangement(n, seed)
    assert p.dtype == np.int64
    assert sorted(p.tolist()) == list(range(n))
    assert not np.any(p == np.arange(n))
    assert np.array_equal(p, derangement(n, seed))


def test_derangement_edges_and_errors():
    assert derangement(0, 1).size == 0
    with pytest.raises(ValueError, match="n >= 2"):
        derangement(1, 0)
    with pytest.raises(TypeError):
        derangement(5, 1.5)
    with pytest.raises(ValueError):
        derangement(-1, 0)
    # uniform-ish: different seeds give different derangements
    assert len({tuple(derangement(6, s)) for s in range(40)}) > 20


@given(st.integers(1, 60), st.integers(10, 70), st.integers(1, 64), st.integers(0, 1000))
def test_bootstrap_blocks_do_not_change_the_resamples(n, b, block, seed):
    full = np.concatenate(list(bootstrap_indices(n, b, seed, block=1000)))
    chunked = np.concatenate(list(bootstrap_indices(n, b, seed, block=block)))
    assert full.shape == (b, n)
    assert np.array_equal(full, chunked)
    counts = np.concatenate(list(bootstrap_counts(n, b, seed, block=block)))
    assert np.array_equal(counts.sum(axis=1), np.full(b, n))
    assert np.array_equal(counts[0], np.bincount(full[0], minlength=n))


# ----------------------------------------------------------------- ScoreTable contract
def _tiny(n=5):
    x = np.linspace(0, 1, n)
    return {"lexical": {("A", "B"): x, ("A", "C"): x, ("B", "C"): x}}


def test_scoretable_validation_messages():
    ScoreTable(("A", "B", "C"), _tiny())
    with pytest.raises(ValueError, match="same shared prompt index"):
        ScoreTable(("A", "B", "C"), {"lexical": {("A", "B"): np.zeros(5), ("A", "C"): np.zeros(4)}})
    with pytest.raises(ValueError, match="unknown model 'Z'"):
        ScoreTable(("A", "B"), {"lexical": {("A", "Z"): np.zeros(3)}})
    with pytest.raises(ValueError, match="self_similarity"):
        ScoreTable(("A", "B"), {"lexical": {("A", "A"): np.zeros(3)}})
    with pytest.raises(ValueError, match="finite or NaN"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.array([0.1, np.inf])}})
    with pytest.raises(ValueError, match="unique"):
        ScoreTable(("A", "A", "B"), {"lexical": {("A", "B"): np.zeros(3)}})
    with pytest.raises(ValueError, match="has no scores"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.zeros(3)}}, null={"semantic": {("A", "B"): np.zeros(3)}})
    with pytest.raises(ValueError, match="has no scores"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.zeros(3)}}, self_similarity={"x": {"A": np.zeros(3)}})
    with pytest.raises(ValueError, match="unknown model"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.zeros(3)}}, self_similarity={"lexical": {"Q": np.zeros(3)}})
    with pytest.raises(ValueError, match="prompt_ids"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.zeros(3)}}, prompt_ids=("p1", "p2"))
    with pytest.raises(ValueError, match="reserved"):
        ScoreTable(("A", "B"), {"combined": {("A", "B"): np.zeros(3)}})
    with pytest.raises(ValueError, match="at least 2 models"):
        ScoreTable(("A",), {"lexical": {}})
    with pytest.raises(ValueError, match="1-D"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.zeros((2, 2))}})
    with pytest.raises(TypeError, match="tuples"):
        ScoreTable(("A", "B"), {"lexical": {"A-B": np.zeros(3)}})
    with pytest.raises(ValueError, match="empty"):
        ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.zeros(0)}})


def test_scoretable_mirror_copies_and_is_read_only():
    x = np.array([0.1, 0.2, np.nan])
    t = ScoreTable(("A", "B"), {"lexical": {("A", "B"): x}})
    ten = t.tensor("lexical")
    assert np.array_equal(ten[1, 0], ten[0, 1], equal_nan=True)
    assert np.isnan(ten[0, 0]).all()
    x[0] = 9.0  # the table keeps its own copy
    assert ten[0, 1, 0] == 0.1
    with pytest.raises(ValueError):
        ten[0, 1, 0] = 1.0
    t2 = ScoreTable(("A", "B"), {"lexical": {("A", "B"): x}}, mirror=False)
    assert np.isnan(t2.tensor("lexical")[1, 0]).all()
    assert t.raw_matrix("lexical")[0, 1] == pytest.approx(0.15)
    with pytest.raises(ValueError, match="unknown granularity"):
        t.tensor("semantic")


def test_config_validation():
    with pytest.raises(ValueError, match="baseline"):
        DegreeConfig(baseline="zero")
    with pytest.raises(ValueError, match="n_boot"):
        DegreeConfig(n_boot=3)
    with pytest.raises(ValueError, match="confidence"):
        DegreeConfig(confidence=1.5)
    with pytest.raises(ValueError, match="weight"):
        DegreeConfig(weights={"lexical": -1})
    with pytest.raises(ValueError, match="> 0"):
        DegreeConfig(weights={"lexical": 0})
    t = ScoreTable(("A", "B", "C"), _tiny())
    with pytest.raises(ValueError, match="without scores"):
        compute_degrees(t, config=DegreeConfig(weights={"semantic": 1.0}, n_boot=20))
    with pytest.raises(ValueError, match="unknown model"):
        compute_degrees(t, students=["Z"], config=FAST)
    with pytest.raises(ValueError, match="null"):
        compute_degrees(t, config=DegreeConfig(baseline="null", n_boot=20))
    two = ScoreTable(("A", "B"), {"lexical": {("A", "B"): np.ones(4)}})
    with pytest.raises(ValueError, match="no baseline"):
        compute_degrees(two, config=FAST)


# ----------------------------------------------------------------- formula
def test_degree_matches_the_documented_formula():
    t, _ = simulate(1, n=120)
    res = compute_degrees(t, ["s50"], ["T"], FAST)
    g = "semantic"
    ten = t.tensor(g)
    i, j = t.index_of("s50"), t.index_of("T")
    others = [k for k in range(len(t.models)) if k not in (i, j)]
    raw = ten[i, j].mean()
    pop = (0.5 * (ten[i, others].mean(axis=0) + ten[j, others].mean(axis=0))).mean()
    nul = t.null[g][("s50", "T")].mean() if ("s50", "T") in t.null[g] else t.null[g][("T", "s50")].mean()
    c = math.sqrt(t.self_similarity[g]["s50"].mean() * t.self_similarity[g]["T"].mean())
    from distillscope._reference import degree_reference

    want = degree_reference(t, "s50", "T", g, range(120))
    got = res.get("s50", "T", g)
    assert got["raw"] == pytest.approx(raw, rel=1e-12)
    assert got["population"] == pytest.approx(pop, rel=1e-12)
    assert got["null"] == pytest.approx(nul, rel=1e-12)
    assert got["ceiling"] == pytest.approx(c, rel=1e-12)  # reported, not used by the share
    assert got["degree"] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert 0.0 < got["degree"] < 1.0
    assert got["degree"] == pytest.approx(1 - got["unrelated"] / got["null_level"], rel=1e-9)
    assert res.get("s50", "T")["degree"] == pytest.approx(want, rel=1e-12)  # one granularity


def _terms_table(with_matched: bool = True):
    """Five models; S has no score to U, V, W on prompts 0-2 (only T's side of
    the population is defined there); sample-matched scores differ from the
    plain ones; self-similarity for S alone."""
    rng = np.random.default_rng(21)
    n, models = 30, ("S", "T", "U", "V", "W")
    scores, null, matched, matched_null = {}, {}, {}, {}
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            x = rng.uniform(0.0, 0.6, n)
            m = x + rng.uniform(0.0, 0.2, n)
            if a == "S" and b != "T":
                x[:3] = m[:3] = np.nan
            scores[(a, b)], matched[(a, b)] = x, m
            null[(a, b)], matched_null[(a, b)] = rng.uniform(0.0, 0.3, n), rng.uniform(0.3, 0.5, n)
    selfsim = {"g": {"S": rng.uniform(0.7, 1.0, n)}}
    extra = {"matched": {"g": matched}, "matched_null": {"g": matched_null}} if with_matched else {}
    return ScoreTable(models, {"g": scores}, selfsim, {"g": null}, **extra)


def _dense(table: ScoreTable, pairs) -> np.ndarray:
    from distillscope._reference import _ref_dense

    return _ref_dense(table, pairs)


def test_reported_terms_match_loops():
    """population, ceiling, baseline and strength (the tie-break) by plain loops:
    population = mean_p of the mean of S's and C's mean score to the others
    (one side alone where the other is undefined); ceiling = sqrt(self(S) self(C)),
    self(S) alone where C has none, max_score where neither has one; baseline =
    the shuffled-prompt null under baseline="null", else the per-prompt higher
    of the two leave-the-partner-out row medians of the sample-matched scores;
    strength = the mean sample-matched score of S to C over the prompts where S
    stands out (at or above tau) against some model."""
    from distillscope._reference import _ref_q, _ref_terms

    t = _terms_table()
    g, models, n = "g", t.models, t.n_prompts
    raw, mt = _dense(t, t.scores[g]), _dense(t, t.matched[g])
    nul, mnul = _dense(t, t.null[g]), _dense(t, t.matched_null[g])
    idx = {m: k for k, m in enumerate(models)}
    mean = lambda v: sum(v) / len(v)  # noqa: E731

    def pop_p(a: int, b: int, p: int) -> float:
        sides = []
        for x in (a, b):
            v = [raw[x, k, p] for k in range(len(models)) if k not in (a, b) and not math.isnan(raw[x, k, p])]
            if v:
                sides.append(mean(v))
        return mean(sides) if sides else math.nan

    # where S stands out against some model (null baseline: tau from the pair's matched null)
    stands = [False] * n
    for k in range(1, len(models)):
        terms = _ref_terms(list(mt[0, k]), [list(mnul[0, k])], 3.0)
        for p, v in enumerate(terms or []):
            stands[p] = stands[p] or (v is not None and v[0] == 0.0)
    assert 0 < sum(stands) < n

    res_null = compute_degrees(t, ["S"], None, DegreeConfig(n_boot=10, baseline="null"))
    res_pop = compute_degrees(t, ["S"], None, DegreeConfig(n_boot=10))
    for c in ("T", "U", "W"):
        a, b = idx["S"], idx[c]
        ok = [p for p in range(n) if not math.isnan(raw[a, b, p])]
        want_pop = mean([x for x in (pop_p(a, b, p) for p in ok) if not math.isnan(x)])
        top = []  # the higher row median, one side alone where the other is undefined (S on prompts 0-2)
        for p in ok:
            meds = [_ref_q([mt[x, k, p] for k in range(len(models)) if k not in (a, b)], 0.5) for x in (a, b)]
            top.append(max(v for v in meds if not math.isnan(v)))
        picked = [mt[a, b, p] for p in ok if stands[p]]
        for res, want_base in ((res_null, mean([nul[a, b, p] for p in ok])), (res_pop, mean(top))):
            got = res.get("S", c, g)
            assert got["population"] == pytest.approx(want_pop, rel=1e-12)
            # S alone has a self-similarity (mean over the pair's prompts); the null (about 0.15) is far under it
            assert got["ceiling"] == pytest.approx(mean([t.self_similarity[g]["S"][p] for p in ok]), rel=1e-12)
            assert got["baseline"] == pytest.approx(want_base, rel=1e-12)
        assert res_null.get("S", c, g)["strength"] == pytest.approx(mean(picked), rel=1e-12)
    # neither side has a self-similarity: the ceiling is max_score
    assert compute_degrees(t, ["U"], ["W"], DegreeConfig(n_boot=10)).get("U", "W", g)["ceiling"] == 1.0


def test_reported_baseline_of_a_three_model_table():
    """Three models and a null under baseline="pair-mean": the share uses the
    null (no population), and the reported baseline is the higher of the mean
    population (the third model's side) and the mean null."""
    rng = np.random.default_rng(5)
    n = 20
    s = {("S", "T"): rng.uniform(0, 1, n), ("S", "U"): rng.uniform(0, 1, n), ("T", "U"): rng.uniform(0, 1, n)}
    nul = {k: rng.uniform(0, 0.4, n) for k in s}
    t = ScoreTable(("S", "T", "U"), {"g": s}, null={"g": nul})
    pop = (s[("S", "U")] + s[("T", "U")]) / 2.0
    assert pop.mean() > nul[("S", "T")].mean() + 0.05
    got = compute_degrees(t, ["S"], ["T"], DegreeConfig(n_boot=10)).get("S", "T", "g")
    assert got["population"] == pytest.approx(pop.mean(), rel=1e-12)
    assert got["baseline"] == pytest.approx(pop.mean(), rel=1e-12)
    assert got["null"] == pytest.approx(nul[("S", "T")].mean(), rel=1e-12)


@pytest.mark.parametrize("min_span, want", [(0.5, 0.75), (0.5 + 1e-9, 1.0)])
def test_reported_ceiling_at_min_span(min_span, want):
    """self-similarity 0.75 for every model, null 0.25: the ceiling sqrt(0.75 x
    0.75) = 0.75 lies exactly min_span = 0.5 above the null and still counts
    (>=); a hair more and the ceiling is max_score (1.0). Every value is exact in
    binary floating point."""
    n, models = 8, ("S", "T", "U", "V")
    rng = np.random.default_rng(0)
    scores = {(a, b): rng.uniform(0, 1, n) for i, a in enumerate(models) for b in models[i + 1 :]}
    null = {k: np.full(n, 0.25) for k in scores}
    selfsim = {"g": {m: np.full(n, 0.75) for m in models}}
    t = ScoreTable(models, {"g": scores}, selfsim, {"g": null})
    got = compute_degrees(t, ["S"], ["T"], DegreeConfig(n_boot=10, min_span=min_span)).get("S", "T", "g")
    assert got["ceiling"] == want


def test_combined_is_the_weighted_mean_of_granularities():
    t, _ = simulate(2, n=100, granularities=("lexical", "semantic", "style"))
    res = compute_degrees(t, ["s70"], ["T", "A"], FAST)
    for cand in ("T", "A"):
        d = {g: res.get("s70", cand, g)["degree"] for g in ("lexical", "semantic", "style")}
        want = (d["lexical"] + d["semantic"]) / 2.0  # content granularities; style weighs 0
        assert res.get("s70", cand)["degree"] == pytest.approx(want, rel=1e-12)
    cfg = DegreeConfig(weights={"semantic": 2.0, "style": 1.0}, n_boot=50)
    res2 = compute_degrees(t, ["s70"], ["T"], cfg)
    d = {g: res2.get("s70", "T", g)["degree"] for g in ("semantic", "style")}
    assert res2.get("s70", "T")["degree"] == pytest.approx((2 * d["semantic"] + d["style"]) / 3, rel=1e-12)
    assert "style:1" in res2.signature and "semantic:2" in res2.signature


@settings(max_examples=25)
@given(st.integers(0, 10_000), st.integers(20, 60), st.booleans(), st.booleans())
def test_identical_inputs_give_the_top_degree(seed, n, with_self, with_null):
    rng = np.random.default_rng(seed)
    models = ("S", "T", "U", "V", "W", "X")  # a population of 4 besides the pair
    scores, null = {}, {}
    for a in range(6):
        for b in range(a + 1, 6):
            # unrelated answers: similarity 0.1-0.4 (a copy must stand out from
            # that; with 0-0.6 noise and 20 prompts a copy's share is ~0.55)
            scores[(models[a], models[b])] = rng.uniform(0.1, 0.4, n)
            null[(models[a], models[b])] = rng.uniform(0.0, 0.2, n)
    scores[("S", "T")] = np.ones(n)  # S answered exactly what T answered
    selfsim = {"lexical": {m: rng.uniform(0.5, 1.0, n) for m in models}} if with_self else {}
    t = ScoreTable(models, {"lexical": scores}, selfsim, {"lexical": null} if with_null else {})
    res = compute_degrees(t, ["S"], None, DegreeConfig(n_boot=50, seed=seed))
    top = res.get("S", "T")
    assert res.ranking("S")[0] == "T"
    names, m = degree_matrix(t, DegreeConfig(n_boot=20))
    off = m[~np.eye(len(names), dtype=bool)]
    assert m[names.index("S"), names.index("T")] == off.max()
    # every answer of S stands out from the unrelated answers: a share of 1
    assert top["degree"] == 1.0 and top["ci_low"] == 1.0 and top["ci_high"] == 1.0


@settings(max_examples=20)
@given(st.integers(0, 10_000), st.floats(0.05, 0.4), st.sampled_from(["percentile", "bca"]))
def test_interval_contains_the_estimate_for_well_behaved_data(seed, noise, interval):
    rng = np.random.default_rng(seed)
    n = 150
    models = ("S", "T", "U", "V")
    scores = {}
    for a in range(4):
        for b in range(a + 1, 4):
            mean = 0.7 if {models[a], models[b]} == {"S", "T"} else 0.3
            scores[(models[a], models[b])] = np.clip(mean + noise * rng.standard_normal(n), 0, 1)
    selfsim = {"semantic": {m: np.clip(0.85 + noise * rng.standard_normal(n), 0, 1) for m in models}}
    t = ScoreTable(models, {"semantic": scores}, selfsim)
    res = compute_degrees(t, None, None, DegreeConfig(n_boot=200, seed=seed, interval=interval))
    fin = np.isfinite(res.degree)
    assert fin.sum() == res.degree.size - 2 * 4  # self pairs are NaN at both levels
    assert np.all(res.ci_low[fin] <= res.degree[fin] + 1e-12)
    assert np.all(res.degree[fin] <= res.ci_high[fin] + 1e-12)


def test_deterministic_given_seed_and_subset_independent():
    t, models = simulate(3, n=150)
    a = compute_degrees(t, config=FAST)
    b = compute_degrees(t, config=FAST)
    for k in ("degree", "ci_low", "ci_high", "boot"):
        assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True)
    # the same pair computed alone: identical numbers (no dependence on the batch)
    sub = compute_degrees(t, ["s70"], ["A", "T"], FAST)
    for cand in ("T", "A"):
        assert sub.get("s70", cand) == a.get("s70", cand)
    other = compute_degrees(t, ["s70"], ["T"], DegreeConfig(n_boot=200, seed=4))
    assert other.get("s70", "T")["degree"] == a.get("s70", "T")["degree"]
    assert other.get("s70", "T")["ci_low"] != a.get("s70", "T")["ci_low"]


@settings(max_examples=10)
@given(st.integers(0, 1000))
def test_prompt_order_permutation_with_the_same_resamples(seed):
    t, models = simulate(seed % 7, n=60)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(t.n_prompts)  # new prompt i is old prompt perm[i]
    inv = np.argsort(perm)

    def permuted(d):
        return {g: {k: v[perm] for k, v in pairs.items()} for g, pairs in d.items()}

    tp = ScoreTable(t.models, permuted(t.scores), permuted(t.self_similarity), permuted(t.null))
    idx = np.concatenate(list(bootstrap_indices(t.n_prompts, 100, seed)))
    a = compute_degrees(t, ["s50", "cA"], None, FAST, indices=idx)
    b = compute_degrees(tp, ["s50", "cA"], None, FAST, indices=inv[idx])
    for k in ("degree", "ci_low", "ci_high", "raw", "baseline", "ceiling"):
        np.testing.assert_allclose(getattr(a, k), getattr(b, k), rtol=1e-10, atol=1e-12)


def test_explicit_indices_are_validated():
    t, _ = simulate(0, n=30)
    with pytest.raises(ValueError, match="shape"):
        compute_degrees(t, config=FAST, indices=np.zeros((10, 29), dtype=np.int64))
    with pytest.raises(ValueError, match="lie in"):
        compute_degrees(t, config=FAST, indices=np.full((10, 30), 30))
    with pytest.raises(TypeError, match="integers"):
        compute_degrees(t, config=FAST, indices=np.zeros((10, 30)))


# ----------------------------------------------------------------- the must-show simulation
@pytest.mark.parametrize("seed", [0, 1])
def test_blended_students_rank_their_teacher_among_the_family(seed):
    """The old simulator blends T into *every* answer (no answer is a copy):
    the share is then "answers that stand out", not the blend weight. What
    still holds: the degree rises with the blend, a strong blend goes to T's
    family (T or a sibling that blends T: direction is not identified), and
    the separate family cA -> A is found. Known rates of copied answers are
    checked in tests/analysis/test_share.py."""
    rates = (0.25, 0.55, 0.85)
    t, models = simulate(seed, rates=rates, granularities=("lexical", "semantic"))
    out = attribute(t, None, None, DegreeConfig(n_boot=200, seed=seed))
    json.dumps(out, allow_nan=False)
    family = {"T", "s25", "s55", "s85"}
    assert out["students"]["s85"][0]["candidate"] in family
    assert out["students"]["cA"][0]["candidate"] == "A"
    assert out["students"]["cA"][0]["degree"] > 0.5
    for s in ("s25", "s55", "s85"):
        degs = [r["degree"] for r in out["students"][s]]
        # by degree, except that a top two within the paired bootstrap's noise
        # go by strength (s55 seed 0: T 0.564 before s85 0.570)
        assert degs[1:] == sorted(degs[1:], reverse=True) and degs[0] >= degs[2]


def test_population_baseline_stops_a_generic_model_winning():
    """G resembles everyone (additive 'genericness'); S copies T a bit less than
    G's genericness. Raw similarity and the null-only degree pick G, the
    population baseline picks T."""
    rng = np.random.default_rng(7)
    n = 300
    models = ("S", "T", "G", "U", "V", "W")
    generic = {"S": 0.05, "T": 0.0, "G": 0.35, "U": 0.02, "V": 0.0, "W": 0.03}
    scores, null = {}, {}
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            x = 0.2 + generic[a] + generic[b] + 0.25 * ({a, b} == {"S", "T"})
            scores[(a, b)] = np.clip(x + 0.05 * rng.standard_normal(n), 0, 1)
            null[(a, b)] = np.clip(0.1 + 0.05 * rng.standard_normal(n), 0, 1)
    t = ScoreTable(models, {"lexical": scores}, null={"lexical": null})
    raw = t.raw_matrix("lexical")[0]
    assert models[int(np.nanargmax(raw))] == "G"
    assert compute_degrees(t, ["S"], None, DegreeConfig(baseline="null", n_boot=50)).ranking("S")[0] == "G"
    res = compute_degrees(t, ["S"], None, FAST)
    assert res.ranking("S")[0] == "T"
    assert res.paired_difference("S", "T", "G")["significant"]


def test_paired_difference_of_identical_candidates_is_not_significant():
    t, _ = simulate(5, n=100)
    scores = {g: dict(p) for g, p in t.scores.items()}
    # a clone of T: same scores against everyone
    models = t.models + ("T2",)
    for g in scores:
        for (a, b), v in list(scores[g].items()):
            if "T" in (a, b):
                other = b if a == "T" else a
                scores[g][(other, "T2")] = v
        scores[g][("T", "T2")] = np.ones(t.n_prompts)
    t2 = ScoreTable(models, scores)
    res = compute_degrees(t2, ["s70"], ["T", "T2", "A"], FAST)
    d = res.paired_difference("s70", "T", "T2")
    assert abs(d["difference"]) < 1e-12
    assert d["p_value"] == 1.0 and not d["significant"]
    d2 = res.paired_difference("s70", "T", "A")
    assert d2["ci_low"] <= d2["difference"] <= d2["ci_high"]
    assert d2["p_value"] < 0.01


def test_missing_prompts_and_pairs_are_handled():
    # One student of T: this simulator's students are blends (every answer
    # partly T's), not whole-answer copies, so with five blends of T in the
    # population a sibling (s90) and T are within noise of each other for s50
    # on 60 prompts; the sibling case with real copies is the demo's (cli tests).
    t, _ = simulate(6, n=120, rates=(0.5,))
    scores = {g: dict(p) for g, p in t.scores.items()}
    for g in scores:
        for k, v in scores[g].items():
            if "s50" in k:
                v = v.copy()
                v[:60] = np.nan  # s50 answered only half the prompts
                scores[g][k] = v
        del scores[g][("A", "B")]  # a pair never scored
    tt = ScoreTable(t.models, scores, t.self_similarity)
    res = compute_degrees(tt, ["s50", "A"], None, FAST)
    li = res.levels.index("semantic")
    assert res.n_prompts[li, 0, res.candidates.index("T")] == 60
    assert res.n_prompts[li, 1, res.candidates.index("T")] == 120
    assert np.isnan(res.get("A", "B")["degree"] or np.nan)
    assert res.ranking("A")[-1] == "B"  # undefined degrees rank last
    assert res.ranking("s50")[0] == "T"
    assert res.get("s50", "T")["ci_low"] > 0.1  # derived on the prompts it answered
    out = attribute(tt, ["A"], None, FAST)
    json.dumps(out, allow_nan=False)
    assert out["students"]["A"][-1]["degree"] is None


def test_attribute_output_shape():
    t, _ = simulate(8, n=80)
    out = attribute(t, ["s90"], ["T", "A", "B"], FAST)
    assert set(out) >= {"students", "best_vs_runner_up", "signature"}
    rows = out["students"]["s90"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    for r in rows:
        assert set(r) >= {
            "candidate",
            "degree",
            "ci_low",
            "ci_high",
            "raw",
            "baseline",
            "null",
            "ceiling",
            "granularities",
        }
        assert set(r["granularities"]) == {"semantic"}
    b = out["best_vs_runner_up"]["s90"]
    assert b["best"] == rows[0]["candidate"] and b["runner_up"] == rows[1]["candidate"]
    assert out["signature"].startswith("degree:v7|share|baseline=pair-mean")
    # string lists work too (CLI passes "A,B")
    assert list(attribute(t, "s90,s50", "T,A", FAST)["students"]) == ["s90", "s50"]


def test_attribute_counts_and_edges():
    """n_prompts is the combined level's (the most prompts any granularity has
    for the pair), the table's prompt count is reported as is, two candidates
    get a best-vs-runner-up test, an undefined runner-up gets none, and
    degree_matrix reads the requested level with a diagonal of 1."""
    rng = np.random.default_rng(2)
    n, models = 40, ("S", "T", "U", "V")
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1 :]]
    scores = {g: {k: rng.uniform(0, 1, n) for k in pairs} for g in ("lexical", "semantic")}
    scores["lexical"][("S", "T")][:10] = np.nan  # S-T: 30 lexical prompts, 40 semantic ones
    null = {g: {k: rng.uniform(0, 0.5, n) for k in pairs} for g in ("lexical", "semantic")}
    t = ScoreTable(models, scores, null=null)
    cfg = DegreeConfig(n_boot=20)
    out = attribute(t, ["S"], ["T", "U"], cfg)
    assert out["n_prompts"] == 40
    rows = {r["candidate"]: r for r in out["students"]["S"]}
    assert rows["T"]["n_prompts"] == 40 and rows["U"]["n_prompts"] == 40
    b = out["best_vs_runner_up"]["S"]
    assert b is not None and {b["best"], b["runner_up"]} == {"T", "U"}
    # a candidate S was never scored against ranks last and is not tested
    gone = {g: {k: v for k, v in d.items() if k != ("S", "U")} for g, d in scores.items()}
    gone_null = {g: {k: v for k, v in d.items() if k != ("S", "U")} for g, d in null.items()}
    out = attribute(ScoreTable(models, gone, null=gone_null), ["S"], ["T", "U"], cfg)
    assert [r["degree"] is None for r in out["students"]["S"]] == [False, True]
    assert out["best_vs_runner_up"]["S"] is None
    res = compute_degrees(t, None, None, cfg)
    for level in ("semantic", "lexical"):
        names, m = degree_matrix(t, cfg, level=level)
        assert np.array_equal(np.diag(m), np.ones(len(models)))
        for i, a in enumerate(names):
            for j, c in enumerate(names):
                if i != j:
                    assert m[i, j] == pytest.approx(res.get(a, c, level)["degree"], rel=1e-12)


# ----------------------------------------------------------------- judge agreement
@given(st.lists(st.integers(0, 4), min_size=3, max_size=40), st.integers(0, 100))
def test_spearman_rows_matches_scalar_spearman(vals, seed):
    rng = np.random.default_rng(seed)
    x = np.array(vals, dtype=float)
    y = rng.integers(0, 3, size=x.size).astype(float)
    got = spearman_rows(np.stack([x, y]), np.stack([y, x]))
    want = spearman(x, y)
    if math.isnan(want):
        assert np.isnan(got).all()
    else:
        np.testing.assert_allclose(got, [want, want], rtol=1e-12, atol=1e-12)


def test_judge_agreement():
    rng = np.random.default_rng(0)
    free = rng.uniform(0, 1, 400)
    judge = np.clip(np.rint(1 + 4 * free + rng.normal(0, 0.6, 400)), 1, 5)
    out = judge_agreement(judge, free, n_boot=300, seed=1)
    assert out["n"] == 400
    assert 0.7 < out["spearman"] < 1.0
    assert out["ci_low"] <= out["spearman"] <= out["ci_high"]
    means = [b["mean"] for b in out["buckets"] if b["mean"] is not None]
    assert means == sorted(means)
    assert sum(b["n"] for b in out["buckets"]) == 400
    noise = judge_agreement(rng.integers(1, 6, 300), rng.uniform(size=300), n_boot=300, seed=1)
    assert noise["ci_low"] < 0 < noise["ci_high"]
    with_nan = judge_agreement([1, 2, np.nan, 4, 5], [0.1, 0.2, 0.3, np.nan, 0.9], n_boot=50)
    assert with_nan["n"] == 3 and with_nan["spearman"] == pytest.approx(1.0)
    assert judge_agreement(judge, free, n_boot=300, seed=1) == out
    with pytest.raises(ValueError, match="1-5"):
        judge_agreement([0, 6], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        judge_agreement([1, 2], [0.1])


def test_judge_agreement_interval_matches_a_loop_oracle():
    """The interval is the percentile interval of the scalar Spearman rho
    recomputed on each seeded resample of *pairs* (judge and judge-free score
    resampled together), at alpha / 2 and 1 - alpha / 2, alpha = 1 - confidence
    (0.95 by default); resamples with a constant side (rho undefined) are left
    out."""
    rng = np.random.default_rng(4)
    free = rng.uniform(0, 1, 25)
    judge = np.clip(np.rint(1 + 4 * free + rng.normal(0, 1.2, 25)), 1, 5)
    for kw, conf in (({}, 0.95), ({"confidence": 0.8}, 0.8)):
        out = judge_agreement(judge, free, n_boot=300, seed=7, **kw)
        rhos = [spearman(judge[i], free[i]) for rows in bootstrap_indices(25, 300, 7) for i in rows]
        a = 1.0 - conf
        lo, hi = np.nanquantile(rhos, [a / 2, 1 - a / 2])
        assert out["confidence"] == conf
        assert out["ci_low"] == pytest.approx(lo, abs=1e-12) and out["ci_high"] == pytest.approx(hi, abs=1e-12)
        assert out["spearman"] == pytest.approx(spearman(judge, free), abs=1e-12)


def test_judge_agreement_buckets_by_hand():
    # judge scores round to 1, 1, 2, 3, 3, 3, 5, 5 (4.6 rounds up, not down to 4)
    judge = [1, 1.4, 2, 3, 3, 3, 4.6, 5]
    free = [0.1, 0.3, 0.5, 0.2, 0.4, 0.9, 0.7, 0.8]
    b = {x["judge"]: x for x in judge_agreement(judge, free, n_boot=20)["buckets"]}
    assert [b[k]["n"] for k in range(1, 6)] == [2, 1, 3, 0, 2]
    # means; sample sd (ddof = 1): bucket 1 sqrt((0.1² + 0.1²) / 1) = 0.141421,
    # bucket 3 (mean 0.5, median 0.4) sqrt((0.3² + 0.1² + 0.4²) / 2) = sqrt(0.13) = 0.360555,
    # bucket 5 sqrt((0.05² + 0.05²) / 1) = 0.0707107; one value has no sd, none no mean
    assert [b[k]["mean"] for k in (1, 2, 3, 5)] == pytest.approx([0.2, 0.5, 0.5, 0.75], abs=1e-12)
    assert [b[k]["std"] for k in (1, 3, 5)] == pytest.approx([0.1414214, 0.3605551, 0.0707107], abs=1e-7)
    assert b[2]["std"] is None and b[4]["mean"] is None and b[4]["std"] is None


def test_judge_agreement_small_samples():
    # two pairs: rho is defined (+-1) but there is no interval; three pairs get one
    two = judge_agreement([1, 2], [0.1, 0.2], n_boot=50)
    assert two["spearman"] == pytest.approx(1.0) and two["ci_low"] is None and two["ci_high"] is None
    assert judge_agreement([2, 1], [0.1, 0.2], n_boot=50)["spearman"] == pytest.approx(-1.0)
    one = judge_agreement([3], [0.5], n_boot=50)
    assert one["n"] == 1 and one["spearman"] is None and one["ci_low"] is None
    # a monotone relation stays monotone in every resample that is not constant: rho = 1 throughout
    three = judge_agreement([1, 2, 4], [0.1, 0.2, 0.9], n_boot=50)
    assert three["ci_low"] == pytest.approx(1.0) and three["ci_high"] == pytest.approx(1.0)


# ----------------------------------------------------------------- oracle
@settings(max_examples=15)
@given(st.integers(0, 10_000), st.booleans(), st.booleans(), st.sampled_from(["pair-mean", "null"]))
# S -> V here: all 12 resamples lie above the estimate 0.667 and zero_sd = 0
@example(seed=184, with_self=False, with_missing=False, baseline="null")
def test_vectorized_bootstrap_matches_the_loop_oracle(seed, with_self, with_missing, baseline):
    from distillscope._reference import degree_reference

    rng = np.random.default_rng(seed)
    n, models = 25, ("S", "T", "U", "V")
    scores, null = {}, {}
    for a in range(4):
        for b in range(a + 1, 4):
            x = rng.uniform(0, 0.8, n)
            if with_missing:
                x[rng.random(n) < 0.2] = np.nan
            scores[(models[a], models[b])] = x
            null[(models[a], models[b])] = rng.uniform(0, 0.3, n)
    selfsim = {"g": {m: rng.uniform(0.4, 1.0, n) for m in models[:3]}} if with_self else {}
    t = ScoreTable(models, {"g": scores}, selfsim, {"g": null})
    idx = np.concatenate(list(bootstrap_indices(n, 12, seed)))
    cfg = DegreeConfig(n_boot=12, seed=seed, baseline=baseline)
    res = compute_degrees(t, ["S", "U"], None, cfg, indices=idx)
    for s in ("S", "U"):
        for c in models:
            if c == s:
                continue
            li, si, cj = res._loc(s, c, "g")
            want = degree_reference(t, s, c, "g", range(n), baseline=baseline)
            got = res.degree[li, si, cj]
            assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, rel=1e-9, abs=1e-12)
            for b in range(12):
                want_b = degree_reference(t, s, c, "g", idx[b], baseline=baseline)
                got_b = res.boot[li, si, cj, b]
                assert (math.isnan(want_b) and math.isnan(got_b)) or got_b == pytest.approx(want_b, rel=1e-9, abs=1e-12)
            # the interval: the percentile interval of those resamples, each side
            # widened in quadrature by z x the zero point's spread (oracle: plain loops)
            zsd = degree_reference(t, s, c, "g", range(n), baseline=baseline, what="zero_sd")
            got_z = res.zero_sd[li, si, cj]
            assert (math.isnan(zsd) and math.isnan(got_z)) or got_z == pytest.approx(zsd, rel=1e-9, abs=1e-12)
            boots = sorted(x for x in (res.boot[li, si, cj, b] for b in range(12)) if not math.isnan(x))
            if math.isnan(got) or not boots:
                continue
            q_lo, q_hi = (float(np.quantile(boots, q)) for q in (0.025, 0.975))
            extra = 1.959963984540054 * (0.0 if math.isnan(zsd) else zsd)
            # each end moves outward by what the quadrature adds to its
            # half-width: d -/+ hypot(h, extra) for an end on its own side of
            # d, and continuously so for an end that a skewed bootstrap put on
            # the other side (all resamples above the estimate, e.g. seed 184)
            h_lo, h_hi = got - q_lo, q_hi - got
            want_lo = q_lo - (math.hypot(h_lo, extra) - abs(h_lo))
            want_hi = q_hi + (math.hypot(h_hi, extra) - abs(h_hi))
            want_lo, want_hi = min(max(want_lo, 0.0), 1.0), min(max(want_hi, 0.0), 1.0)
            if extra == 0.0:
                # documented (_widen): with zero_sd = 0 the interval is the
                # bootstrap's digit for digit, even one that misses the estimate
                want_lo, want_hi = q_lo, q_hi
            assert res.ci_low[li, si, cj] == pytest.approx(want_lo, abs=1e-12)
            assert res.ci_high[li, si, cj] == pytest.approx(want_hi, abs=1e-12)


def test_distinct_columns_is_exact():
    from distillscope.analysis.degree import _distinct_columns

    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 6))
    x = base[:, [0, 1, 0, 2, 3, 1, 4, 5, 5]].copy()
    x[3, 8] = np.nextafter(x[3, 8], 1.0)  # differs from column 7 in one ulp
    first, inverse = _distinct_columns(x)
    assert np.array_equal(x[:, first][:, inverse], x)
    assert len(first) == 7


def test_alpacaeval_verbatim_copy_gets_the_top_degree(shared_data):
    """Real answers (style granularity on 200 shared prompts): a verbatim copy
    of one model is the top entry of the degree matrix and both models'
    first candidate."""
    from distillscope.text.style import style_features, style_similarity

    root = shared_data / "alpaca_eval"
    names = ["gpt4_1106_preview", "Yi-34B-Chat", "zephyr-7b-beta", "tulu-2-dpo-70b"]
    outs = {}
    for m in names:
        rows = json.loads((root / f"{m}.json").read_text())
        outs[m] = {" ".join(r["instruction"].split()): r["output"] for r in rows}
    keys = sorted(set.intersection(*(set(v) for v in outs.values())))[:200]
    outs["copy"] = outs["gpt4_1106_preview"]
    models = [*names, "copy"]
    feats = {m: style_features([outs[m][k] for k in keys]) for m in models}
    perm = derangement(len(keys), 0)
    scores, null = {}, {}
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            scores[(a, b)] = style_similarity(feats[a], feats[b])
            null[(a, b)] = style_similarity(feats[a], feats[b].take(perm))
    t = ScoreTable(models, {"style": scores}, null={"style": null})
    names_out, m = degree_matrix(t, DegreeConfig(n_boot=100))
    i, j = names_out.index("gpt4_1106_preview"), names_out.index("copy")
    off = m[~np.eye(len(names_out), dtype=bool)]
    assert m[i, j] == m[j, i] == off.max()
    # the copy stands apart: every other entry is under half of it. (Zephyr <-> Tulu,
    # tuned on the same public data, share a house style: 0.34 at this granularity in
    # degree v5, where prompts on which every answer is already style-identical leave.)
    assert m[i, j] > 0.95 and np.sort(off)[-3] < 0.5


@pytest.mark.parametrize("interval", ["percentile", "bca"])
def test_student_blocks_do_not_change_results(monkeypatch, interval):
    import distillscope.analysis.degree as cal

    t, _ = simulate(9, n=80, granularities=("lexical", "semantic"))
    cfg = DegreeConfig(n_boot=300, seed=2, interval=interval)  # 300 > one resample block of 256
    whole = compute_degrees(t, config=cfg)
    monkeypatch.setattr(cal, "_BLOCK_ELEMENTS", 1)  # one student per block
    parts = compute_degrees(t, config=cfg)
    for k in ("degree", "ci_low", "ci_high", "raw", "baseline", "ceiling", "n_prompts", "boot"):
        assert np.array_equal(getattr(whole, k), getattr(parts, k), equal_nan=True), k
    idx = np.concatenate(list(bootstrap_indices(t.n_prompts, 300, 2)))
    explicit = compute_degrees(t, config=cfg, indices=idx)
    assert np.array_equal(explicit.boot, whole.boot, equal_nan=True)


def test_bca_interval_agrees_with_scipy_for_the_share():
    """Two models, shuffled-prompt null: the share is 1 - mean(below) / F0 with
    per-prompt indicators; our BCa interval must match SciPy's paired BCa for
    that statistic (different resamples: a small fraction of the width)."""
    stats = pytest.importorskip("scipy.stats")
    from distillscope.analysis.share import share_series

    rng = np.random.default_rng(4)
    n = 400
    copied = rng.random(n) < 0.3
    x = np.where(copied, 0.9 + 0.1 * rng.random(n), rng.normal(0.2, 0.05, n))
    nul = rng.normal(0.2, 0.05, n)
    t = ScoreTable(("S", "T"), {"g": {("S", "T"): x}}, null={"g": {("S", "T"): nul}})
    res = compute_degrees(t, ["S"], ["T"], DegreeConfig(n_boot=4000, seed=0, interval="bca"))
    got = res.get("S", "T", "g")
    ser = share_series(t.tensor("g"), t._null["g"], np.array([0]), np.array([1]), min_models=3)
    below, nb, nc = (ser[k][0, 0] for k in ("below", "null_below", "null_count"))

    def share(b, k, c):
        return 1 - b.mean() / (k.sum() / c.sum())

    assert got["degree"] == pytest.approx(share(below, nb, nc), rel=1e-12)
    assert abs(got["degree"] - copied.mean()) < 0.05
    ref = stats.bootstrap(
        (below, nb, nc), share, paired=True, vectorized=False, n_resamples=4000, method="BCa", random_state=1
    ).confidence_interval
    width = ref.high - ref.low
    assert abs(got["ci_low"] - ref.low) < 0.1 * width
    assert abs(got["ci_high"] - ref.high) < 0.1 * width


def test_widening_is_continuous_when_the_bootstrap_interval_misses_the_estimate():
    from distillscope.analysis.degree import _widen

    z = 1.959963984540054
    d = np.array([0.5, 0.5, 0.5])
    lo = np.array([0.6, 0.3, 0.6])  # the first and last: every resample above the estimate
    hi = np.array([0.8, 0.7, 0.8])
    for sd in (0.0, 1e-9, 1e-4):
        got_lo, got_hi = _widen(d, lo, hi, np.full(3, sd), 0.05, (0.0, 1.0))
        # a vanishing spread leaves the interval where the bootstrap put it
        # (mirroring 0.6 through d would give 0.4 for any sd > 0)
        assert got_lo[0] == pytest.approx(0.6, abs=1e-6) and got_hi[0] == pytest.approx(0.8, abs=1e-6)
    # an end on its own side of d: d -/+ hypot(half-width, z sd)
    sd = 0.1
    got_lo, got_hi = _widen(d, lo, hi, np.full(3, sd), 0.05, (0.0, 1.0))
    assert got_lo[1] == pytest.approx(0.5 - math.hypot(0.2, z * sd), abs=1e-12)
    assert got_hi[1] == pytest.approx(0.5 + math.hypot(0.2, z * sd), abs=1e-12)
    # an end on the far side moves out by what the quadrature adds to |h| = 0.1
    assert got_lo[2] == pytest.approx(0.6 - (math.hypot(0.1, z * sd) - 0.1), abs=1e-12)
    assert got_lo[2] < 0.6 and got_hi[2] > 0.8
    # and keeps moving down as the spread grows, through d
    lows = [_widen(d[:1], lo[:1], hi[:1], np.array([s]), 0.05, (0.0, 1.0))[0][0] for s in (0.0, 0.05, 0.1, 0.2)]
    assert all(a > b for a, b in zip(lows, lows[1:])) and lows[-1] < 0.5
