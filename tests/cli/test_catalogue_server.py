"""Catalogue, server part (issue 13): `distillscope gather` against a real
aiohttp server on 127.0.0.1 that answers every request of a prompt with one
injected fault (status codes, broken / nested / huge / mis-encoded bodies,
stalls, dropped connections, echoes of the Authorization header).

For each fault: the command ends (no hang, no traceback), records the right
outcome for that request (the answer, or an error that names what went
wrong), keeps the other requests' answers, and the API key is in no file,
log line or message.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from distillscope import cli
from distillscope.gather.simserver import FOLLOWED_TEXT, Faults, SimServer
from distillscope.store.store import read_records

# a hang is a failure, not a stuck suite
pytestmark = pytest.mark.timeout(60)


KEY = "sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
KEY_ENV = "DS_CATALOGUE_KEY"

# fault -> (expected error_kind or None for an answer, attempts expected)
RETRIES = 1
PERMANENT = 1
RETRIED = RETRIES + 1
FAULT_OUTCOMES = {
    "301": ("http_301", PERMANENT),
    "302": ("http_302", PERMANENT),
    "307": ("http_307", PERMANENT),
    "400": ("http_400", PERMANENT),
    "401": ("http_401", PERMANENT),
    "403": ("http_403", PERMANENT),
    "404": ("http_404", PERMANENT),
    "408": ("http_408", RETRIED),
    "409": ("http_409", RETRIED),
    "413": ("http_413", PERMANENT),
    "429": ("http_429", RETRIED),
    "500": ("http_500", RETRIED),
    "502": ("http_502", RETRIED),
    "503": ("http_503", RETRIED),
    "504": ("http_504", RETRIED),
    "malformed": ("malformed_json", RETRIED),
    "not_json": ("malformed_json", RETRIED),
    "nested": ("malformed_json", PERMANENT),
    "empty": ("empty_choices", RETRIED),
    "slow": ("timeout", RETRIED),
    "drop": ("connection", RETRIED),
    "latin1": (None, 1),
    "huge": (None, 1),
    "echo_auth": (None, 1),
    "echo_auth_error": ("http_400", PERMANENT),
}


@pytest.fixture(scope="module")
def server():
    sticky = {f"<<{k}>>": k for k in FAULT_OUTCOMES}
    with SimServer(faults=Faults(sticky=sticky, retry_after_s=0.01, slow_s=5.0), api_key=KEY) as srv:
        yield srv


def _config(tmp: Path, url: str, prompts: list[str], *, key_env: str = KEY_ENV, extra: str = "") -> Path:
    rows = [{"id": f"q{i}", "prompt": p} for i, p in enumerate(prompts)]
    (tmp / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = tmp / "gather.toml"
    cfg.write_text(
        f"""
[run]
store = "responses.jsonl"
[[prompts]]
file = "prompts.jsonl"
[[models]]
name = "sim"
base_url = "{url}"
model = "a"
api_key_env = "{key_env}"
concurrency = 4
timeout_s = 0.4
max_retries = {RETRIES}
backoff_base_s = 0.01
backoff_max_s = 0.02
retry_after_max_s = 0.05
{extra}
"""
    )
    return cfg


def _run_gather(cfg: Path, capsys, caplog) -> tuple[int, str]:
    with caplog.at_level(logging.DEBUG):
        rc = cli.main(["gather", str(cfg), "--progress", "none", "--format", "json"])
    out = capsys.readouterr()
    return rc, out.out + out.err + caplog.text


def _no_key_anywhere(tmp: Path, text: str, key: str = KEY) -> None:
    assert "Traceback" not in text
    for piece in (key, key[:12], key[-12:]):
        assert piece not in text
        for f in tmp.rglob("*"):
            if f.is_file():
                assert piece.encode() not in f.read_bytes(), f"key fragment in {f.name}"


@pytest.mark.parametrize("fault", sorted(FAULT_OUTCOMES))
def test_each_fault_is_recorded_and_the_other_requests_still_answer(fault, server, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv(KEY_ENV, KEY)
    prompts = [f"<<{fault}>> please answer", "an ordinary question", "another ordinary question"]
    cfg = _config(tmp_path, server.url, prompts)
    rc, text = _run_gather(cfg, capsys, caplog)
    kind, attempts = FAULT_OUTCOMES[fault]
    assert rc == (0 if kind is None else 1), text
    recs = {r["prompt_id"]: r for r in read_records(tmp_path / "responses.jsonl")}
    assert set(recs) == {"q0", "q1", "q2"}
    for ok in ("q1", "q2"):
        assert recs[ok]["error"] is None and recs[ok]["response"]
    bad = recs["q0"]
    assert bad["error_kind"] == kind
    assert bad["attempts"] == attempts
    if kind is None:
        assert bad["response"] and bad["error"] is None
    else:
        assert bad["response"] is None and bad["error"]
        assert "\n" not in bad["error"]
        assert len(bad["error"]) < 600
    if fault.startswith("30"):
        assert FOLLOWED_TEXT not in json.dumps(recs)
        assert "base_url" in bad["error"]
    if fault == "huge":
        assert len(bad["response"]) > 4_000_000
    if fault == "latin1":
        assert bad["response"].startswith("caf")
    if fault in ("echo_auth", "echo_auth_error"):
        assert "[REDACTED]" in json.dumps(bad)
    _no_key_anywhere(tmp_path, text)


def test_a_wrong_key_echoed_by_a_401_is_redacted(server, tmp_path, monkeypatch, capsys, caplog):
    wrong = "sk-wrong-0123456789abcdef0123456789"
    monkeypatch.setenv(KEY_ENV, wrong)
    cfg = _config(tmp_path, server.url, ["hello there"])
    rc, text = _run_gather(cfg, capsys, caplog)
    assert rc == 1
    (rec,) = read_records(tmp_path / "responses.jsonl")
    assert rec["error_kind"] == "http_401" and "[REDACTED]" in rec["error"]
    _no_key_anywhere(tmp_path, text, wrong)


def test_every_fault_in_one_run_finishes_and_records_each_request(server, tmp_path, monkeypatch, capsys, caplog):
    monkeypatch.setenv(KEY_ENV, KEY)
    prompts = [f"<<{k}>> q" for k in sorted(FAULT_OUTCOMES)] + ["plain"]
    cfg = _config(tmp_path, server.url, prompts)
    rc, text = _run_gather(cfg, capsys, caplog)
    assert rc == 1
    recs = list(read_records(tmp_path / "responses.jsonl"))
    assert len(recs) == len(prompts)
    _no_key_anywhere(tmp_path, text)


def test_an_unreachable_server_is_a_recorded_connection_failure(tmp_path, monkeypatch, capsys, caplog):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(KEY_ENV, KEY)
    cfg = _config(tmp_path, f"http://127.0.0.1:{port}/v1", ["x"])
    rc, text = _run_gather(cfg, capsys, caplog)
    assert rc == 1
    (rec,) = read_records(tmp_path / "responses.jsonl")
    assert rec["error_kind"] == "connection"
    _no_key_anywhere(tmp_path, text)


def test_a_missing_key_variable_is_a_usage_error_and_writes_nothing(server, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(KEY_ENV, raising=False)
    cfg = _config(tmp_path, server.url, ["x"])
    rc = cli.main(["gather", str(cfg), "--progress", "none"])
    err = capsys.readouterr().err
    assert rc == 2 and KEY_ENV in err and "Traceback" not in err
    assert not (tmp_path / "responses.jsonl").exists()


def test_two_models_with_two_keys_both_echoed_neither_leaks(server, tmp_path, monkeypatch, capsys, caplog):
    key2 = "sk-second-aaaabbbbccccddddeeeeffff0000"
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.setenv("DS_CATALOGUE_KEY2", key2)
    with SimServer(faults=Faults(sticky={"<<echo_auth>>": "echo_auth"}), api_key=key2) as other:
        cfg = _config(tmp_path, server.url, ["<<echo_auth>> x", "<<echo_auth_error>> y"])
        cfg.write_text(cfg.read_text() + f"""
[[models]]
name = "sim2"
base_url = "{other.url}"
model = "b"
api_key_env = "DS_CATALOGUE_KEY2"
timeout_s = 2
max_retries = 0
""")
        rc, text = _run_gather(cfg, capsys, caplog)
    assert rc == 1  # the echo_auth_error prompt fails for sim (sim2 answers it)
    recs = list(read_records(tmp_path / "responses.jsonl"))
    assert {r["model"] for r in recs} == {"sim", "sim2"} and len(recs) == 4
    _no_key_anywhere(tmp_path, text, KEY)
    _no_key_anywhere(tmp_path, text, key2)


def test_an_unexpected_error_in_one_request_is_recorded_and_the_run_goes_on(
    server, tmp_path, monkeypatch, capsys, caplog
):
    import distillscope.gather.run as run_mod

    real = run_mod.parse_completion

    def flaky(raw, redact=None):
        if b"<<boom>>" in raw:
            raise KeyError("a reply shape nobody foresaw")
        return real(raw, redact)

    monkeypatch.setattr(run_mod, "parse_completion", flaky)
    monkeypatch.setenv(KEY_ENV, KEY)
    cfg = _config(tmp_path, server.url, ["<<boom>> please", "fine one", "fine two"])
    rc, text = _run_gather(cfg, capsys, caplog)
    assert rc == 1
    recs = {r["prompt_id"]: r for r in read_records(tmp_path / "responses.jsonl")}
    assert recs["q0"]["error_kind"] == "internal_error" and "KeyError" in recs["q0"]["error"]
    assert recs["q1"]["response"] and recs["q2"]["response"]
    _no_key_anywhere(tmp_path, text)
