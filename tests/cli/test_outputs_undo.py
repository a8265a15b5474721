"""Where ``undone_on_failure`` (bench / demo --out) keeps its copies: inside
the output folder, so a run killed outright (no cleanup runs) leaves the
earlier results beside the output instead of an anonymous
``distillscope-undo-*`` folder in the system temp folder; the next run on
that folder that ends removes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from distillscope.cli._outputs import UNDO_PREFIX, undone_on_failure

REPO = Path(__file__).resolve().parents[2]


def _temp_undo() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("distillscope-undo-*")}


def _kill_mid_write(out: Path) -> subprocess.CompletedProcess:
    code = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from distillscope.cli._outputs import undone_on_failure
        out = Path({str(out)!r})
        with undone_on_failure(out, ("bench.json", "bench.md")):
            (out / "bench.json").write_text("half of the new resu")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)


def test_a_hard_kill_leaves_the_copies_beside_the_output_and_the_next_run_removes_them(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "bench.json").write_text("old json\n")
    (out / "bench.md").write_text("old md\n")
    in_temp = _temp_undo()
    res = _kill_mid_write(out)
    assert res.returncode == -signal.SIGKILL, res
    assert _temp_undo() == in_temp  # nothing new in the system temp folder
    left = [p for p in out.iterdir() if p.name.startswith(UNDO_PREFIX)]
    assert len(left) == 1
    # the earlier results, intact, where the user looks
    assert sorted(p.read_text() for p in left[0].iterdir()) == ["old json\n", "old md\n"]
    assert (out / "bench.json").read_text() == "half of the new resu"

    # a run that fails keeps them (it leaves the folder as it found it)
    with pytest.raises(RuntimeError), undone_on_failure(out, ("bench.json",)):
        (out / "bench.json").write_text("another half")
        raise RuntimeError
    assert (out / "bench.json").read_text() == "half of the new resu"
    assert [p for p in out.iterdir() if p.name.startswith(UNDO_PREFIX)] == left

    # a run that ends removes them
    with undone_on_failure(out, ("bench.json", "bench.md")):
        (out / "bench.json").write_text("new json\n")
    assert sorted(p.name for p in out.iterdir()) == ["bench.json", "bench.md"]


def test_a_failed_run_leaves_no_copy_anywhere(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "bench.json").write_text("old json\n")
    mtime = out.stat().st_mtime_ns
    in_temp = _temp_undo()
    with pytest.raises(KeyboardInterrupt), undone_on_failure(out, ("bench.json",)):
        assert len([p for p in out.iterdir() if p.name.startswith(UNDO_PREFIX)]) == 1
        (out / "bench.json").write_text("new")
        (out / "bench.md").write_text("new")
        raise KeyboardInterrupt
    assert sorted(p.name for p in out.iterdir()) == ["bench.json"]
    assert (out / "bench.json").read_text() == "old json\n"
    assert out.stat().st_mtime_ns == mtime
    assert _temp_undo() == in_temp
