"""Streaming pair scoring: chunk/format/worker independence, checkpoint + SIGKILL resume, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import distillscope as ds  # noqa: E402
from distillscope.cli import main  # noqa: E402
from distillscope.scale.benchdata import make_pairs, write_embeddings, write_pairs  # noqa: E402
from distillscope.scale.embeddings import Embeddings  # noqa: E402
from distillscope.scale.pairio import count_pairs, iter_pair_chunks, jsonl_chunk_offsets  # noqa: E402
from distillscope.scale.scoring import score_batch, score_pairs  # noqa: E402

METRICS = "rouge1,rouge2,rougeL,chrf,bleu,cosine"
N = 700


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs")
    rates = write_pairs(d / "p.parquet", N, min_words=5, max_words=60, seed=1, chunk=300)
    write_pairs(d / "p.jsonl", N, min_words=5, max_words=60, seed=1, chunk=300)
    write_embeddings(d / "a.npy", d / "b.npy", rates, dim=24, seed=2, chunk=256)
    tbl = pq.read_table(d / "p.parquet")
    return {
        "dir": d,
        "cands": tbl.column("candidate").to_pylist(),
        "refs": tbl.column("reference").to_pylist(),
        "a": np.load(d / "a.npy"),
        "b": np.load(d / "b.npy"),
    }


@pytest.fixture(scope="module")
def expected(data):
    """The whole file scored in one in-memory batch: the oracle for every streamed run."""
    lex = ds.lexical_scores(data["cands"], data["refs"], ("rouge1", "rouge2", "rougeL", "chrf", "bleu"))
    lex["cosine"] = ds.cosine_paired(data["a"], data["b"])
    return lex


def _check(out: Path, expected: dict, n: int = N) -> pa.Table:
    t = pq.read_table(out)
    assert t.num_rows == n
    assert np.array_equal(t.column("row").to_numpy(), np.arange(n))
    for k, v in expected.items():
        assert np.array_equal(t.column(k).to_numpy(), v[:n]), k
    return t


@pytest.mark.parametrize(
    "fmt,chunk,workers",
    [
        ("parquet", 3, 1),
        ("jsonl", 64, 2),
        ("parquet", 64, 2),
        ("jsonl", 333, 1),
        ("parquet", 10_000, -1),
        ("jsonl", 10_000, -1),
    ],
)
def test_results_independent_of_chunk_format_workers(data, expected, tmp_path, fmt, chunk, workers):
    d = data["dir"]
    src = d / f"p.{fmt}"
    s = score_pairs(
        src,
        tmp_path / "o.parquet",
        METRICS,
        emb_a=d / "a.npy",
        emb_b=d / "b.npy",
        chunk_size=chunk,
        workers=workers,
        keep=["id"],
    )
    assert s.rows == N and s.resumed_from == 0 and s.chunks == -(-N // chunk)
    t = _check(tmp_path / "o.parquet", expected)
    assert t.column("id").to_pylist() == list(range(N))
    assert t.column_names[:3] == ["row", "id", "rouge1"]
    assert t.schema.field("cosine").type == pa.float32()
    # no checkpoint leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet"]


def test_score_batch_matches_single_metric_functions(data):
    c, r = data["cands"][:50], data["refs"][:50]
    got = score_batch(c, r, ["rouge1", "rougeL", "chrf"])
    rs = ds.rouge_scores(c, r, rouge_types=("rouge1", "rougeL"))
    assert np.array_equal(got["rouge1"], rs["rouge1"].fmeasure)
    assert np.array_equal(got["rougeL_recall"], rs["rougeL"].recall)
    assert np.array_equal(got["chrf"], ds.chrf_scores(c, r).score)
    empty = score_batch([], [], "rouge1,chrf")
    assert set(empty) == {"rouge1", "rouge1_precision", "rouge1_recall", "chrf"}
    assert all(len(v) == 0 for v in empty.values())


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_iter_pair_chunks_ranges(data, fmt):
    src = data["dir"] / f"p.{fmt}"
    chunks = list(iter_pair_chunks(src, chunk_size=128))
    assert [c.start for c in chunks] == list(range(0, N, 128))
    assert sum(len(c) for c in chunks) == N
    assert [x for c in chunks for x in c.candidates] == data["cands"]
    part = list(iter_pair_chunks(src, chunk_size=50, start_row=130, stop_row=260))
    assert part[0].start == 130 and sum(len(c) for c in part) == 130
    assert [x for c in part for x in c.references] == data["refs"][130:260]
    if fmt == "jsonl":
        # a chunk's next_offset is a seek target equivalent to scanning
        resumed = next(iter_pair_chunks(src, chunk_size=10, start_row=128, start_offset=chunks[0].next_offset))
        assert resumed.candidates == data["cands"][128:138]
        offs = jsonl_chunk_offsets(src, 128)
        assert [o[0] for o in offs] == [c.start for c in chunks]
        assert offs[1][2] == chunks[0].next_offset
    assert count_pairs(src) == N


def test_jsonl_blank_lines_unicode_and_keep(tmp_path):
    p = tmp_path / "x.jsonl"
    rows = [
        {"candidate": "Der Hund läuft.", "reference": "der hund lief", "model": "m1"},
        {"candidate": "模型蒸馏", "reference": "模型蒸馏了", "model": "m2"},
        {"candidate": "", "reference": "", "model": None},
    ]
    p.write_text(
        "\n"
        + json.dumps(rows[0], ensure_ascii=False)
        + "\n  \n"
        + json.dumps(rows[1])
        + "\n"
        + json.dumps(rows[2])
        + "\n\n",
        encoding="utf-8",
    )
    s = score_pairs(p, tmp_path / "o.parquet", "rouge1,chrf", keep=["model"], chunk_size=2)
    t = pq.read_table(tmp_path / "o.parquet")
    assert s.rows == 3 and t.column("model").to_pylist() == ["m1", "m2", None]
    want = ds.lexical_scores([r["candidate"] for r in rows], [r["reference"] for r in rows], ("rouge1", "chrf"))
    assert np.array_equal(t.column("rouge1").to_numpy(), want["rouge1"])
    assert np.array_equal(t.column("chrf").to_numpy(), want["chrf"])


def test_empty_input_gives_empty_table_with_schema(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text("\n")
    s = score_pairs(p, tmp_path / "o.parquet", "rouge1,chrf")
    t = pq.read_table(tmp_path / "o.parquet")
    assert s.rows == 0 and t.num_rows == 0
    assert t.column_names == ["row", "rouge1", "rouge1_precision", "rouge1_recall", "chrf"]


def _progress(out: Path) -> dict:
    try:
        return json.loads(out.with_name(out.name + ".progress.json").read_text())
    except (OSError, ValueError):
        return {}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_sigkill_mid_run_then_resume_equals_uninterrupted(data, expected, tmp_path, fmt):
    """A real SIGKILL of the CLI mid-run; the resumed output equals an uninterrupted run."""
    d = data["dir"]
    out = tmp_path / "o.parquet"
    cmd = [
        sys.executable,
        "-m",
        "distillscope",
        "score-pairs",
        str(d / f"p.{fmt}"),
        "--metrics",
        METRICS,
        "--emb-a",
        str(d / "a.npy"),
        "--emb-b",
        str(d / "b.npy"),
        "--out",
        str(out),
        "--chunk-size",
        "3",
        "--workers",
        "1",
        "--no-progress",
    ]
    killed_at = None
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            done = _progress(out).get("rows_done", 0)
            if done >= 70:
                proc.send_signal(signal.SIGKILL)
                killed_at = done
                break
            time.sleep(0.005)
        _, err = proc.communicate(timeout=60)
    assert killed_at is not None, f"the run finished before it could be killed: {err!r}"
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    state = _progress(out)
    assert 70 <= state["rows_done"] < N
    # resume with another chunk size and more workers: continues, does not restart
    s = score_pairs(d / f"p.{fmt}", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=128, workers=2)
    assert s.resumed_from == state["rows_done"]
    assert s.rows == N
    _check(out, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet"]


def test_killed_while_finalizing_resumes(data, expected, tmp_path):
    """All parts recorded, the final concatenation interrupted: a rerun only concatenates."""
    d = data["dir"]
    out = tmp_path / "o.parquet"

    def stop(done: int) -> None:
        if done == N:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_pairs(d / "p.jsonl", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=300, on_chunk=stop)
    (tmp_path / "o.parquet.tmp4242").write_bytes(b"half-written output of a killed run")
    s = score_pairs(d / "p.jsonl", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=300)
    assert s.resumed_from == N and s.chunks == 0
    _check(out, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.parquet"]


def test_stray_part_after_last_progress_is_recomputed(data, expected, tmp_path):
    d = data["dir"]
    out = tmp_path / "o.parquet"
    stop_after = 3

    class Stop(Exception):
        pass

    def on_chunk(done: int) -> None:
        if done >= stop_after * 100:
            raise Stop

    with pytest.raises(Stop):
        score_pairs(
            d / "p.parquet", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=100, on_chunk=on_chunk
        )
    parts = out.with_name(out.name + ".parts")
    assert sorted(p.name for p in parts.iterdir()) == [f"part-{i * 100:012d}.parquet" for i in range(3)]
    # a part that was renamed into place but never recorded (killed before the progress update), and a temp file
    garbage = pq.read_table(parts / "part-000000000000.parquet")
    pq.write_table(garbage, parts / "part-000000000300.parquet")
    (parts / "part-000000000400.parquet.tmp").write_bytes(b"torn")
    s = score_pairs(d / "p.parquet", out, METRICS, emb_a=d / "a.npy", emb_b=d / "b.npy", chunk_size=100)
    assert s.resumed_from == 300
    _check(out, expected)


def test_resume_refuses_other_settings_and_no_resume_restarts(data, tmp_path):
    d = data["dir"]
    out = tmp_path / "o.parquet"

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_pairs(d / "p.parquet", out, "rouge1", chunk_size=100, on_chunk=stop)
    with pytest.raises(ValueError, match="--no-resume"):
        score_pairs(d / "p.parquet", out, "rouge2", chunk_size=100)
    s = score_pairs(d / "p.parquet", out, "rouge2", chunk_size=100, resume=False)
    assert s.resumed_from == 0 and s.rows == N


def test_embeddings_memory_map_and_release(data, tmp_path):
    d = data["dir"]
    with Embeddings(d / "a.npy") as e:
        assert e.shape == (N, 24)
        v = e.rows(10, 20)
        assert not v.flags.writeable
        assert np.array_equal(v, data["a"][10:20])
        del v
        e.prefetch(0, N)
        e.prefetch(N - 3, N + 100)  # clipped at the end, no error
        e.prefetch(N, N + 5)
        e.release(N)  # drops resident pages; rows stay readable from the page cache
        assert np.array_equal(e.rows(0, 5), data["a"][:5])
        with pytest.raises(ValueError, match="one row per pair"):
            e.rows(N - 1, N + 1)
    np.save(tmp_path / "f64.npy", np.zeros((3, 4)))
    with pytest.raises(TypeError, match="astype"):
        Embeddings(tmp_path / "f64.npy")
    np.save(tmp_path / "v.npy", np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="2-D"):
        Embeddings(tmp_path / "v.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(ValueError, match="np.save"):
        Embeddings(tmp_path / "junk.npy")
    f16 = tmp_path / "h.npy"
    np.save(f16, data["a"][:8].astype(np.float16))
    with Embeddings(f16) as e:
        assert e.dtype == np.float16 and np.array_equal(e.rows(0, 8), data["a"][:8].astype(np.float16))


def test_bad_inputs_name_the_fix(data, tmp_path):
    d = data["dir"]
    out = tmp_path / "o.parquet"
    with pytest.raises(ValueError, match="--emb-a"):
        score_pairs(d / "p.parquet", out, "rouge1,cosine")
    with pytest.raises(ValueError, match="not in metrics"):
        score_pairs(d / "p.parquet", out, "rouge1", emb_a=d / "a.npy", emb_b=d / "b.npy")
    with pytest.raises(ValueError, match="unknown metric"):
        score_pairs(d / "p.parquet", out, "rouge1,meteor")
    with pytest.raises(ValueError, match=".parquet"):
        score_pairs(d / "p.parquet", tmp_path / "o.csv", "rouge1")
    with pytest.raises(FileNotFoundError):
        score_pairs(tmp_path / "missing.jsonl", out, "rouge1")
    with pytest.raises(ValueError, match="chunk_size"):
        score_pairs(d / "p.parquet", out, "rouge1", chunk_size=0)
    np.save(tmp_path / "short.npy", data["a"][:10])
    with pytest.raises(ValueError, match="one row per pair"):
        score_pairs(d / "p.parquet", out, "cosine", emb_a=tmp_path / "short.npy", emb_b=tmp_path / "short.npy")
    with pytest.raises(ValueError, match="one row per pair"):
        score_pairs(d / "p.jsonl", out, "cosine", emb_a=tmp_path / "short.npy", emb_b=tmp_path / "short.npy")
    assert not out.exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"candidate": "a", "reference": "b"}\n{"candidate": "a"\n')
    with pytest.raises(ValueError, match="row 1 .* not valid JSON"):
        score_pairs(bad, out, "rouge1", resume=False)
    bad.write_text('{"candidate": "a", "reference": "b"}\n{"candidate": 3, "reference": "b"}\n')
    with pytest.raises(ValueError, match="row 1: 'candidate' must be a string"):
        score_pairs(bad, out, "rouge1", resume=False)
    bad.write_text('{"candidate": "a", "ref": "b"}\n')
    with pytest.raises(ValueError, match="no 'reference' field"):
        score_pairs(bad, out, "rouge1", resume=False)
    pq.write_table(pa.table({"candidate": ["a", None], "reference": ["b", "c"]}), tmp_path / "n.parquet")
    with pytest.raises(ValueError, match="row 1: 'candidate' is null"):
        score_pairs(tmp_path / "n.parquet", out, "rouge1", resume=False)
    pq.write_table(pa.table({"cand": ["a"], "reference": ["b"]}), tmp_path / "c.parquet")
    with pytest.raises(ValueError, match="no column"):
        score_pairs(tmp_path / "c.parquet", out, "rouge1", resume=False)
    pq.write_table(pa.table({"candidate": [1], "reference": ["b"]}), tmp_path / "t.parquet")
    with pytest.raises(TypeError, match="strings"):
        score_pairs(tmp_path / "t.parquet", out, "rouge1", resume=False)


def test_cli_score_pairs(data, expected, tmp_path, capsys):
    d = data["dir"]
    out = tmp_path / "cli.parquet"
    rc = main(
        [
            "score-pairs",
            str(d / "p.jsonl"),
            "--metrics",
            "rouge1,rouge2,rougeL,chrf,cosine",
            "--emb-a",
            str(d / "a.npy"),
            "--emb-b",
            str(d / "b.npy"),
            "--out",
            str(out),
            "--chunk-size",
            "256",
            "--format",
            "json",
            "--keep",
            "id",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == N and "cosine" in summary["columns"] and "id" in summary["columns"]
    t = pq.read_table(out)
    for k in ("rouge1", "rouge2", "rougeL", "chrf", "cosine"):
        assert np.array_equal(t.column(k).to_numpy(), expected[k])
    rc = main(["score-pairs", str(d / "p.jsonl"), "--metrics", "cosine", "--out", str(out)])
    assert rc == 2
    assert "--emb-a" in capsys.readouterr().err


def test_cli_score_pairs_cosine_alone(data, expected, tmp_path, capsys):
    # every chunk was scored, then building the empty table's schema asked
    # for lexical columns of no metric: "metrics must name at least one",
    # exit 2, and a checkpoint left behind that the next run refused
    d = data["dir"]
    out = tmp_path / "cos.parquet"
    argv = ["score-pairs", str(d / "p.jsonl"), "--metrics", "cosine", "--out", str(out)]
    rc = main([*argv, "--emb-a", str(d / "a.npy"), "--emb-b", str(d / "b.npy"), "--chunk-size", "256"])
    assert rc == 0, capsys.readouterr().err
    t = pq.read_table(out)
    assert t.column_names == ["row", "cosine"]
    assert np.array_equal(t.column("cosine").to_numpy(), expected["cosine"])


def test_generated_pairs_shape_and_determinism(tmp_path):
    t = make_pairs(300, seed=5)
    words = [len(s.split()) for s in t.column("candidate").to_pylist()]
    assert min(words) >= 50 and max(words) <= 300
    words = [len(s.split()) for s in t.column("reference").to_pylist()]
    assert min(words) >= 50 and max(words) <= 300
    assert make_pairs(300, seed=5).equals(t)
    assert not make_pairs(300, seed=6).equals(t)
    r = ds.rouge_scores(t.column("candidate").to_pylist(), t.column("reference").to_pylist(), rouge_types=("rouge1",))
    # the rewrite rate drives the overlap: scores span the range and follow the rate
    rate = t.column("rate").to_numpy()
    assert np.corrcoef(rate, r["rouge1"].recall)[0, 1] < -0.5
    rates = write_pairs(tmp_path / "g.jsonl", 40, chunk=15, seed=2)
    write_pairs(tmp_path / "g.parquet", 40, chunk=15, seed=2)
    write_embeddings(tmp_path / "a.npy", tmp_path / "b.npy", rates, dim=32)
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert np.allclose(ds.cosine_paired(a, b), 1 - rates, atol=1e-5)
    lines = [json.loads(x) for x in (tmp_path / "g.jsonl").read_text().splitlines()]
    assert [x["candidate"] for x in lines] == pq.read_table(tmp_path / "g.parquet").column("candidate").to_pylist()
    assert os.path.getsize(tmp_path / "a.npy") > 40 * 32 * 4


def test_a_failed_run_leaves_no_checkpoint_of_its_own(data, tmp_path):
    """A run refused on its first row, or failing before its first chunk is
    recorded, removes the ``.parts`` folder (and the folders of ``out``) it
    created; once a chunk is recorded the checkpoint stays for the resume."""
    d = data["dir"]
    out = tmp_path / "new" / "deeper" / "o.parquet"
    with pytest.raises(ValueError, match="no column"):
        score_pairs(d / "p.parquet", out, "rouge1", columns=("nope", "reference"))
    with pytest.raises(ValueError, match="no 'nope' field"):
        score_pairs(d / "p.jsonl", out, "rouge1", columns=("candidate", "nope"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"candidate": "a", "reference": "b"}\n{"candidate": "a"}\n')
    with pytest.raises(ValueError, match="row 1 .* no 'reference' field"):
        score_pairs(bad, out, "rouge1")  # fails inside the first chunk, before it is recorded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]
    with pytest.raises(ValueError, match="row 1 .* no 'reference' field"):
        score_pairs(bad, tmp_path / "o.parquet", "rouge1", chunk_size=1)  # row 0 recorded: resumable
    assert (tmp_path / "o.parquet.progress.json").is_file()
    assert [p.name for p in (tmp_path / "o.parquet.parts").iterdir()] == ["part-000000000000.parquet"]


def _refused(argv: list, capsys) -> str:
    """``distillscope ARGV`` exits 2 with one line, no traceback: that line."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0], err
    return lines[0]


PAIR = {"candidate": "a b c", "reference": "a b d"}
# --keep of a JSONL field whose values pyarrow cannot put in one column: each
# was an internal ArrowInvalid
MIXED_KEEP = {
    "int-and-str": [1, "two"],
    "dict-and-list": [{"x": [1]}, [1, 2]],
    "list-of-mixed": [[1, "a"], [2]],
}


@pytest.mark.parametrize("name", sorted(MIXED_KEEP))
def test_cli_keep_of_mixed_types_is_refused_naming_the_column(name, tmp_path, capsys):
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({**PAIR, "id": v}) + "\n" for v in MIXED_KEEP[name]))
    line = _refused(
        ["score-pairs", src, "--out", tmp_path / "o.parquet", "--metrics", "rouge1", "--keep", "id"], capsys
    )
    assert "'id'" in line and "different types" in line and "one type" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]  # no checkpoint left behind


def test_cli_keep_repeated_keeps_the_column_once(tmp_path, capsys):
    # "Column 1 named id expected length 1 but got length 2": an internal error
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({**PAIR, "id": 7}) + "\n")
    out = tmp_path / "o.parquet"
    assert main(["score-pairs", str(src), "--out", str(out), "--metrics", "rouge1", "--keep", "id,id"]) == 0
    t = pq.read_table(out)
    assert t.column_names.count("id") == 1 and t.column("id").to_pylist() == [7]


@pytest.mark.parametrize("data", [b"PAR1 this is not parquet", b""], ids=["junk", "empty"])
def test_cli_junk_parquet_input_is_refused_naming_it(data, tmp_path, capsys):
    src = tmp_path / "p.parquet"
    src.write_bytes(data)
    line = _refused(["score-pairs", src, "--out", tmp_path / "o.parquet"], capsys)
    assert "p.parquet" in line and "not a readable Parquet file" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"] and src.read_bytes() == data


@pytest.mark.parametrize("sidecar", ["[1, 2]", "42", '"text"', "[]"])
def test_cli_progress_sidecar_of_the_wrong_type_starts_over(sidecar, tmp_path, capsys):
    # valid JSON that is no object: "'list' object has no attribute 'get'"
    # (an invalid-JSON sidecar already counted as unreadable: start over)
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps(PAIR) + "\n")
    out = tmp_path / "o.parquet"
    (tmp_path / "o.parquet.progress.json").write_text(sidecar)
    assert main(["score-pairs", str(src), "--out", str(out), "--metrics", "rouge1"]) == 0, capsys.readouterr().err
    assert pq.read_table(out).num_rows == 1


def test_cli_jsonl_input_with_a_bom_is_read(tmp_path, capsys):
    # refused as "byte order mark (BOM) is not supported"; every other loader takes it
    src = tmp_path / "p.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + (json.dumps({**PAIR, "id": 1}) + "\n" + json.dumps({**PAIR, "id": 2})).encode())
    out = tmp_path / "o.parquet"
    argv = ["score-pairs", str(src), "--out", str(out), "--metrics", "rouge1", "--keep", "id", "--chunk-size", "1"]
    assert main(argv) == 0, capsys.readouterr().err
    t = pq.read_table(out)
    assert t.column("id").to_pylist() == [1, 2] and t.column("rouge1").to_pylist()[0] == pytest.approx(2 / 3)


def test_cli_input_that_is_a_folder_is_called_a_folder(tmp_path, capsys):
    (tmp_path / "pairs.jsonl").mkdir()
    line = _refused(["score-pairs", tmp_path / "pairs.jsonl", "--out", tmp_path / "o.parquet"], capsys)
    assert "is a folder" in line and "does not exist" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pairs.jsonl"]
    with pytest.raises(IsADirectoryError, match="folder"):
        score_pairs(tmp_path / "pairs.jsonl", tmp_path / "o.parquet", "rouge1")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("address", ["notaurl", "tcp://host:notaport", "foo://x:1", "tcp://"])
def test_cli_scheduler_address_that_cannot_be_parsed_fails_fast(address, tmp_path, capsys):
    pytest.importorskip("distributed")
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps(PAIR) + "\n")
    t0 = time.perf_counter()
    line = _refused(["score-pairs", src, "--out", tmp_path / "o.parquet", "--scheduler", address], capsys)
    assert time.perf_counter() - t0 < 10  # "notaurl" ran past 60 s
    assert "--scheduler" in line and "tcp://host:8786" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]


@pytest.mark.timeout(30)
def test_cli_scheduler_that_does_not_answer_fails_after_the_connect_timeout(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    import socket

    import distillscope.scale.remote as remote

    monkeypatch.setattr(remote, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps(PAIR) + "\n")
    t0 = time.perf_counter()
    line = _refused(
        ["score-pairs", src, "--out", tmp_path / "o.parquet", "--scheduler", f"tcp://127.0.0.1:{port}"], capsys
    )
    assert time.perf_counter() - t0 < 15  # Dask's default was 30 s
    assert "no Dask scheduler answered" in line and "within 1 s" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl"]
