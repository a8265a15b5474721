"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest
from catalogue_support import run_cli


@pytest.fixture
def cli_run(capsys):
    """``cli_run(argv)``: run ``distillscope ARGV`` in this process -> CliResult."""
    return lambda argv: run_cli(argv, capsys)
