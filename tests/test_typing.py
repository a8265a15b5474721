"""The package type-checks cleanly under mypy with the project's [tool.mypy] config."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_clean(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    stdout, stderr, status = api.run(
        [
            "--config-file", str(ROOT / "pyproject.toml"),
            # keep the cache out of the checkout
            "--cache-dir", str(tmp_path / "mypy_cache"),
            "--no-error-summary",
            "--show-error-codes",
            str(ROOT / "python" / "distillscope"),
        ]
    )
    assert status == 0, f"mypy found type errors:\n{stdout}{stderr}"
