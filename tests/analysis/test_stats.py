"""stats.py against known values and independent references (SciPy, hand
computations), and the bootstrap's resampling frequencies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from distillscope.analysis.degree import DegreeConfig, compute_degrees
from distillscope.analysis.table import ScoreTable
from distillscope.stats import (
    bootstrap_counts,
    bootstrap_indices,
    finite_or_none,
    quantiles,
    rankdata,
    spearman,
    wilson_interval,
    z_for,
)

scipy_stats = pytest.importorskip("scipy.stats")


# ----------------------------------------------------------------- known values
def test_z_known_values():
    assert z_for(0.95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert z_for(0.90) == pytest.approx(1.6448536269514722, abs=1e-12)
    assert z_for(0.99) == pytest.approx(2.5758293035489004, abs=1e-12)
    for c in (0.5, 0.8, 0.999):
        assert z_for(c) == pytest.approx(scipy_stats.norm.ppf(0.5 + c / 2), abs=1e-10)


@pytest.mark.parametrize(
    "k, n, conf, want",
    [
        # by hand: p = 0.3, z = 1.959964, z²/n = 0.384146; centre = (0.3 + 0.192073) / 1.384146 = 0.355506,
        # half = 1.959964 * sqrt(0.021 + 0.0096037) / 1.384146 = 0.247715
        (3, 10, 0.95, (0.107791, 0.603222)),
        (0, 10, 0.95, (0.0, 0.277533)),
        (10, 10, 0.95, (0.722467, 1.0)),
        (50, 100, 0.95, (0.403832, 0.596168)),
    ],
)
def test_wilson_known_values(k, n, conf, want):
    lo, hi = wilson_interval(k, n, conf)
    assert lo == pytest.approx(want[0], abs=2e-6) and hi == pytest.approx(want[1], abs=2e-6)


@given(st.integers(1, 500), st.data(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_scipy(n, data, conf):
    k = data.draw(st.integers(0, n))
    ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
    lo, hi = wilson_interval(k, n, conf)
    assert lo == pytest.approx(ci.low, abs=1e-9) and hi == pytest.approx(ci.high, abs=1e-9)


@pytest.mark.parametrize("conf", [0.8, 0.9, 0.95, 0.99])
def test_wilson_stays_inside_unit_interval(conf):
    """At 0 and n successes the Wilson bound is exactly 0 (or 1) on paper, but
    centre - half rounds to about -1e-17 for many n (n = 5 at 80 %, say); the
    documented contract is an interval inside [0, 1], so the clip is needed.
    The same rounding could leave hi = 1 - 1.1e-16 at k = n = 12: an interval
    that excludes the observed rate; those ends are exact now."""
    for n in range(1, 301):
        for k in (0, 1, n - 1, n):
            lo, hi = wilson_interval(k, n, conf)
            assert 0.0 <= lo <= hi <= 1.0, (k, n, conf, lo, hi)
            assert lo <= k / n <= hi, (k, n, conf, lo, hi)
        assert wilson_interval(0, n, conf)[0] == 0.0 and wilson_interval(n, n, conf)[1] == 1.0


def test_rankdata_is_one_based_with_average_ties():
    # sorted: 5 (rank 1), 10 (rank 2), 20, 20 (ranks 3 and 4 -> 3.5 each)
    assert rankdata(np.array([10.0, 20.0, 20.0, 5.0])).tolist() == [2.0, 3.5, 3.5, 1.0]
    # all tied: every rank is the mean of 1..4 = 2.5
    assert rankdata(np.array([7.0, 7.0, 7.0, 7.0])).tolist() == [2.5] * 4
    x = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], dtype=float)
    assert np.array_equal(rankdata(x), scipy_stats.rankdata(x, method="average"))


def test_finite_or_none():
    assert finite_or_none(np.float64(0.25)) == 0.25 and isinstance(finite_or_none(np.float32(1)), float)
    for bad in (float("nan"), float("inf"), -np.inf, np.float64("nan")):
        assert finite_or_none(bad) is None


def test_spearman_known_value_with_ties():
    # ranks x: 1, 2.5, 2.5, 4, 5; y: 5, 4, 3, 2, 1 -> rho by hand = -0.974679
    assert spearman([1, 2, 2, 3, 4], [5, 4, 3, 2, 1]) == pytest.approx(-0.9746794344808963, abs=1e-12)
    assert spearman([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


@given(st.lists(st.tuples(st.integers(0, 6), st.floats(-5, 5, allow_nan=False)), min_size=3, max_size=40))
def test_spearman_matches_scipy(pairs):
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs])
    if len(set(x)) < 2 or len(set(y)) < 2:
        assert np.isnan(spearman(x, y))
        return
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-9)


# ----------------------------------------------------------------- bootstrap frequencies
@pytest.mark.parametrize("n", [2, 7, 50])
def test_bootstrap_draws_every_prompt_uniformly(n):
    """Each prompt is drawn n_boot times in expectation (n draws of 1/n per
    resample); a chi-square goodness-of-fit test against the uniform draw."""
    B = 4000
    idx = np.concatenate(list(bootstrap_indices(n, B, seed=11)))
    assert idx.shape == (B, n) and idx.min() == 0 and idx.max() == n - 1
    total = np.bincount(idx.ravel(), minlength=n)
    assert total.sum() == B * n
    chi2 = scipy_stats.chisquare(total).pvalue
    assert chi2 > 1e-4, (total, chi2)
    assert np.all(np.abs(total - B) < 6 * np.sqrt(B))  # every prompt drawn about B times
    # resamples are independent draws: how often prompt 0 is absent from a resample
    absent = np.mean(~(idx == 0).any(axis=1))
    assert absent == pytest.approx((1 - 1 / n) ** n, abs=5 * np.sqrt(0.25 / B))


def test_bootstrap_counts_are_the_draws_counted():
    n, B = 9, 300
    idx = np.concatenate(list(bootstrap_indices(n, B, seed=5)))
    W = np.concatenate(list(bootstrap_counts(n, B, seed=5)))
    want = np.array([[np.sum(row == p) for p in range(n)] for row in idx], dtype=float)
    assert np.array_equal(W, want) and np.all(W.sum(axis=1) == n)


def _mean_table(values: np.ndarray) -> ScoreTable:
    """Two models and a shuffled-prompt null spread over [0, 0.1]: every null
    value lies under the cut-off tau (0.125), so the degree (a share) of S to
    T is exactly the share of prompts whose raw score reaches tau."""
    n = len(values)
    null = np.linspace(0.0, 0.1, n)
    return ScoreTable(("S", "T"), {"lexical": {("S", "T"): values}}, null={"lexical": {("S", "T"): null}})


def test_degree_bootstrap_resamples_every_prompt():
    """End to end through compute_degrees: only the last prompt scores 1, so a
    resample's degree is (#draws of the last prompt) / n: 0 with probability
    (1 - 1/n)^n, and the bootstrap mean is 1/n."""
    n, B = 5, 4000
    values = np.zeros(n)
    values[-1] = 1.0
    res = compute_degrees(_mean_table(values), config=DegreeConfig(n_boot=B, baseline="null", seed=1))
    assert res.get("S", "T", "lexical")["degree"] == pytest.approx(1 / n)
    boot = res.boot[res.levels.index("lexical"), 0, res.candidates.index("T")]
    assert np.mean(boot == 0) == pytest.approx((1 - 1 / n) ** n, abs=0.03)
    assert np.mean(boot) == pytest.approx(1 / n, abs=0.01)
    # every possible draw count of the last prompt, 0..n, turns up
    assert set(np.round(boot * n).astype(int)) >= {0, 1, 2, 3}


# ----------------------------------------------------------------- paired p-value
def _with_boot(diffs: list[float]):
    """A real result whose resampled degrees of S->A minus S->B are ``diffs``."""
    n = 6
    rng = np.random.default_rng(0)
    pairs = (("S", "A"), ("S", "B"), ("A", "B"), ("S", "C"), ("A", "C"), ("B", "C"))
    scores = {(a, b): rng.uniform(0, 1, n) for a, b in pairs}
    res = compute_degrees(
        ScoreTable(("S", "A", "B", "C"), {"lexical": scores}), ["S"], ["A", "B"], DegreeConfig(n_boot=10)
    )
    boot = np.zeros(res.boot.shape[:-1] + (len(diffs),))
    boot[:, 0, res.candidates.index("A")] = 0.5 + np.asarray(diffs)
    boot[:, 0, res.candidates.index("B")] = 0.5
    return dataclasses.replace(res, boot=boot)


def test_paired_p_value_hand_computed():
    # k = #{diff <= 0} = 2 of B = 5: p = (1 + 2) / (1 + 5) = 0.5 (not k/B = 0.4)
    res = _with_boot([0.3, -0.1, 0.2, 0.0, 0.5])
    d = res.paired_difference("S", "A", "B", "lexical")
    assert d["p_value"] == pytest.approx(0.5) and d["n_boot"] == 5
    # every resample favours A: p = 1 / (1 + 9) = 0.1, never 0
    res = _with_boot([0.1] * 9)
    assert res.paired_difference("S", "A", "B", "lexical")["p_value"] == pytest.approx(0.1)
    # a NaN resample is not counted: k = 1 of B = 3 -> 2 / 4
    res = _with_boot([0.2, float("nan"), -0.3, 0.4])
    d = res.paired_difference("S", "A", "B", "lexical")
    assert d["p_value"] == pytest.approx(0.5) and d["n_boot"] == 3


# ----------------------------------------------------------------- quantiles
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40), st.floats(0, 1), st.integers(0, 5))
def test_quantiles_match_numpy_linear(values, q, n_nan):
    x = np.array(values + [np.nan] * n_nan)
    got = quantiles(x[None, :], q)[0]
    assert got == pytest.approx(np.nanquantile(x, q, method="linear"), rel=1e-12, abs=1e-9)
    assert np.isnan(quantiles(np.full((1, 3), np.nan), 0.5)[0])
