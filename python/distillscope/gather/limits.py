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
from typing import Any, Iterable, Mapping

from .config import ModelConfig
from .prompts import RequestSpec, request_params

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
REDACTED = "[REDACTED]"
# A fragment of a secret this long is redacted too: at an excerpt's cut
# (MIN_CUT_PREFIX) or anywhere (MIN_FRAGMENT, e.g. an API echoing a masked
# "sk-abcdefghijklmnop****" form of the key).
MIN_CUT_PREFIX = 8
MIN_FRAGMENT = 16
# Header names whose values are credentials (compared lower-case).
SECRET_HEADERS = ("authorization", "api-key", "x-api-key", "proxy-authorization")


class Redactor:
    """Removes API keys and credential header values from any text.

    Redaction runs on the whole text *before* it is cut to an excerpt, and
    :meth:`excerpt` also removes a prefix of a secret (>= 8 characters) that
    a cut leaves at the end, so no part of a key long enough to matter is
    stored, logged or printed.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        vals: set[str] = set()
        for s in secrets:
            s = str(s or "")
            if len(s) >= 4:
                vals.add(s)
            if s.lower().startswith("bearer ") and len(s) > 11:
                vals.add(s[7:])
        self.secrets = sorted(vals, key=len, reverse=True)

    @classmethod
    def for_models(cls, models: Iterable[ModelConfig]) -> "Redactor":
        """Every key and credential header value of ``models`` (a run
        redacts all of them everywhere: one server may echo another's key)."""
        vals: list[str] = []
        for m in models:
            key = m.api_key()
            if key is not None:
                vals.append(key.get())
            vals += [str(v) for k, v in m.headers.items() if k.lower() in SECRET_HEADERS or "key" in k.lower()]
        return cls(vals)

    def __call__(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        for s in self.secrets:
            if len(s) > MIN_FRAGMENT:
                for i in range(len(s) - MIN_FRAGMENT + 1):
                    frag = s[i : i + MIN_FRAGMENT]
                    if frag in text:
                        text = _redact_around(text, s, frag)
        return text

    def excerpt(self, text: str, limit: int) -> str:
        """``text`` redacted, then cut to ``limit`` characters with no key
        prefix left dangling at the cut."""
        cut = self(text)[:limit]
        # also when nothing was cut here: the sender may have cut the text
        for s in self.secrets:
            for k in range(min(len(s) - 1, len(cut)), MIN_CUT_PREFIX - 1, -1):
                if cut.endswith(s[:k]):
                    return cut[:-k] + REDACTED
        return cut

    def value(self, x: Any) -> Any:
        """A JSON-like value with every string redacted."""
        if isinstance(x, str):
            return self(x)
        if isinstance(x, dict):
            return {k: self.value(v) for k, v in x.items()}
        if isinstance(x, list):
            return [self.value(v) for v in x]
        return x


def _redact_around(text: str, secret: str, frag: str) -> str:
    """Replace every occurrence of ``frag`` grown to the longest run of
    ``secret`` it sits in (so no piece of the key next to it survives)."""
    out = []
    i = 0
    while True:
        j = text.find(frag, i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        off = secret.find(frag)
        a = j
        while a > i and off > 0 and text[a - 1] == secret[off - 1]:
            a -= 1
            off -= 1
        b = j + len(frag)
        k = secret.find(frag) + len(frag)
        while b < len(text) and k < len(secret) and text[b] == secret[k]:
            b += 1
            k += 1
        out.append(text[i:a] + REDACTED)
        i = b


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


def parse_completion(
    raw: bytes, redact: Redactor | None = None
) -> tuple[dict[str, Any] | None, Failure | None]:
    """The completion in a 200 body, or the classified failure. Every string
    that comes back (the answer, error excerpts) is redacted first."""
    redact = redact or Redactor()
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except RecursionError:
        return None, Failure("malformed_json", f"response JSON is nested too deeply to read ({len(raw)} bytes)", False)
    except ValueError as exc:
        return None, Failure("malformed_json", f"response is not valid JSON ({exc}): {redact.excerpt(text, 120)!r}", True)
    try:
        data = redact.value(data)
    except RecursionError:
        return None, Failure("malformed_json", f"response JSON is nested too deeply to read ({len(raw)} bytes)", False)
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
    if finish is not None and not isinstance(finish, str):
        finish = str(finish)[:64]
    if content is None:
        return None, Failure("no_content", f"message has no content (finish_reason={finish!r})", False)
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
    if usage is not None:
        usage = {
            str(k)[:64]: int(v)
            for k, v in usage.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v < 2**53
        }
    return {"response": str(content), "finish_reason": finish, "usage": usage}, None


def backoff(model: ModelConfig, attempt: int, rng: random.Random) -> float:
    """Equal-jitter exponential backoff: in [d/2, d], d = base * 2^(attempt-1)."""
    d = min(model.backoff_max_s, model.backoff_base_s * (2.0 ** (attempt - 1)))
    return d / 2 + rng.uniform(0, d / 2)


__all__ = [
    "Failure",
    "Limiter",
    "REDACTED",
    "REDIRECT_STATUS",
    "RETRYABLE_STATUS",
    "Redactor",
    "SECRET_HEADERS",
    "TokenBucket",
    "backoff",
    "classify_status",
    "estimate_tokens",
    "parse_completion",
    "parse_retry_after",
]
