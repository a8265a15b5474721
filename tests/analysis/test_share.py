"""The degree is a rate: students that copy a known share of their answers."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope.analysis.calibration import simulated_runs, summarize
from distillscope.analysis.degree import DegreeConfig
from distillscope.analysis.simulate import SimSpec, simulate_table

CFG = DegreeConfig(n_boot=200, seed=1)


@pytest.fixture(scope="module")
def light_runs():
    return simulated_runs(
        [0.0, 0.3, 0.7, 1.0], [1, 2], ["exact", "light"], ["one", "four", "generic"], n_prompts=150, config=CFG
    )


def test_known_shares_are_recovered_for_exact_and_light_copies(light_runs):
    deg = np.array([r.degree for r in light_runs])
    rate = np.array([r.rate for r in light_runs])
    assert np.abs(deg - rate).mean() <= 0.05
    for r in light_runs:
        assert abs(r.degree - r.rate) <= 0.15, r  # value bands at known rates, not only ranks
        if r.rate == 1.0:
            assert r.degree >= 0.85, r
        if r.rate == 0.0:
            assert r.degree <= 0.05 and r.ci_low <= 0.0, r
        if r.rate >= 0.2:
            assert r.top_is_teacher, r
    ones = [r.degree for r in light_runs if r.rate == 1.0 and r.group[0] == "one"]
    assert min(ones) >= 0.95
    cover = np.mean([r.ci_low - 1e-9 <= r.rate <= r.ci_high + 1e-9 for r in light_runs])
    assert cover >= 0.75  # measured on the full grid in docs/calibration.md


def test_heavy_edits_still_rank_and_rise():
    runs = simulated_runs([0.0, 0.4, 0.7, 1.0], [1], ["heavy"], ["one", "generic"], n_prompts=150, config=CFG)
    for row in summarize(runs):
        assert row["monotone"], row
        assert row["first_r>=0.4"] == 1.0, row


def test_summary_measures_what_it_says():
    runs = simulated_runs([0.0, 1.0], [1], ["exact"], ["one"], n_prompts=80, config=CFG)
    (row,) = summarize(runs)
    assert row["n"] == 2 and row["at_0"] <= 0.05 and row["at_1"] == 1.0
    assert row["mae"] == pytest.approx(np.mean([abs(r.degree - r.rate) for r in runs]))


def test_simulator_validates_its_spec():
    with pytest.raises(ValueError, match="noise"):
        simulate_table(SimSpec(rate=0.5, noise="medium"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rate"):
        simulate_table(SimSpec(rate=1.5))
