"""Rate limits, retries and failures of one request.

Each model gets token buckets for requests and tokens per minute (a
request's token cost is estimated before it is sent and corrected with the
reported usage afterwards) and a model-wide pause that a 429's
``Retry-After`` sets. Failed attempts are classified: HTTP 408/409/425/429/5xx,
timeouts, dropped connections, malformed JSON and empty ``choices`` are
retried with equal-jitter exponential backoff; other 4xx are permanent.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass
from typing import Any, Mapping

from .config import ModelConfig
from .prompts import RequestSpec, request_params

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class TokenBucket:
    """Async token bucket: ``rate`` units/second, at most ``capacity`` banked.

    Waiters are served in arrival order (they queue on a lock while the head
    sleeps), so no request starves. A request larger than the capacity
    waits for a full bucket and then drives it negative (debt), which later
    requests pay back -- the long-run rate still holds.
    """

    def __init__(self, rate_per_s: float, capacity: float) -> None:
        if rate_per_s <= 0 or capacity <= 0:
            raise ValueError(f"rate and capacity must be > 0, got {rate_per_s}, {capacity}")
        self.rate = float(rate_per_s)
        self.capacity = float(capacity)
        self._tokens = float(capacity)
        self._t = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._t) * self.rate)
        self._t = now

    async def acquire(self, n: float = 1.0) -> None:
        need = min(float(n), self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self._refill(now)
                if self._tokens >= need:
                    self._tokens -= float(n)
                    return
                await asyncio.sleep((need - self._tokens) / self.rate)

    def adjust(self, delta: float) -> None:
        """Return (``delta`` > 0) or charge (< 0) units after the fact."""
        self._refill(time.monotonic())
        self._tokens = min(self.capacity, self._tokens + delta)


class Limiter:
    """A model's request and token buckets, plus a model-wide pause that a
    429's Retry-After sets (so no worker keeps hitting a limited endpoint)."""

    def __init__(self, model: ModelConfig) -> None:
        self.requests = None
        self.tokens = None
        if model.requests_per_minute:
            r = model.requests_per_minute / 60.0
            self.requests = TokenBucket(r, max(1.0, r * model.burst_s))
        if model.tokens_per_minute:
            r = model.tokens_per_minute / 60.0
            self.tokens = TokenBucket(r, max(1.0, r * model.burst_s))
        self._paused_until = 0.0

    async def acquire(self, est_tokens: int) -> None:
        while True:
            now = time.monotonic()
            if now >= self._paused_until:
                break
            await asyncio.sleep(self._paused_until - now)
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(est_tokens)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


def estimate_tokens(model: ModelConfig, spec: RequestSpec, params: Mapping[str, Any] | None = None) -> int:
    """Upper-ish estimate reserved before sending: ~4 chars per prompt token
    plus the completion budget (``max_tokens``, else 512)."""
    chars = sum(len(str(m.get("content", ""))) + 8 for m in spec.messages)
    if params is None:
        params = request_params(model, spec)
    budget = params.get("max_tokens") or params.get("max_completion_tokens") or 512
    return int(math.ceil(chars / 4)) + int(budget)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
@dataclass
class Failure:
    kind: str
    message: str
    retryable: bool
    retry_after: float | None = None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        s = float(value)
        return max(0.0, s) if math.isfinite(s) else None
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    return max(0.0, dt.timestamp() - time.time())


def classify_status(status: int) -> bool:
    """True if an HTTP status is worth retrying."""
    return status in RETRYABLE_STATUS or status >= 500


def parse_completion(raw: bytes) -> tuple[dict[str, Any] | None, Failure | None]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return None, Failure("malformed_json", f"response is not valid JSON ({exc}): {raw[:120]!r}", True)
    if not isinstance(data, dict):
        return None, Failure("malformed_json", "response JSON is not an object", True)
    choices = data.get("choices")
    if not choices or not isinstance(choices, list):
        return None, Failure("empty_choices", "response has no choices", True)
    ch = choices[0]
    msg = ch.get("message") if isinstance(ch, dict) else None
    if not isinstance(msg, dict):
        return None, Failure("malformed_json", "choices[0] has no message object", True)
    content = msg.get("content")
    if isinstance(content, list):
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    finish = ch.get("finish_reason")
    if content is None:
        return None, Failure("no_content", f"message has no content (finish_reason={finish!r})", False)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    if usage is not None:
        usage = {k: int(v) for k, v in usage.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return {"response": str(content), "finish_reason": finish, "usage": usage}, None


def backoff(model: ModelConfig, attempt: int, rng: random.Random) -> float:
    """Equal-jitter exponential backoff: in [d/2, d], d = base * 2^(attempt-1)."""
    d = min(model.backoff_max_s, model.backoff_base_s * (2.0 ** (attempt - 1)))
    return d / 2 + rng.uniform(0, d / 2)


__all__ = [
    "Failure",
    "Limiter",
    "RETRYABLE_STATUS",
    "TokenBucket",
    "backoff",
    "classify_status",
    "estimate_tokens",
    "parse_completion",
    "parse_retry_after",
]
