"""``distillscope bench`` smoke test at a tiny size: every section runs, peers agree, files are written."""

from __future__ import annotations

import json

import pytest

from distillscope.cli import main
from distillscope.scale.bench import SIZES, machine_info, run_suite


def test_bench_command_tiny(tmp_path, capsys):
    rc = main(["bench", "--size", "tiny", "--out", str(tmp_path), "--threads", "1,2", "--batch-sizes", "10,100"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "SIMD path" in printed and "| task | engine |" in printed
    doc = json.loads((tmp_path / "bench.json").read_text())
    assert doc["failures"] == []
    tasks = {r["task"].split(" ")[0] for r in doc["rows"]}
    assert {"cosine_paired", "cosine_topk", "ROUGE-1/2/L,", "sentence"} <= tasks
    engines = " ".join(r["engine"] for r in doc["rows"])
    # peers installed in the test environment actually ran and were checked
    # each peer installed here must have run; a missing one is skipped alone
    # (importorskip would skip the rest of the test, agreement and sweep included)
    import importlib.util

    installed = [
        p
        for p in ("numpy", "simsimd", "faiss", "rouge-score", "rouge-score-rs", "sacrebleu", "rapidfuzz")
        if importlib.util.find_spec(p.replace("-", "_")) is not None
    ]
    assert {"numpy", "simsimd", "sacrebleu"} <= set(installed), "the [test] extra installs these peers"
    missing = [p for p in installed if p not in engines]
    assert not missing, f"installed peers that did not run: {missing}"
    assert all(r["agree"].startswith(("ok", "identical")) for r in doc["rows"] if r["agree"])
    assert all(r["rate"] > 0 for r in doc["rows"])
    assert doc["machine"]["distillscope"]["isa"] in ("scalar", "avx2", "avx512")
    assert {s["threads"] for s in doc["sweep"]} == {1, 2}
    assert {s["batch"] for s in doc["sweep"]} == {10, 100}
    md = (tmp_path / "bench.md").read_text()
    assert "distillscope speed-up" in md and "×" in md
    pytest.importorskip("matplotlib")
    png = (tmp_path / "bench.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_missing_peer_is_a_note_not_a_failure(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_simsimd(name, *args, **kwargs):
        if name == "simsimd" or name.startswith("rouge_score"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_simsimd)
    doc = run_suite("tiny", tmp_path, threads=[1], only=("dense", "text"), plot=False, echo=lambda s: None)
    assert doc["failures"] == []
    assert any("simsimd" in n for n in doc["notes"]) and any("rouge-score" in n for n in doc["notes"])
    assert not any("simsimd" in r["engine"] for r in doc["rows"])


def test_bench_bad_arguments(tmp_path, capsys):
    with pytest.raises(ValueError, match="size"):
        run_suite("huge", tmp_path)
    with pytest.raises(ValueError, match="override"):
        run_suite("tiny", tmp_path, overrides={"pairs": 0})
    assert main(["bench", "--size", "tiny", "--only", "gpu", "--out", str(tmp_path)]) == 2
    assert (
        "error: --only takes comma-separated sections from dense,text,embed,sweep; unknown 'gpu'"
        in capsys.readouterr().err
    )
    assert set(SIZES) == {"tiny", "small", "medium", "large"}
    assert machine_info()["cores"] >= 1


def test_a_corpus_smaller_than_k_is_refused_before_out_is_created(tmp_path):
    with pytest.raises(ValueError, match="corpus must be >= 11"):
        run_suite("tiny", tmp_path / "b", overrides={"corpus": 10}, only=("dense",))
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("exc", [RuntimeError("kernel exploded"), KeyboardInterrupt()])
def test_a_failed_library_run_leaves_no_folder_it_made(tmp_path, monkeypatch, exc):
    """run_suite called from code (not the CLI): a run that fails or is interrupted
    after its output folder was created removes the folders it made, with what it
    wrote in them; a folder that existed before is kept."""
    import distillscope.scale.bench as bench

    def boom(*a, **k):
        raise exc

    monkeypatch.setattr(bench, "_bench_text", boom)
    target = tmp_path / "new" / "nested"
    with pytest.raises(type(exc)):
        run_suite("tiny", target, threads=[1], only=("dense", "text"), plot=False, echo=lambda s: None)
    assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(type(exc)):
        run_suite("tiny", kept, threads=[1], only=("text",), plot=False, echo=lambda s: None)
    assert kept.is_dir() and list(kept.iterdir()) == []
