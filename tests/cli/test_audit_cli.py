"""score / attribute / report: errors before any work, --max-prompts, all-vs-all default, --quiet."""

from __future__ import annotations

import json

import pytest

from distillscope.cli import main
from distillscope.cli.demo_sim import POPULATION, Simulation


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    sim = Simulation(POPULATION, set())
    path = tmp_path_factory.mktemp("audit") / "responses.jsonl"
    with open(path, "w") as f:
        for p in range(16):
            for m in POPULATION[:4]:
                rec = {
                    "model": m.name,
                    "prompt_id": f"p{p}",
                    "sample": 0,
                    "error": None,
                    "response": sim.answer(m.name, f"Plan a week of cheap dinners, case {p}.", 0),
                }
                f.write(json.dumps(rec) + "\n")
    return path


@pytest.fixture()
def no_work(monkeypatch):
    """Fail the test if anything is embedded or scored."""
    from distillscope.analysis import similarity
    from distillscope.embed.encoder import Encoder

    def boom(*a, **k):
        raise AssertionError("work started before the input was checked")

    monkeypatch.setattr(similarity, "response_similarity", boom)
    monkeypatch.setattr(Encoder, "encode", boom)
    monkeypatch.setattr(Encoder, "encode_with_segments", boom)


def test_misspelled_names_fail_before_any_work(store, no_work, capsys):
    name = POPULATION[0].name
    typo = name[:-1]
    assert (
        main(["attribute", str(store), "--candidates", f"{typo},{POPULATION[1].name}", "--encoder", "tiny-random"]) == 2
    )
    err = capsys.readouterr().err
    assert "--candidates" in err and repr(typo) in err and f"did you mean {name!r}" in err
    assert main(["attribute", str(store), "--students", "Nobody", "--encoder", "tiny-random"]) == 2
    assert "--students" in capsys.readouterr().err
    assert main(["score", str(store), "--models", f"{name},Nobody", "--encoder", "none"]) == 2
    assert "--models" in capsys.readouterr().err


def test_bad_options_and_paths_fail_before_any_work(store, no_work, tmp_path, capsys):
    assert main(["score", str(store), "--granularities", "lexical,vibes"]) == 2
    assert "vibes" in capsys.readouterr().err
    assert main(["score", str(store), "--max-prompts", "1", "--encoder", "none"]) == 2
    assert "--max-prompts" in capsys.readouterr().err
    afile = tmp_path / "a-file"
    afile.write_text("x")
    assert main(["report", str(store), "--encoder", "none", "--out", str(afile)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["score", str(store), "--encoder", "none", "--out", str(afile / "sub")]) == 2
    assert (
        main(
            [
                "report",
                str(store),
                "--encoder",
                "none",
                "--out",
                str(tmp_path / "r"),
                "--ice",
                f"{POPULATION[0].name}={tmp_path / 'missing.json'}",
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert main(["score", str(store), "--encoder", str(tmp_path / "no-model-here"), "--granularities", "semantic"]) == 2


def test_all_vs_all_default_and_prompt_sample(store, capsys):
    rc = main(
        [
            "attribute",
            str(store),
            "--encoder",
            "none",
            "--bootstrap",
            "20",
            "--format",
            "json",
            "--max-prompts",
            "6",
            "--seed",
            "3",
            "--quiet",
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no stage lines, no progress
    out = json.loads(captured.out)
    names = {m.name for m in POPULATION[:4]}
    assert set(out["students"]) == names
    for s, ranked in out["students"].items():
        assert {r["candidate"] for r in ranked} == names - {s}
    assert out["n_prompts"] == 6
    assert "6 prompts" in out["metric_signatures"]["prompts"] and "seed=3" in out["metric_signatures"]["prompts"]


def test_stage_lines_without_quiet(store, capsys):
    assert main(["score", str(store), "--encoder", "none", "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert "scoring" in err and "response pairs" in err
