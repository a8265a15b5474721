"""The command-line shell: every command is wired, exit codes scripts can trust."""

from __future__ import annotations

import json

import pytest

from distillscope.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"distillscope {command}" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert "commands:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["score"])  # missing FILES
    assert exc.value.code == 2
    assert main(["score", "/nonexistent/file.jsonl", "--encoder", "none"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_capabilities_json(capsys):
    assert main(["capabilities", "--format", "json"]) == 0
    caps = json.loads(capsys.readouterr().out)
    assert caps["isa"] in caps["available"]
