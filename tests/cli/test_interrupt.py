"""Ctrl-C on a real subprocess: a long command sent SIGINT exits 130 with
"interrupted" on stderr and no traceback (serve-sim, whose normal stop is
Ctrl-C, exits 0)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from distillscope.gather.simserver import Faults, SimServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sigint_default() -> None:
    """In the child, before exec: SIGINT back to its default. A process started
    with SIGINT ignored (pytest run as a background job of a non-interactive
    shell) passes the ignore on, and Python then never raises KeyboardInterrupt:
    the test would measure how pytest was started, not what Ctrl-C does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(proc: subprocess.Popen) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the command did not stop within 60 s of SIGINT")
    return proc.returncode, err


def test_serve_sim_ctrl_c_is_its_normal_stop():
    """serve-sim runs until Ctrl-C ("Ctrl-C to stop"): that is its normal end, exit 0."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "distillscope", "serve-sim", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
    )
    assert proc.stdout.readline().strip() == f"http://127.0.0.1:{port}/v1"  # serving: now a long command
    rc, err = _interrupt(proc)
    assert rc == 0, err
    assert "Ctrl-C to stop" in err and "Traceback" not in err


def test_gather_against_a_stalling_server_ctrl_c_exits_130(tmp_path):
    (tmp_path / "prompts.jsonl").write_text(
        "".join(json.dumps({"id": f"p{i}", "prompt": f"Question {i}"}) + "\n" for i in range(4))
    )
    with SimServer(faults=Faults(rates={"slow": 1.0}, slow_s=60.0)) as srv:
        (tmp_path / "cfg.toml").write_text(
            f'[run]\nstore = "responses.jsonl"\n[[prompts]]\nfile = "prompts.jsonl"\n'
            f'[[models]]\nname = "stall"\nbase_url = "{srv.url}"\nmodel = "a"\ntimeout_s = 120\n'
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "distillscope", "gather", str(tmp_path / "cfg.toml")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_sigint_default,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not srv.arrival_times(model="a"):
            time.sleep(0.05)  # wait until requests are in flight (and stalling)
        assert srv.arrival_times(model="a"), "gather never reached the server"
        rc, err = _interrupt(proc)
    assert rc == 130, err
    assert "interrupted" in err.splitlines()[-1] and "Traceback" not in err
