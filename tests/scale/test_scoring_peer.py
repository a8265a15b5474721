"""score-pairs: per-metric tokenizers (peer-exact ROUGE and BLEU in one run) and --overwrite."""

from __future__ import annotations

import numpy as np
import pytest

pq = pytest.importorskip("pyarrow.parquet")

from distillscope.cli import main  # noqa: E402
from distillscope.scale.benchdata import write_pairs  # noqa: E402
from distillscope.scale.scoring import score_batch, score_pairs, tokenizer_groups  # noqa: E402


def test_tokenizer_groups():
    metrics = ["rouge1", "rougeL", "bleu", "chrf", "jaccard"]
    assert tokenizer_groups(metrics, "unicode") == {"unicode": metrics}
    assert tokenizer_groups(metrics, "peer") == {
        "unicode": ["chrf", "jaccard"],
        "rouge": ["rouge1", "rougeL"],
        "13a": ["bleu"],
    }
    assert tokenizer_groups(metrics, "whitespace,bleu=13a") == {
        "whitespace": ["rouge1", "rougeL", "chrf", "jaccard"],
        "13a": ["bleu"],
    }
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        tokenizer_groups(metrics, "rouge*=bogus")


def test_peer_exact_values_in_one_run(tmp_path):
    rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")
    sacrebleu = pytest.importorskip("sacrebleu")
    write_pairs(tmp_path / "p.jsonl", 60, min_words=5, max_words=40, seed=4, chunk=60)
    rows = pq.read_table(
        score_pairs(tmp_path / "p.jsonl", tmp_path / "o.parquet", "rouge1,rougeL,bleu", tokenizer="peer").out
    )
    import json

    pairs = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"])
    for i, p in enumerate(pairs):
        s = scorer.score(p["reference"], p["candidate"])
        assert rows.column("rouge1")[i].as_py() == s["rouge1"].fmeasure
        assert rows.column("rougeL")[i].as_py() == s["rougeL"].fmeasure
        assert rows.column("bleu")[i].as_py() == sacrebleu.sentence_bleu(p["candidate"], [p["reference"]]).score


def test_existing_out_needs_overwrite(tmp_path, capsys):
    write_pairs(tmp_path / "p.jsonl", 20, min_words=3, max_words=10, seed=5, chunk=20)
    out = tmp_path / "o.parquet"
    args = ["score-pairs", str(tmp_path / "p.jsonl"), "--out", str(out), "--metrics", "rouge1"]
    assert main(args) == 0
    before = out.read_bytes()
    assert main(args + ["--peer-exact"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(args + ["--peer-exact", "--overwrite"]) == 0
    got = pq.read_table(out).column("rouge1").to_numpy()
    assert got.shape == (20,) and np.isfinite(got).all()
    assert set(score_batch(["a"], ["a"], "rouge1,bleu", tokenizer="peer")) >= {"rouge1", "bleu"}


def test_parquet_metadata_records_signatures(tmp_path):
    import json

    import distillscope

    write_pairs(tmp_path / "p.jsonl", 10, min_words=3, max_words=10, seed=6, chunk=10)
    s = score_pairs(tmp_path / "p.jsonl", tmp_path / "o.parquet", "rouge1,bleu,chrf", tokenizer="peer")
    meta = json.loads(pq.read_schema(s.out).metadata[b"distillscope"])
    assert meta["version"] == distillscope.__version__ and meta["tokenizer"] == "peer"
    assert "tok:rouge" in meta["signatures"]["rouge"] and "metrics:bleu" in meta["signatures"]["13a"]
    assert "chrf" in meta["signatures"]["unicode"]
