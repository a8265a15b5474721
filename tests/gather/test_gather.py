"""Gathering against a real aiohttp server on 127.0.0.1 with injected faults."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from distillscope import cli
from distillscope.gather.config import GatherConfig, ModelConfig, PromptSource, load_config
from distillscope.gather.plan import plan
from distillscope.gather.progress import Progress
from distillscope.gather.prompts import RequestSpec
from distillscope.gather.run import gather, run_requests
from distillscope.gather.simserver import FAULT_KINDS, Faults, SimServer, default_responder, message_text
from distillscope.store.store import read_records


def write_prompts(path: Path, n: int, extra: list[str] = ()) -> list[dict]:
    rows = [{"id": f"p{i}", "prompt": f"Question {i}: explain topic number {i * 7} briefly."} for i in range(n)]
    rows += [{"id": f"x{j}", "prompt": t} for j, t in enumerate(extra)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def make_config(tmp_path: Path, url: str, n: int = 10, extra=(), **model_kw) -> GatherConfig:
    write_prompts(tmp_path / "prompts.jsonl", n, list(extra))
    kw = dict(name="sim-a", base_url=url, model="a", concurrency=8, timeout_s=5.0, backoff_base_s=0.02)
    kw.update(model_kw)
    return GatherConfig(
        store=str(tmp_path / "responses.jsonl"),
        prompts=(PromptSource(str(tmp_path / "prompts.jsonl")),),
        models=(ModelConfig(**kw),),
    )


def expected_text(model: str, prompt: str, sample: int, seed=None) -> str:
    return default_responder(model, [{"role": "user", "content": prompt}], sample, seed).text


# --------------------------------------------------------------------------
# config and planning
# --------------------------------------------------------------------------
MINIMAL = """
[run]
store = "responses.jsonl"
[[prompts]]
file = "prompts.jsonl"        # one {"id": ..., "prompt": ...} per line
[[models]]
name = "sim-a"
base_url = "http://127.0.0.1:8000/v1"
model = "a"
api_key_env = "SIM_KEY"
samples = 1
concurrency = 64
requests_per_minute = 6000
"""


def test_minimal_config_from_the_issue_loads(tmp_path):
    (tmp_path / "cfg.toml").write_text(MINIMAL)
    write_prompts(tmp_path / "prompts.jsonl", 3)
    cfg = load_config(tmp_path / "cfg.toml")
    assert cfg.store == str(tmp_path / "responses.jsonl")
    m = cfg.models[0]
    assert (m.name, m.model, m.samples, m.concurrency, m.requests_per_minute) == ("sim-a", "a", 1, 64, 6000)
    p = plan(cfg)
    assert p.planned == 3 and p.todo == 3


# --------------------------------------------------------------------------
# end to end against the local server
# --------------------------------------------------------------------------
def test_gather_answers_everything_and_rerun_makes_no_requests(tmp_path):
    with SimServer() as srv:
        cfg = make_config(tmp_path, srv.url, n=12, samples=2, params={"seed": 5})
        rep = gather(cfg)
        assert (rep.planned, rep.requested, rep.succeeded, rep.failed) == (24, 24, 24, 0)
        n_events = len(srv.events)
        assert n_events == 24
        recs = list(read_records(cfg.store))
        assert len(recs) == 24
        prompts = {f"p{i}": f"Question {i}: explain topic number {i * 7} briefly." for i in range(12)}
        for r in recs:
            # the answer is the server's, not something the client made up;
            # seed_per_sample sends seed + sample
            assert r["response"] == expected_text("a", prompts[r["prompt_id"]], r["sample"], 5 + r["sample"])
            assert r["error"] is None and r["finish_reason"] == "stop" and r["attempts"] == 1
            assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]
            assert r["finished_at"] >= r["started_at"] and r["latency_s"] >= 0
            assert r["prompt"] == prompts[r["prompt_id"]] and r["source"] == "api"
        # a finished config makes zero requests
        rep2 = gather(cfg)
        assert rep2.requested == 0 and rep2.already_done == 24
        assert len(srv.events) == n_events
        assert len(list(read_records(cfg.store))) == 24


FAULT_SCRIPT = ["429", "500", "503", "slow", "drop", "malformed", "empty"] * 2


def test_every_fault_kind_ends_answered_or_recorded_failed(tmp_path):
    faults = Faults(
        script=FAULT_SCRIPT,
        sticky={"PERMANENT-400": "400", "ALWAYS-503": "503", "ALWAYS-EMPTY": "empty"},
        retry_after_s=0.3,
        slow_s=3.0,
    )
    extra = ["please PERMANENT-400 fail", "ALWAYS-503 here", "ALWAYS-EMPTY choices"]
    with SimServer(faults=faults) as srv:
        cfg = make_config(tmp_path, srv.url, n=24, extra=extra, timeout_s=0.6, max_retries=5, concurrency=6)
        rep = gather(cfg, seed=1)
        events = list(srv.events)
    recs = list(read_records(cfg.store))
    by_id = {r["prompt_id"]: r for r in recs}
    assert len(recs) == len(by_id) == 27 == rep.planned  # one record per planned request
    # every fault kind of the script really happened on the server side
    seen = {e["fault"] for e in events}
    assert {"429", "500", "503", "slow", "drop", "malformed", "empty", "400"} <= seen
    # the 24 ordinary prompts survive their transient faults with the true answer
    for i in range(24):
        r = by_id[f"p{i}"]
        assert r["error"] is None, r
        assert r["response"] == expected_text("a", f"Question {i}: explain topic number {i * 7} briefly.", 0)
    # every attempt reached the server, and each scripted fault cost exactly
    # one retry of an ordinary prompt
    assert sum(r["attempts"] for r in recs) == len(events)
    assert sum(by_id[f"p{i}"]["attempts"] - 1 for i in range(24)) == len(FAULT_SCRIPT)
    # permanent error: recorded at once with its reason, no retries
    r400 = by_id["x0"]
    assert r400["response"] is None and r400["error_kind"] == "http_400" and r400["attempts"] == 1
    assert "HTTP 400" in r400["error"] and "simulated 400" in r400["error"]
    # persistent retryable errors: retried max_retries times, then recorded
    for pid, kind in (("x1", "http_503"), ("x2", "empty_choices")):
        r = by_id[pid]
        assert r["response"] is None and r["error_kind"] == kind and r["attempts"] == 6
        assert "gave up after 6 attempts" in r["error"]
    assert rep.failed == 3 and rep.succeeded == 24
    assert rep.models["sim-a"].failures == {"http_400": 1, "http_503": 1, "empty_choices": 1}
    # Retry-After honoured: after a 429 the same request comes back no sooner
    for e in (e for e in events if e["fault"] == "429"):
        later = [x["t"] for x in events if x["prompt_hash"] == e["prompt_hash"] and x["t"] > e["t"]]
        assert later and min(later) - e["t"] >= 0.3 - 0.01
    # ...and the whole model paused: nothing of sim-a arrived inside the window
    t429 = [e["t"] for e in events if e["fault"] == "429"]
    for t in t429:
        inside = [x for x in events if t + 0.02 < x["t"] < t + 0.3 - 0.02]
        assert not inside, f"requests sent during a Retry-After pause: {inside}"


def test_fault_kinds_are_validated():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults(rates={"teapot": 0.1})
    with pytest.raises(ValueError, match="sum to <= 1"):
        Faults(rates={"500": 0.7, "503": 0.6})
    assert set(FAULT_KINDS) >= {"429", "500", "503", "slow", "drop", "malformed", "empty"}
    with pytest.raises(ValueError, match="loopback"):
        SimServer(host="0.0.0.0")


def _max_window_excess(times: list[float], weights: list[float], rate: float) -> float:
    """max over windows [t_i, t_j] of sum(w) - rate*(t_j - t_i)."""
    best = -1e9
    for i in range(len(times)):
        s = 0.0
        for j in range(i, len(times)):
            s += weights[j]
            best = max(best, s - rate * (times[j] - times[i]))
    return best


def test_requests_per_minute_respected_from_server_timestamps(tmp_path):
    rpm = 1200.0  # 20/s, bucket of one second = 20
    with SimServer() as srv:
        cfg = make_config(tmp_path, srv.url, n=60, concurrency=32, requests_per_minute=rpm)
        rep = gather(cfg)
        times = srv.arrival_times(model="a")
    assert rep.succeeded == 60 and len(times) == 60
    rate, cap = rpm / 60, rpm / 60 * 1.0
    excess = _max_window_excess(times, [1.0] * len(times), rate)
    # any window holds at most burst + rate * length (+1 for timer granularity
    # and +rate*100ms for scheduling jitter between the client's acquire and
    # the server thread's timestamp on a loaded 2-core box); unthrottled, the
    # excess would be ~60
    assert excess <= cap + 1 + rate * 0.1, excess
    span = times[-1] - times[0]
    assert span >= (60 - cap - 1) / rate * 0.95  # it really throttled


def test_tokens_per_minute_respected_from_server_timestamps(tmp_path):
    tpm = 24000.0  # 400 tokens/s, bucket 400
    with SimServer() as srv:
        cfg = make_config(tmp_path, srv.url, n=80, concurrency=16, tokens_per_minute=tpm, params={"max_tokens": 20})
        rep = gather(cfg)
        evs = sorted((e for e in srv.events if e["model"] == "a"), key=lambda e: e["t"])
    assert rep.succeeded == 80
    recs = list(read_records(cfg.store))
    assert all(r["usage"]["completion_tokens"] <= 20 for r in recs)
    assert any(r["finish_reason"] == "length" for r in recs)
    total = sum(e["tokens"] for e in evs)
    rate = tpm / 60
    assert total > 2 * rate  # enough work for the limit to bind
    excess = _max_window_excess([e["t"] for e in evs], [e["tokens"] for e in evs], rate)
    # bucket (rate x 1 s) + one request's tokens of timer slack + half a second of
    # scheduling jitter between the client's acquire and the server thread's
    # timestamp (0.1 s was exceeded once on a 2-core box at load 4: 595 > 500).
    # Unthrottled, the excess would be about the total (> 3 x rate with 80 requests).
    assert total > 3 * rate, total
    assert excess <= rate * 1.0 + 60 + rate * 0.5, excess
    assert evs[-1]["t"] - evs[0]["t"] >= (total - rate) / rate * 0.8


def test_api_key_never_leaks(tmp_path, monkeypatch, capsys, caplog):
    good, wrong = "sk-distillscope-GOOD-7f3a9c1e", "sk-distillscope-WRONG-0b44d2"
    monkeypatch.setenv("DS_GOOD_KEY", good)
    monkeypatch.setenv("DS_WRONG_KEY", wrong)
    write_prompts(tmp_path / "prompts.jsonl", 4)
    with SimServer(api_key=good, faults=Faults(script=["500", "drop"])) as srv:
        (tmp_path / "cfg.toml").write_text(
            f"""
[run]
store = "responses.jsonl"
[[prompts]]
file = "prompts.jsonl"
[[models]]
name = "good"
base_url = "{srv.url}"
model = "a"
api_key_env = "DS_GOOD_KEY"
backoff_base_s = 0.01
[[models]]
name = "wrong"
base_url = "{srv.url}"
model = "b"
api_key_env = "DS_WRONG_KEY"
"""
        )
        caplog.set_level(logging.DEBUG, logger="distillscope.gather")
        rc = cli.main(["gather", str(tmp_path / "cfg.toml"), "--progress", "log", "--format", "json", "-v"])
        rc_dry = cli.main(["gather", str(tmp_path / "cfg.toml"), "--dry-run"])
    out = capsys.readouterr()
    assert rc == 1 and rc_dry == 0  # the wrong key's requests failed (401, permanent)
    recs = list(read_records(tmp_path / "responses.jsonl"))
    wrong_recs = [r for r in recs if r["model"] == "wrong"]
    assert len(wrong_recs) == 4 and all(r["error_kind"] == "http_401" and r["attempts"] == 1 for r in wrong_recs)
    # the server echoed the bad key; the client scrubbed it
    assert all("[REDACTED]" in r["error"] for r in wrong_recs)
    assert all(r["error"] is None for r in recs if r["model"] == "good")
    cfg = load_config(tmp_path / "cfg.toml")
    texts = [
        (tmp_path / "responses.jsonl").read_text(),
        out.out,
        out.err,
        caplog.text,
        repr(cfg),
        repr(cfg.models[0]),
        repr(cfg.models[0].api_key()),
        str(cfg.models[0].api_key()),
    ]
    assert "retry" in caplog.text  # the debug log did run
    for t in texts:
        assert good not in t and wrong not in t
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(cfg.models[0].api_key())


def test_missing_key_env_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DS_ABSENT_KEY", raising=False)
    with SimServer() as srv:
        cfg = make_config(tmp_path, srv.url, n=2, api_key_env="DS_ABSENT_KEY")
        with pytest.raises(ValueError, match="DS_ABSENT_KEY is not set"):
            gather(cfg)
        assert srv.events == []
        # dry-run plans without needing the key
        assert gather(cfg, dry_run=True).requested == 2


def test_dry_run_prints_plan_and_count_and_sends_nothing(tmp_path, capsys):
    with SimServer() as srv:
        (tmp_path / "cfg.toml").write_text(
            MINIMAL.replace("http://127.0.0.1:8000/v1", srv.url).replace("samples = 1", "samples = 3")
        )
        write_prompts(tmp_path / "prompts.jsonl", 5)
        assert cli.main(["gather", str(tmp_path / "cfg.toml"), "--dry-run"]) == 0
        text = capsys.readouterr().out
        assert "total: 15 planned, 15 requests to send" in text and "sim-a" in text
        assert cli.main(["gather", str(tmp_path / "cfg.toml"), "--dry-run", "--format", "json"]) == 0
        js = json.loads(capsys.readouterr().out)
        assert js["requests"] == 15 and js["models"]["sim-a"]["planned"] == 15
        assert srv.events == []
        assert not (tmp_path / "responses.jsonl").exists()


def test_retry_failed_and_changed_params_policies(tmp_path):
    with SimServer(faults=Faults(sticky={"topic number 7 ": "503"})) as srv:
        cfg = make_config(tmp_path, srv.url, n=4, max_retries=1)
        rep = gather(cfg)
        assert rep.failed == 1  # p1 mentions "topic number 7 "
        n = len(srv.events)
        assert gather(cfg).requested == 0  # failures are final unless asked
        assert len(srv.events) == n
        srv.faults.sticky.clear()
        rep = gather(cfg, retry_failed=True)
        assert rep.requested == 1 and rep.succeeded == 1
        latest = {(r["prompt_id"]): r for r in read_records(cfg.store)}
        assert latest["p1"]["error"] is None
        # changing a sampling parameter invalidates old records: refuse by default
        cfg2 = replace(cfg, models=(replace(cfg.models[0], params={"temperature": 0.1}),))
        with pytest.raises(ValueError, match="on_params_change"):
            gather(cfg2)
        assert gather(replace(cfg2, on_params_change="keep")).requested == 0
        assert gather(replace(cfg2, on_params_change="rerun")).requested == 4


def test_run_requests_api_for_custom_specs_resumes(tmp_path):
    store = tmp_path / "judge.jsonl"
    with SimServer() as srv:
        m = ModelConfig(name="judge", base_url=srv.url, model="j", concurrency=4, params={"temperature": 0})
        specs = [
            RequestSpec(
                f"pair-{i}",
                [{"role": "system", "content": "judge"}, {"role": "user", "content": f"A{i} vs B{i}"}],
                meta={"pair": i},
            )
            for i in range(6)
        ]
        res = run_requests(m, specs[:4], store)
        assert res.report.requested == 4 and len(res.records) == 4
        assert res.response("pair-2") == default_responder("j", list(specs[2].messages), 0, None).text
        assert res.records[("pair-1", 0)]["meta"] == {"pair": 1}
        res2 = run_requests(m, specs, store)  # only the 2 new ones are sent
        assert res2.report.requested == 2 and len(res2.records) == 6
        assert len(srv.events) == 6
        # dict specs work too, and duplicate ids are refused
        res3 = run_requests(m, [{"custom_id": "pair-0", "messages": list(specs[0].messages)}], store)
        assert res3.report.requested == 0
        with pytest.raises(ValueError, match="listed twice"):
            run_requests(m, [specs[0], specs[0]], store)
    with pytest.raises(ValueError, match="role and content"):
        RequestSpec("bad", [{"content": "x"}])


def test_progress_bar_on_tty_and_log_lines_otherwise():
    class TTY(io.StringIO):
        def isatty(self):
            return True

    tty = TTY()
    p = Progress(3, stream=tty)
    assert p.mode == "bar"
    for ok in (True, False, True):
        p.update(ok)
    p.close()
    s = tty.getvalue()
    assert "\r[" in s and "req/s" in s and "ETA" in s and "3/3 (100%) ok=2 failed=1" in s
    plain = io.StringIO()
    p = Progress(2, stream=plain, log_every_s=0.0)
    assert p.mode == "log"
    p.update(True)
    p.update(True)
    p.close()
    lines = plain.getvalue().splitlines()
    assert lines and all(line.startswith("gather: ") for line in lines) and "\r" not in plain.getvalue()
    assert "ETA" in lines[0]
    with pytest.raises(ValueError, match="progress"):
        Progress(1, mode="fancy")


def test_cli_gather_subprocess_log_lines_and_exit_code(tmp_path):
    with SimServer() as srv:
        (tmp_path / "cfg.toml").write_text(
            MINIMAL.replace("http://127.0.0.1:8000/v1", srv.url).replace('api_key_env = "SIM_KEY"\n', "")
        )
        write_prompts(tmp_path / "prompts.jsonl", 6)
        proc = subprocess.run(
            [sys.executable, "-m", "distillscope", "gather", str(tmp_path / "cfg.toml")],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    assert "gather: 6/6 (100%)" in proc.stderr  # not a TTY: plain log lines
    assert "6 succeeded, 0 failed" in proc.stdout


def test_serve_sim_cli_serves(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "distillscope", "serve-sim", "--port", str(port), "--latency", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/v1"
        m = ModelConfig(name="s", base_url=url, model="m")
        res = run_requests(m, [RequestSpec("q", [{"role": "user", "content": "hello"}])], tmp_path / "s.jsonl")
        assert res.response("q") == default_responder("m", [{"role": "user", "content": "hello"}], 0, None).text
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()


def test_simserver_async_api_and_custom_responder(tmp_path):
    calls = []

    async def responder(model, messages, sample, seed):
        calls.append((model, sample, seed))
        return f"{model}|{message_text(messages)}|{sample}", {
            "prompt_tokens": 1,
            "completion_tokens": 2,
            "total_tokens": 3,
        }

    async def go():
        async with SimServer(responder=responder) as srv:
            from distillscope.gather.run import run_requests_async

            m = ModelConfig(name="c", base_url=srv.url, model="cm", samples=1, params={"seed": 3})
            specs = [RequestSpec("q", [{"role": "user", "content": "hey"}], sample=s) for s in range(3)]
            return await run_requests_async(m, specs, tmp_path / "c.jsonl")

    res = asyncio.run(go())
    assert [res.response("q", s) for s in range(3)] == [f"cm|hey|{s}" for s in range(3)]
    assert sorted(calls) == [("cm", 0, 3), ("cm", 1, 4), ("cm", 2, 5)]
    assert res.records[("q", 0)]["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


def test_copy_responder_copies_at_known_rates():
    from distillscope.gather.simserver import copy_responder

    r = copy_responder("teacher", {"s100": 1.0, "s0": 0.0})
    msgs = [{"role": "user", "content": "Explain tides."}]
    t = r("teacher", msgs, 0, None).text
    assert r("s100", msgs, 0, None).text.split(". ")[:3] == t.split(". ")[:3]
    assert r("s0", msgs, 0, None).text == default_responder("s0", msgs, 0, None).text
    with pytest.raises(ValueError, match="copy rate"):
        copy_responder("t", {"x": 1.5})


def test_two_models_share_one_session_with_their_own_limits(tmp_path, monkeypatch):
    import aiohttp

    sessions = []
    real = aiohttp.ClientSession

    def counting(*a, **kw):
        sessions.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(aiohttp, "ClientSession", counting)
    write_prompts(tmp_path / "prompts.jsonl", 30)
    with SimServer() as srv:
        slow = ModelConfig(name="slow", base_url=srv.url, model="ms", concurrency=8, requests_per_minute=900)
        fast = ModelConfig(name="fast", base_url=srv.url, model="mf", concurrency=8)
        cfg = GatherConfig(
            store=str(tmp_path / "s.jsonl"),
            prompts=(PromptSource(str(tmp_path / "prompts.jsonl")),),
            models=(slow, fast),
        )
        rep = gather(cfg)
        ts, tf = srv.arrival_times(model="ms"), srv.arrival_times(model="mf")
    assert sessions == [1]
    assert rep.succeeded == 60 and rep.models["slow"].succeeded == rep.models["fast"].succeeded == 30
    assert ts[-1] - ts[0] >= (30 - 15 - 1) / 15 * 0.9  # 15/s after a 15-request burst
    assert tf[-1] - tf[0] < ts[-1] - ts[0]  # the unlimited model is not held back by the other's limit


def test_random_fault_rates_all_recover(tmp_path):
    # 40% of attempts fail; 16 attempts all failing: 0.4**16 ~ 4e-7 per request
    faults = Faults(rates={"500": 0.1, "503": 0.1, "malformed": 0.05, "empty": 0.1, "drop": 0.05}, seed=7)
    with SimServer(faults=faults) as srv:
        cfg = make_config(tmp_path, srv.url, n=30, max_retries=15, backoff_base_s=0.005, backoff_max_s=0.05)
        rep = gather(cfg, seed=3)
        n_faults = sum(1 for e in srv.events if e["fault"] is not None)
    assert rep.succeeded == 30 and rep.failed == 0
    assert n_faults >= 5 and rep.attempts == 30 + n_faults


def test_import_distillscope_stays_light_and_help_lists_commands():
    code = "import sys, distillscope; print('aiohttp' in sys.modules, 'distillscope.gather.run' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.split() == ["False", "False"]
    help_text = subprocess.run(
        [sys.executable, "-m", "distillscope", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    for cmd in ("gather", "import", "serve-sim"):
        assert cmd in help_text


def test_a_second_run_on_a_store_in_use_is_refused(tmp_path, capsys):
    from distillscope.store.store import ResponseStore, StoreLockedError

    with SimServer() as srv:
        cfg = make_config(tmp_path, srv.url, n=3)
        with ResponseStore(cfg.store):  # another "run" holds the store
            with pytest.raises(StoreLockedError, match="another process"):
                gather(cfg)
        assert srv.events == []
        assert gather(cfg).succeeded == 3  # free again once the holder closes


def test_progress_total_set_after_construction_is_the_one_shown():
    """gather.run sets ``total`` on a caller's Progress once it knows what remains."""
    plain = io.StringIO()
    p = Progress(99, stream=plain, log_every_s=0.0)
    p.total = 2
    p.update(True)
    p.update(False)
    p.close()
    assert "2/2 (100%) ok=1 failed=1" in plain.getvalue().splitlines()[-1]
