"""Checking response files and the ``distillscope identity`` command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from distillscope import cli
from distillscope.identity.check import check_records
from distillscope.identity.probes import probe_bank

DATA = Path(__file__).parents[1] / "data" / "identity_labelled.jsonl"


@pytest.fixture(scope="module")
def labelled() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_check_records_per_model(labelled):
    res = check_records(labelled, None)
    assert set(res["by_model"]) == {r["target"] for r in labelled}
    assert len(res["verdicts"]) == len(labelled)
    with pytest.raises(ValueError, match="response"):
        check_records([{"prompt": "x"}], "qwen")
    with pytest.raises(TypeError):
        check_records([{"prompt": "x", "response": 3}], "qwen")
    with pytest.raises(ValueError, match="--target"):
        check_records([{"prompt": "x", "response": "y"}], None)


# --------------------------------------------------------------------------- CLI


def test_cli_check_json(tmp_path, capsys, labelled):
    inp = tmp_path / "in.jsonl"
    rows = [{"prompt": r["prompt"], "response": r["response"], "language": r["language"]} for r in labelled[:30]]
    inp.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    rc = cli.main(["identity", "check", "--input", str(inp), "--target", "qwen", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["verdicts"]) == 30
    assert [v["index"] for v in out["verdicts"]] == list(range(30))
    for v, r in zip(out["verdicts"], rows):
        assert v["verdict"] in ("consistent", "contradicts", "no_claim")
        if v["verdict"] == "no_claim":
            assert v["evidence"] is None
        else:
            assert r["response"][v["evidence"]["start"] : v["evidence"]["end"]] == v["evidence"]["text"]
    for k in ("loose", "strict", "hard"):
        assert {"rate", "ci_low", "ci_high", "count", "n"} <= set(out["rates"][k])
        assert 0 <= out["rates"][k]["ci_low"] <= out["rates"][k]["ci_high"] <= 1
    assert set(out["rates"]["by_language"]) <= {"en", "zh"}


def test_cli_check_csv_markdown_and_errors(tmp_path, capsys):
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"prompt": "Who are you?", "response": "I am ChatGPT.", "category": "team"}\n\n'
        '{"prompt": "你是谁？", "response": "我是通义千问。", "category": "team"}\n',
        encoding="utf-8",
    )
    assert cli.main(["identity", "check", "--input", str(inp), "--target", "qwen", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    loose = [r for r in rows if r["scope"] == "overall" and r["metric"] == "loose"][0]
    assert (loose["count"], loose["n"]) == ("1", "2")
    assert any(r["scope"] == "category" and r["group"] == "team" for r in rows)
    assert cli.main(["identity", "check", "--input", str(inp), "--target", "qwen", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "| overall | all | loose | 50.0%" in md and "I am ChatGPT" in md
    assert cli.main(["identity", "check", "--input", str(tmp_path / "nope.jsonl"), "--target", "qwen"]) == 2
    assert "error: input file" in capsys.readouterr().err
    inp.write_text("{oops\n", encoding="utf-8")
    assert cli.main(["identity", "check", "--input", str(inp), "--target", "qwen"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_cli_probes(tmp_path, capsys):
    out = tmp_path / "prompts.jsonl"
    assert (
        cli.main(
            ["identity", "probes", "--out", str(out), "--lang", "zh", "--variants", "direct,system", "--seed", "3"]
        )
        == 0
    )
    recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    n_q = len(probe_bank()["questions"]) + len(probe_bank()["named_questions"])
    assert len(recs) == n_q * 2
    assert {r["language"] for r in recs} == {"zh"} and {r["variant"] for r in recs} == {"direct", "system"}
    assert all("prompt" in r and "id" in r for r in recs)
    out2 = tmp_path / "m.jsonl"
    assert cli.main(["identity", "probes", "--out", str(out2), "--no-named", "--messages", "--variants", "direct"]) == 0
    recs2 = [json.loads(x) for x in out2.read_text(encoding="utf-8").splitlines()]
    assert all(r["hard"] and r["messages"][0]["role"] == "user" for r in recs2)
    assert cli.main(["identity", "probes", "--out", str(out2), "--variants", "nope"]) == 2
    assert "error: --variants takes comma-separated framing variants from direct," in capsys.readouterr().err
