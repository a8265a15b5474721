"""The package type-checks cleanly under mypy with the project's [tool.mypy] config."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_clean(tmp_path: Path) -> None:
    """mypy runs in a child process, as on the command line: run in-process
    (mypy.api) it left its whole program graph in pytest's heap, and the
    interpreter's final garbage collection then took 65-120 s after the summary."""
    import subprocess
    import sys

    pytest.importorskip("mypy.api")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            # keep the cache out of the checkout
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--no-error-summary",
            "--show-error-codes",
            str(ROOT / "python" / "distillscope"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"mypy found type errors:\n{proc.stdout}{proc.stderr}"


@pytest.mark.slow
def test_core_stub_matches_the_built_module() -> None:
    """``_core.pyi`` (hand-written) against the compiled ``_core`` (mypy.stubtest)."""
    import subprocess
    import sys

    pytest.importorskip("mypy.stubtest")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "distillscope._core"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"_core.pyi disagrees with the built module:\n{proc.stdout}{proc.stderr}"
