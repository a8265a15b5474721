"""score-pairs checkpoints around a failing run, with real files.

* A failing command leaves an earlier checkpoint as it was, byte for byte
  (``--no-resume`` used to clear it before the first chunk was scored, so a
  bad row in that chunk lost it).
* The chunks a run recorded before a bad row stay resumable once the row is
  fixed: for JSONL the checkpoint keeps the SHA-256 of the bytes of every
  recorded chunk, so editing the file further on (which changes its size and
  time) no longer makes the checkpoint "another run's". Editing a recorded
  chunk resumes from the last chunk before it; a changed Parquet input is
  refused (it is rewritten as a whole when fixed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalogue_support import assert_clean_failure, run_cli

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.timeout(120)

N = 40
CHUNK = 10


@pytest.fixture
def cli_run(capsys):
    return lambda argv: run_cli(argv, capsys)


def _rows(bad: int | None = None, edit: int | None = None) -> list[dict]:
    rows = [{"candidate": f"a b c {i}", "reference": f"a b {i} d", "id": i} for i in range(N)]
    if bad is not None:
        del rows[bad]["reference"]
    if edit is not None:
        rows[edit]["candidate"] += " edited"
    return rows


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _argv(src: Path, out: Path, *extra: str) -> list[str]:
    return [
        "score-pairs",
        str(src),
        "--out",
        str(out),
        "--metrics",
        "rouge1,chrf",
        "--chunk-size",
        str(CHUNK),
        "--keep",
        "id",
        "--workers",
        "1",
        "--no-progress",
        "--format",
        "json",
        *extra,
    ]


def _one_line(res) -> str:
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, res
    return lines[0]


def _fresh(tmp_path: Path, rows: list[dict]) -> pa.Table:
    """The table an uninterrupted run on ``rows`` writes."""
    ref = tmp_path / "reference-run"
    ref.mkdir()
    _write(ref / "p.jsonl", rows)
    from distillscope.scale.scoring import score_pairs

    score_pairs(ref / "p.jsonl", ref / "o.parquet", "rouge1,chrf", chunk_size=CHUNK, keep=["id"])
    return pq.read_table(ref / "o.parquet")


def _checkpoint_after_one_chunk(work: Path) -> None:
    from distillscope.scale.scoring import score_pairs

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_pairs(work / "p.jsonl", work / "o.parquet", "rouge1,chrf", chunk_size=CHUNK, keep=["id"], on_chunk=stop)
    assert json.loads((work / "o.parquet.progress.json").read_text())["rows_done"] == CHUNK


@pytest.mark.parametrize("extra", [["--no-resume"], []], ids=["no-resume", "resume"])
def test_a_bad_row_in_the_first_chunk_leaves_the_earlier_checkpoint(tmp_path, cli_run, extra):
    work = tmp_path / "w"
    work.mkdir()
    _write(work / "p.jsonl", _rows())
    _checkpoint_after_one_chunk(work)
    # the input now has a bad row inside the first chunk (with resume, the
    # recorded chunk's bytes changed too, so that run also starts over)
    _write(work / "p.jsonl", _rows(bad=3))
    before = _files(work)
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet", *extra))
    assert_clean_failure(res, mentions=("row 3", "no 'reference' field"))
    assert "checkpointed" not in _one_line(res)  # nothing of this run's to resume
    assert _files(work) == before  # the earlier checkpoint, byte for byte, and nothing else
    # the original input back: the earlier checkpoint resumes where it was
    _write(work / "p.jsonl", _rows())
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet"))
    assert res.rc == 0, res
    assert json.loads(res.out)["resumed_from"] == CHUNK
    assert pq.read_table(work / "o.parquet").equals(_fresh(tmp_path, _rows()))
    assert sorted(p.name for p in work.iterdir()) == ["o.parquet", "p.jsonl"]


def test_a_bad_row_past_the_first_chunk_resumes_after_the_fix(tmp_path, cli_run):
    work = tmp_path / "w"
    work.mkdir()
    _write(work / "p.jsonl", _rows(bad=25))
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet"))
    assert_clean_failure(res, mentions=("row 25", "no 'reference' field", "resumes at row 20"))
    _one_line(res)
    state = json.loads((work / "o.parquet.progress.json").read_text())
    assert state["rows_done"] == 20 and len(state["parts"]) == 2
    kept = _files(work)
    # a rerun on the unfixed file fails the same way and changes nothing
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet"))
    assert_clean_failure(res, mentions=("row 25", "resumes at row 20"))
    assert _files(work) == kept
    # fixed (size and time change, the first 20 rows' bytes do not): resumes at row 20
    _write(work / "p.jsonl", _rows())
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet"))
    assert res.rc == 0, res
    assert json.loads(res.out)["resumed_from"] == 20
    assert pq.read_table(work / "o.parquet").equals(_fresh(tmp_path, _rows()))
    assert sorted(p.name for p in work.iterdir()) == ["o.parquet", "p.jsonl"]


@pytest.mark.parametrize(("edit", "resumed"), [(15, 10), (5, 0)])
def test_an_edit_inside_the_recorded_chunks_resumes_before_it(tmp_path, cli_run, edit, resumed):
    work = tmp_path / "w"
    work.mkdir()
    _write(work / "p.jsonl", _rows(bad=25))
    assert cli_run(_argv(work / "p.jsonl", work / "o.parquet")).rc == 2
    fixed = _rows(edit=edit)
    _write(work / "p.jsonl", fixed)
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet"))
    assert res.rc == 0, res
    assert json.loads(res.out)["resumed_from"] == resumed  # the chunk holding the edit is scored again
    assert pq.read_table(work / "o.parquet").equals(_fresh(tmp_path, fixed))
    assert sorted(p.name for p in work.iterdir()) == ["o.parquet", "p.jsonl"]


def test_no_resume_replaces_the_earlier_checkpoint_once_it_records_a_chunk(tmp_path, cli_run):
    """--no-resume starts over: the earlier checkpoint stays until the new run
    records its first chunk, then the new run's chunks are the checkpoint (a
    run that fails further on is resumable from them, like any other)."""
    work = tmp_path / "w"
    work.mkdir()
    _write(work / "p.jsonl", _rows())
    _checkpoint_after_one_chunk(work)
    old_part = (work / "o.parquet.parts" / "part-000000000000.parquet").read_bytes()
    _write(work / "p.jsonl", _rows(bad=25, edit=0))
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet", "--no-resume"))
    assert_clean_failure(res, mentions=("row 25", "resumes at row 20"))
    state = json.loads((work / "o.parquet.progress.json").read_text())
    assert state["rows_done"] == 20
    assert sorted(p.name for p in (work / "o.parquet.parts").iterdir()) == sorted(state["parts"])
    assert (work / "o.parquet.parts" / state["parts"][0]).read_bytes() != old_part  # the edited row 0 is in it
    fixed = _rows(edit=0)
    _write(work / "p.jsonl", fixed)
    res = cli_run(_argv(work / "p.jsonl", work / "o.parquet"))
    assert res.rc == 0, res
    assert json.loads(res.out)["resumed_from"] == 20
    assert pq.read_table(work / "o.parquet").equals(_fresh(tmp_path, fixed))
    assert sorted(p.name for p in work.iterdir()) == ["o.parquet", "p.jsonl"]


def test_a_changed_parquet_input_is_refused_and_its_checkpoint_kept(tmp_path, cli_run):
    work = tmp_path / "w"
    work.mkdir()
    rows = _rows()
    pq.write_table(pa.Table.from_pylist(rows), work / "p.parquet")
    from distillscope.scale.scoring import score_pairs

    def stop(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_pairs(work / "p.parquet", work / "o.parquet", "rouge1,chrf", chunk_size=CHUNK, keep=["id"], on_chunk=stop)
    rows[30]["candidate"] += " edited"
    pq.write_table(pa.Table.from_pylist(rows), work / "p.parquet")
    # a part torn by a kill: a resume drops it, a refused one does not even do that
    (work / "o.parquet.parts" / "part-000000000010.parquet.tmp").write_bytes(b"torn")
    before = _files(work)
    res = cli_run(_argv(work / "p.parquet", work / "o.parquet"))
    assert_clean_failure(res, mentions=("changed since", "--no-resume"))
    _one_line(res)
    assert _files(work) == before
    res = cli_run(_argv(work / "p.parquet", work / "o.parquet", "--no-resume"))
    assert res.rc == 0, res
    assert json.loads(res.out)["resumed_from"] == 0
    assert sorted(p.name for p in work.iterdir()) == ["o.parquet", "p.parquet"]
