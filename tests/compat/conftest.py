"""Shared corpora for the peer-parity tests: real model answers from ../shared/data
(AlpacaEval outputs of three models on the same prompts) plus edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
# ../shared/data beside the repository (a worktree sits one level deeper)
DATA = next(
    (
        p
        for p in (
            _REPO.parent / "shared" / "data" / "alpaca_eval",
            _REPO.parent.parent / "shared" / "data" / "alpaca_eval",
        )
        if p.is_dir()
    ),
    _REPO.parent / "shared" / "data" / "alpaca_eval",
)

EDGE_HYPS = ["", "   ", "same text here.", "a a a a a", "Hello, World! 3.14 &amp; e.g. <skipped>", "中文 日本語", "x"]
EDGE_REFS = ["", "reference only", "same text here.", "a", "hello world 3.14 & e.g.", "中文", ""]


def _outputs(name: str, n: int) -> list[str]:
    path = DATA / f"{name}.json"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return [row["output"] for row in json.loads(path.read_text(encoding="utf-8"))][:n]


@pytest.fixture(scope="session")
def corpus() -> tuple[list[str], list[str], list[str]]:
    """(hypotheses, references, second references): 100 real answers + edge cases."""
    n = 100
    h = _outputs("zephyr-7b-beta", n) + EDGE_HYPS
    r = _outputs("gpt4_1106_preview", n) + EDGE_REFS
    r2 = _outputs("Yi-34B-Chat", n) + EDGE_HYPS[::-1]
    return h, r, r2
