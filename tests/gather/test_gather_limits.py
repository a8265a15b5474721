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
