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


# ----------------------------------------------------------------- exit codes
@pytest.mark.parametrize(
    "raised, code, message",
    [
        (None, 0, None),
        ("kernel-check", 2, "error: "),
        (FileNotFoundError(2, "No such file or directory", "/x.jsonl"), 2, "error: [Errno 2] No such file"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (KeyError("oops"), 1, "internal error: KeyError: 'oops' (a bug in distillscope; rerun with --debug"),
    ],
)
def test_exit_code_table(monkeypatch, capsys, raised, code, message):
    from distillscope.cli import analysis

    def run_score(args):
        if raised == "kernel-check":  # a ValueError from distillscope's own argument checks
            import numpy as np

            from distillscope import cosine_paired

            cosine_paired(np.zeros((2, 3), np.float32), np.zeros((3, 3), np.float32))
        elif raised is not None:
            raise raised
        return 0

    monkeypatch.setattr(analysis, "run_score", run_score)
    assert main(["score", "x.jsonl"]) == code
    err = capsys.readouterr().err
    if message is None:
        assert err == ""
    else:
        assert message in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_type_error_from_a_library_is_a_bug_not_a_usage_error(monkeypatch, capsys):
    from distillscope.cli import analysis

    def run_score(args):
        return sorted([1, "a"])  # TypeError raised inside Python, not by our checks

    monkeypatch.setattr(analysis, "run_score", run_score)
    assert main(["score", "x.jsonl"]) == 1
    assert "internal error: TypeError" in capsys.readouterr().err


def test_debug_shows_the_traceback(monkeypatch):
    from distillscope.cli import analysis

    def run_score(args):
        raise KeyError("oops")

    monkeypatch.setattr(analysis, "run_score", run_score)
    with pytest.raises(KeyError):
        main(["score", "x.jsonl", "--debug"])
