"""Helpers of the CLI catalogue tests (tests/cli/test_catalogue_*.py): run
``distillscope`` in-process and check the contract every command keeps on
bad input. The ``cli_run`` fixture is in this folder's conftest.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from distillscope import cli


class CliResult:
    def __init__(self, rc: int, out: str, err: str) -> None:
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self) -> str:
        return f"CliResult(rc={self.rc}, err={self.err[-500:]!r})"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> CliResult:
    """``distillscope ARGV`` in this process; argparse's own usage errors
    (SystemExit) count as exit codes."""
    capsys.readouterr()
    try:
        rc = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 2
    cap = capsys.readouterr()
    return CliResult(rc, cap.out, cap.err)


def assert_clean_failure(res: CliResult, *, code: int = 2, mentions: tuple[str, ...] = ()) -> None:
    """A failure a user can act on: the exit code, no traceback, one line
    on stderr that says `error:` (argparse's usage block ends in one too)."""
    assert res.rc == code, res
    assert "Traceback" not in res.err and "Traceback" not in res.out, res
    assert "internal error" not in res.err, res
    last = res.err.strip().splitlines()[-1] if res.err.strip() else ""
    assert "error:" in last, res
    for m in mentions:
        assert m.lower() in res.err.lower(), (m, res)


def assert_no_traceback(res: CliResult) -> None:
    assert res.rc in (0, 1, 2), res
    assert "Traceback" not in res.err + res.out and "internal error" not in res.err, res


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
