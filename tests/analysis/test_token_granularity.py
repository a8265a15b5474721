"""The opt-in ``token`` granularity: BERTScore F1 between responses, through the whole analysis."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distillscope.analysis.degree import DEFAULT_WEIGHTS, DegreeConfig, compute_degrees
from distillscope.analysis.similarity import DEFAULT_GRANULARITIES, RSEConfig, response_similarity
from distillscope.cli import main
from distillscope.cli.demo_sim import POPULATION, Simulation
from distillscope.embed.encoder import Encoder
from distillscope.stats import derangement
from distillscope.store.table import load_table
from distillscope.text.bertscore import bert_score

NAMES = [m.name for m in POPULATION][:4]
N_PROMPTS = 12


def _records(samples: int) -> list[dict]:
    sim = Simulation(POPULATION, set())
    return [
        {
            "model": m,
            "prompt_id": f"p{p:02d}",
            "sample": s,
            "response": sim.answer(m, f"Explain composting to a beginner, variant {p}.", s),
            "error": None,
        }
        for p in range(N_PROMPTS)
        for m in NAMES
        for s in range(samples)
    ]


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return _records(2)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Encoder:
    return Encoder("tiny-random", cache=tmp_path_factory.mktemp("tok") / "c.sqlite3")


def _answers(records, model: str, sample: int = 0) -> list[str]:
    rows = sorted((r["prompt_id"], r["response"]) for r in records if r["model"] == model and r["sample"] == sample)
    return [t for _, t in rows]


def test_token_equals_bert_score_on_the_same_pairs(records, encoder):
    st = response_similarity(
        load_table(records), NAMES, encoder=encoder, config=RSEConfig(granularities=("token",), max_samples=1)
    )
    assert st.granularities == ("token",)
    perm = derangement(N_PROMPTS, 0)
    for s, t in ((NAMES[1], NAMES[0]), (NAMES[0], NAMES[1]), (NAMES[3], NAMES[2])):
        a, b = _answers(records, s), _answers(records, t)
        expected = bert_score(a, b, encoder=encoder).f1
        assert np.array_equal(st.scores["token"][(s, t)], expected)
        expected_null = bert_score(a, [b[q] for q in perm], encoder=encoder).f1
        assert np.array_equal(st.null["token"][(s, t)], expected_null)
    assert (expected < 0.99).sum() >= 3 and (expected > 0.5).all()  # real matching, not a constant


def test_token_self_similarity_is_the_mean_over_distinct_samples(records, encoder):
    st = response_similarity(load_table(records), NAMES, encoder=encoder, config=RSEConfig(granularities=("token",)))
    m = NAMES[2]
    expected = bert_score(_answers(records, m, 0), _answers(records, m, 1), encoder=encoder).f1
    np.testing.assert_allclose(st.self_similarity["token"][m], expected, rtol=0, atol=1e-12)
    # 2 x 2 samples per prompt: the raw score is the mean of the four cross pairs
    s, t = NAMES[1], NAMES[0]
    four = [
        bert_score(_answers(records, s, i), _answers(records, t, j), encoder=encoder).f1 for i in (0, 1) for j in (0, 1)
    ]
    np.testing.assert_allclose(st.scores["token"][(s, t)], np.mean(four, axis=0), rtol=0, atol=1e-12)


def test_token_invariant_to_batch_size_and_chunk(records, encoder, tmp_path):
    table = load_table(records)
    base = response_similarity(table, NAMES, encoder=encoder, config=RSEConfig(granularities=("token",)))
    other_enc = Encoder("tiny-random", cache=None, batch_size=3)
    other = response_similarity(
        table, NAMES, encoder=other_enc, config=RSEConfig(granularities=("token", "lexical"), chunk=7, workers=2)
    )
    for kind in ("scores", "null"):
        for key, arr in getattr(base, kind)["token"].items():
            assert np.array_equal(arr, getattr(other, kind)["token"][key], equal_nan=True)


def test_token_is_opt_in_weighs_zero_and_has_its_degree(records, encoder):
    assert "token" not in DEFAULT_GRANULARITIES and RSEConfig().granularities == DEFAULT_GRANULARITIES
    assert DEFAULT_WEIGHTS["token"] == 0.0
    cfg = RSEConfig(granularities=("lexical", "token"), max_samples=1)
    st = response_similarity(load_table(records), NAMES, encoder=encoder, config=cfg)
    assert "bertscore-F1" in st.signatures["token"] and encoder.signature in st.signatures["token"]
    res = compute_degrees(st, config=DegreeConfig(n_boot=20))
    assert "token" in res.levels
    assert DegreeConfig().resolve_weights(st.granularities) == {"lexical": 1.0}
    with pytest.raises(ValueError, match="need an encoder"):
        response_similarity(load_table(records), NAMES, config=RSEConfig(granularities=("token",)))


def test_identical_and_empty_answers(encoder):
    recs = [
        {"model": m, "prompt_id": f"p{p}", "sample": 0, "response": r, "error": None}
        for p, pair in enumerate((("same words here", "same words here"), ("", "  "), ("", "something")))
        for m, r in zip(("A", "B"), pair)
    ]
    st = response_similarity(load_table(recs), ["A", "B"], encoder=encoder, config=RSEConfig(granularities=("token",)))
    v = st.scores["token"][("A", "B")]
    assert v[0] == pytest.approx(1.0, abs=1e-6) and v[1] == 1.0 and v[2] == 0.0


def test_cli_outputs_and_errors(records, tmp_path, capsys):
    store = tmp_path / "responses.jsonl"
    store.write_text("".join(json.dumps(r) + "\n" for r in records))
    base = ["--encoder", "tiny-random", "--quiet"]
    assert main(["score", str(store), *base, "--granularities", "lexical,token", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert np.asarray(out["matrices"]["token"]).shape == (4, 4)
    assert out["signatures"]["token"].startswith("token=bertscore-F1")
    assert main(["score", str(store), *base, "--granularities", "token", "--out", str(tmp_path / "pp")]) == 0
    assert "### token similarity" in capsys.readouterr().out
    rows = (tmp_path / "pp" / "per_prompt_scores.csv").read_text().splitlines()
    assert sum(r.startswith("token,") for r in rows) == 4 * 3 * N_PROMPTS
    rep = tmp_path / "rep"
    args = ["report", str(store), *base, "--granularities", "lexical,token", "--out", str(rep)]
    assert main([*args, "--bootstrap", "20", "--no-figures"]) == 0
    capsys.readouterr()
    assert (rep / "data" / "matrix_degree_token.csv").is_file() and (rep / "data" / "matrix_raw_token.csv").is_file()
    assert json.loads((rep / "data" / "signatures.json").read_text())["token"].startswith("token=bertscore-F1")
    audit = json.loads((rep / "data" / "audit.json").read_text())
    assert audit["granularities"] == ["lexical", "token"] and audit["encoder"] == "encoder:tiny-random"
    assert main(["score", str(store), *base, "--granularities", "lexical,tokens"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tokens" in err[0] and "token" in err[0]
    assert main(["score", str(store), "--encoder", "none", "--granularities", "token"]) == 2
    assert "need an encoder" in capsys.readouterr().err
