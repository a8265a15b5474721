"""Rate limits, Retry-After and the classification of failed responses."""

from __future__ import annotations

import asyncio
import time

import pytest

from distillscope.gather.limits import TokenBucket, parse_retry_after


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    from email.utils import formatdate

    s = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
    assert 25 <= s <= 31


def test_token_bucket_rate_and_debt():
    async def go():
        b = TokenBucket(rate_per_s=50.0, capacity=5.0)
        t0 = time.monotonic()
        for _ in range(15):
            await b.acquire(1)
        return time.monotonic() - t0

    el = asyncio.run(go())
    assert el >= (15 - 5) / 50 * 0.9  # the first 5 burst, the next 10 pay 20 ms each
    with pytest.raises(ValueError):
        TokenBucket(0, 1)


@pytest.mark.parametrize(
    ("payload", "kind", "retryable"),
    [
        (b"<html>bad gateway</html>", "malformed_json", True),
        (b"[1, 2]", "malformed_json", True),
        (b'{"choices": []}', "empty_choices", True),
        (b'{"choices": [{"index": 0}]}', "malformed_json", True),
        (b'{"choices": [{"message": {"content": null}, "finish_reason": "content_filter"}]}', "no_content", False),
    ],
)
def test_response_classification(payload, kind, retryable):
    from distillscope.gather.limits import classify_status, parse_completion

    res, fail = parse_completion(payload)
    assert res is None and fail.kind == kind and fail.retryable is retryable
    ok, none = parse_completion(
        b'{"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},'
        b' "finish_reason": "stop"}], "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}'
    )
    assert none is None and ok["response"] == "ab" and ok["usage"]["total_tokens"] == 3
    assert [classify_status(s) for s in (429, 500, 503, 504, 408, 400, 401, 403, 404, 422)] == [True] * 5 + [False] * 5


# --------------------------------------------------------------------------- backoff
def test_backoff_stays_in_the_documented_band():
    """Equal jitter: attempt a waits in [d/2, d], d = min(max, base * 2^(a-1))."""
    import random

    from distillscope.gather.config import ModelConfig
    from distillscope.gather.limits import backoff

    m = ModelConfig(name="m", base_url="http://127.0.0.1:1/v1", model="m", backoff_base_s=0.5, backoff_max_s=8.0)
    rng = random.Random(3)
    for attempt, d in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)):
        waits = [backoff(m, attempt, rng) for _ in range(400)]
        assert d / 2 <= min(waits) and max(waits) <= d, (attempt, min(waits), max(waits))
        assert min(waits) < d / 2 + d * 0.05 and max(waits) > d - d * 0.05  # the whole band is used


def test_retries_wait_the_backoff_measured_at_the_server(tmp_path):
    """Three 500s then success: the gaps between the server's arrivals are the
    backoff of attempts 1, 2, 3 (base 0.1 s: in [0.05, 0.1], [0.1, 0.2],
    [0.2, 0.4]) plus a little scheduling slack, not more."""
    from distillscope.gather.config import GatherConfig, ModelConfig, PromptSource
    from distillscope.gather.run import gather
    from distillscope.gather.simserver import Faults, SimServer

    (tmp_path / "prompts.jsonl").write_text('{"id": "p0", "prompt": "Say hello."}\n')
    with SimServer(faults=Faults(script=["500", "500", "500"])) as srv:
        cfg = GatherConfig(
            store=str(tmp_path / "responses.jsonl"),
            prompts=(PromptSource(str(tmp_path / "prompts.jsonl")),),
            models=(ModelConfig(name="sim", base_url=srv.url, model="a", timeout_s=5.0, backoff_base_s=0.1,
                                backoff_max_s=10.0, max_retries=5),),
        )
        rep = gather(cfg)
        times = srv.arrival_times(model="a")
    assert rep.succeeded == 1 and len(times) == 4
    gaps = [b - a for a, b in zip(times, times[1:])]
    for gap, d in zip(gaps, (0.1, 0.2, 0.4)):
        assert d / 2 - 0.01 <= gap <= d + 0.25, (gaps, d)
    assert sum(gaps) <= 0.7 + 0.5, gaps
