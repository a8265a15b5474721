"""Late-chunked vs separate unit vectors in response_similarity, and the seeded prompt sample."""

from __future__ import annotations

import numpy as np
import pytest

from distillscope.analysis.similarity import (
    RSEConfig,
    response_similarity,
    sample_prompts,
)
from distillscope.cli.demo_sim import POPULATION, Simulation
from distillscope.store.table import load_table


@pytest.fixture(scope="module")
def table():
    sim = Simulation(POPULATION, set())
    recs = []
    for p in range(20):
        prompt = f"How do I keep a sourdough starter alive, case {p}?"
        for m in POPULATION[:4]:
            recs.append(
                {
                    "model": m.name,
                    "prompt_id": f"q{p}",
                    "sample": 0,
                    "response": sim.answer(m.name, prompt, 0),
                    "error": None,
                }
            )
    return load_table(recs)


@pytest.fixture(scope="module")
def enc(tmp_path_factory):
    from distillscope.embed.encoder import Encoder

    return Encoder("tiny-random", precision="fp32", cache=tmp_path_factory.mktemp("c") / "c.sqlite3")


def test_sample_prompts_is_seeded_order_free_and_nested():
    ids = [f"p{i}" for i in range(100)]
    a = sample_prompts(ids, 10, seed=1)
    assert len(a) == 10 and (np.diff(a) > 0).all()
    assert set(np.asarray(ids)[a]) == set(np.asarray(ids[::-1])[sample_prompts(ids[::-1], 10, seed=1)])
    assert set(a) <= set(sample_prompts(ids, 30, seed=1))
    assert set(a) != set(sample_prompts(ids, 10, seed=2))


def test_max_prompts_restricts_and_is_signed(table):
    cfg = RSEConfig(granularities=("lexical",), max_prompts=7, sample_seed=4)
    st = response_similarity(table, config=cfg)
    assert st.n_prompts == 7
    want = sample_prompts(sorted(set(map(str, table.prompt_id))), 7, 4)
    assert set(st.prompt_ids) == set(np.asarray(sorted(set(map(str, table.prompt_id))))[want])
    assert "seed=4" in st.signatures["prompts"] and "7 prompts" in st.signatures["prompts"]
    full = response_similarity(table, config=RSEConfig(granularities=("lexical",)))
    key = next(iter(full.scores["lexical"]))
    pos = [full.prompt_ids.index(p) for p in st.prompt_ids]
    np.testing.assert_allclose(st.scores["lexical"][key], full.scores["lexical"][key][pos])
    with pytest.raises(ValueError, match="max_prompts"):
        RSEConfig(max_prompts=1)


def test_late_units_one_encoder_pass(table, enc, monkeypatch):
    calls = {"encode": 0, "late": 0}
    real_encode, real_late = enc.encode, enc.encode_with_segments

    def count_encode(*a, **k):
        calls["encode"] += 1
        return real_encode(*a, **k)

    def count_late(*a, **k):
        calls["late"] += 1
        return real_late(*a, **k)

    monkeypatch.setattr(enc, "encode", count_encode)
    monkeypatch.setattr(enc, "encode_with_segments", count_late)
    cfg = RSEConfig(granularities=("semantic", "structural"))
    late = response_similarity(table, encoder=enc, config=cfg)
    assert calls == {"encode": 0, "late": 1}
    sep = response_similarity(
        table, encoder=enc, config=RSEConfig(granularities=("semantic", "structural"), units="separate")
    )
    assert calls["encode"] == 2  # responses, then every distinct sentence
    assert "vectors:late-chunked" in late.signatures["structural"]
    assert "vectors:separate" in sep.signatures["semantic"]
    for g in ("semantic", "structural"):
        for key, v in late.scores[g].items():
            assert np.isfinite(v).all() and (v >= -1e-6).all() and (v <= 1 + 1e-6).all()
            assert np.isfinite(sep.scores[g][key]).all()
    # (how the two kinds of vectors compare on real answers is measured in benchmarks/bench_audit.py)
    with pytest.raises(ValueError, match="units"):
        RSEConfig(units="twice")


def test_identical_answers_still_score_one_with_late_units(table, enc):
    recs = [
        {
            "model": str(table.model[i]),
            "prompt_id": str(table.prompt_id[i]),
            "sample": 0,
            "response": table.response[i],
            "error": None,
        }
        for i in range(len(table))
    ]
    first = str(table.model[0])
    clone = [{**r, "model": "Clone"} for r in recs if r["model"] == first]
    st = response_similarity(
        load_table(recs + clone),
        [first, "Clone"],
        encoder=enc,
        config=RSEConfig(granularities=("semantic", "structural")),
    )
    for g in ("semantic", "structural"):
        np.testing.assert_allclose(st.scores[g][(first, "Clone")], 1.0, atol=1e-5)


def test_semantic_only_run_reuses_the_full_runs_cache(table, tmp_path):
    """The late-chunking cache is keyed by (text, spans); a semantic-only run
    used empty spans, missed every entry a full run had written and encoded
    every response again (on the 9-model AlpacaEval files: 7 min instead of
    11 s). It now segments too, so it reads the same entries, and the
    response vectors do not depend on the spans."""
    from distillscope.embed.encoder import Encoder

    enc = Encoder("tiny-random", precision="fp32", cache=tmp_path / "c.sqlite3")
    full = response_similarity(table, encoder=enc, config=RSEConfig(granularities=("semantic", "structural")))
    n_cached = enc.cache.count()
    assert n_cached > 0
    calls = {"windows": 0}
    real = enc._late_uncached

    def count(*a, **k):
        calls["windows"] += 1
        return real(*a, **k)

    enc._late_uncached = count  # type: ignore[method-assign]
    sem = response_similarity(table, encoder=enc, config=RSEConfig(granularities=("semantic",)))
    assert calls["windows"] == 0 and enc.cache.count() == n_cached
    for key, v in full.scores["semantic"].items():
        np.testing.assert_array_equal(sem.scores["semantic"][key], v)
    # and the other way round: a semantic-only run into an empty cache, then a full run
    enc2 = Encoder("tiny-random", precision="fp32", cache=tmp_path / "d.sqlite3")
    response_similarity(table, encoder=enc2, config=RSEConfig(granularities=("semantic",)))
    n2 = enc2.cache.count()
    response_similarity(table, encoder=enc2, config=RSEConfig(granularities=("semantic", "structural")))
    assert enc2.cache.count() == n2
