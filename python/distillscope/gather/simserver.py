"""A real OpenAI-compatible chat server on 127.0.0.1, with fault injection.

It answers ``POST /v1/chat/completions`` (and ``GET /v1/models``) over real
HTTP with aiohttp, so the gatherer is exercised end to end: sockets, status
codes, headers, timeouts, torn connections. Answers come from a pluggable
*responder*::

    responder(model, messages, sample, seed) -> str | (str, usage) | SimReply

(sync or async). ``sample`` is the sample index the client sends in the
``X-Distillscope-Sample`` header (0 when absent); ``seed`` is the request's
``seed`` field or None. The default responder writes deterministic text from
the prompt and the model name, and honours ``max_tokens`` (one token = one
whitespace word).

Faults (:class:`Faults`): ``"429"`` (with ``Retry-After``), ``"500"``,
``"503"``, ``"slow"`` (answers after ``slow_s``, past the client's timeout),
``"drop"`` (closes the connection without a response), ``"malformed"``
(HTTP 200 with truncated JSON), ``"empty"`` (HTTP 200 with ``choices: []``),
``"400"`` (a permanent error). They are drawn per request from ``rates``,
taken in order from ``script`` for the first arrivals, or forced by
``sticky`` for prompts containing a marker text on every attempt.

Every request is logged server-side (:attr:`SimServer.events`) with its
arrival time, so tests can check client rate limits from the server's view.

Use it in-process (``await srv.start()`` / ``await srv.stop()``), as a
context manager that runs it on a background thread (``with SimServer() as
srv: ...``), or from the shell: ``distillscope serve-sim --port 8000``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Status faults answer with that HTTP status (redirects point at
# /v1/elsewhere, which answers "followed a redirect" -- a client that follows
# redirects stores that text); body faults answer 200 with a broken body;
# echo faults put the request's Authorization header into a success answer
# or into an error body where an excerpt of 300 characters cuts it.
STATUS_FAULTS = (
    "301",
    "302",
    "307",
    "400",
    "401",
    "403",
    "404",
    "408",
    "409",
    "413",
    "429",
    "500",
    "502",
    "503",
    "504",
)
BODY_FAULTS = ("malformed", "empty", "not_json", "nested", "latin1", "huge", "echo_auth", "echo_auth_error")
FAULT_KINDS = (*STATUS_FAULTS, "slow", "drop", *BODY_FAULTS)
FOLLOWED_TEXT = "followed a redirect"

SAMPLE_HEADER = "X-Distillscope-Sample"


@dataclass(frozen=True)
class SimReply:
    text: str
    usage: Mapping[str, int] | None = None
    finish_reason: str = "stop"


ResponderResult = str | tuple | SimReply
Responder = Callable[[str, list, int, "int | None"], ResponderResult | Awaitable[ResponderResult]]


@dataclass
class Faults:
    """What the server does wrong, and how often.

    rates:   kind -> probability per request (drawn with ``seed``).
    script:  kinds (or None for "no fault") for the first arrivals, in order.
    sticky:  marker text -> kind: a request whose messages contain the
             marker gets that fault on every attempt (a persistent failure).
    """

    rates: dict[str, float] = field(default_factory=dict)
    script: Sequence[str | None] = ()
    sticky: dict[str, str] = field(default_factory=dict)
    retry_after_s: float = 1.0
    slow_s: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        for k in [*self.rates, *(s for s in self.script if s is not None), *self.sticky.values()]:
            if k not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {k!r}; choose from {FAULT_KINDS}")
        total = sum(self.rates.values())
        if any(v < 0 for v in self.rates.values()) or total > 1.0:
            raise ValueError(f"fault rates must be >= 0 and sum to <= 1, got {self.rates}")


_WORDS = (
    "the model answers with care and detail so that the reader can follow each step of the reasoning "
    "first consider the question then weigh the options and finally give a clear recommendation "
    "data shows several factors matter including cost time quality and risk which we discuss below "
    "in summary a balanced approach works best for most people although exceptions exist"
).split()


def _digest(*parts: object) -> int:
    h = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def message_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Concatenated text of all messages (content strings or text parts)."""
    out = []
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
        elif isinstance(c, list):
            out.extend(str(p.get("text", "")) for p in c if isinstance(p, Mapping))
    return "\n".join(out)


def count_tokens(text: str) -> int:
    """The simulator's tokenizer: whitespace words."""
    return len(text.split())


def default_responder(model: str, messages: list, sample: int, seed: int | None) -> SimReply:
    """Deterministic answer: names the model, echoes the prompt's start, then
    3-6 sentences of model-specific prose (same inputs, same text)."""
    prompt = message_text(messages)
    rng = random.Random(_digest(model, prompt, sample, seed))
    head = " ".join(prompt.split()[:8])
    sentences = [f"{model} on '{head}'"]
    for _ in range(3 + rng.randrange(4)):
        words = [rng.choice(_WORDS) for _ in range(6 + rng.randrange(9))]
        sentences.append(" ".join(words).capitalize())
    return SimReply(". ".join(sentences) + ".")


def copy_responder(
    teacher: str,
    copy_rates: Mapping[str, float],
    base: Responder = default_responder,
) -> Callable[[str, list, int, int | None], SimReply]:
    """Models that copy a teacher sentence-by-sentence at known rates.

    For a model with rate ``r`` each sentence of its answer is the teacher's
    sentence with probability ``r`` (a deterministic draw per prompt, sample
    and sentence), else its own ``base`` sentence. Models not in
    ``copy_rates`` (and the teacher) answer with ``base`` unchanged.
    ``base`` must be synchronous here.
    """
    for m, r in copy_rates.items():
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"copy rate of {m!r} must be in [0, 1], got {r}")

    def _text(res: Any) -> str:
        if isinstance(res, SimReply):
            return res.text
        if isinstance(res, tuple):
            return str(res[0])
        return str(res)

    def respond(model: str, messages: list, sample: int, seed: int | None) -> SimReply:
        own = _text(base(model, messages, sample, seed))
        rate = copy_rates.get(model)
        if rate is None or model == teacher:
            return SimReply(own)
        t_sents = _text(base(teacher, messages, sample, seed)).split(". ")
        o_sents = own.split(". ")
        rng = random.Random(_digest("copy", model, message_text(messages), sample, seed))
        n = max(len(t_sents), len(o_sents))
        out = []
        for i in range(n):
            src = t_sents if rng.random() < rate else o_sents
            if i < len(src):
                out.append(src[i])
        return SimReply(". ".join(out))

    return respond


class SimServer:
    """OpenAI-compatible chat-completions server with fault injection."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder = default_responder,
        faults: Faults | None = None,
        latency_s: float = 0.0,
        api_key: str | None = None,
        record_events: bool = True,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the simulator only binds loopback addresses, got host={host!r}")
        self.host = host
        self.port = int(port)
        self.responder = responder
        self.faults = faults or Faults()
        self.latency_s = float(latency_s)
        self._api_key = api_key
        self.record_events = record_events
        self.events: list[dict[str, Any]] = []
        self._rng = random.Random(self.faults.seed)
        self._arrivals = 0
        self._runner: Any = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimServer(url={self.url if self.port else None!r}, auth={'on' if self._api_key else 'off'})"

    @property
    def url(self) -> str:
        """Base URL for the client (``.../v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    # -- fault choice ------------------------------------------------------
    def _choose_fault(self, text: str) -> str | None:
        for marker, kind in self.faults.sticky.items():
            if marker in text:
                return kind
        with self._lock:
            i = self._arrivals
            self._arrivals += 1
            if i < len(self.faults.script):
                return self.faults.script[i]
            u = self._rng.random()
        acc = 0.0
        for kind, p in self.faults.rates.items():
            acc += p
            if u < acc:
                return kind
        return None

    def _log(self, **ev: Any) -> None:
        if self.record_events:
            with self._lock:
                self.events.append(ev)

    # -- handlers ----------------------------------------------------------
    async def _models(self, request: Any) -> Any:
        from aiohttp import web

        return web.json_response({"object": "list", "data": [{"id": "sim", "object": "model"}]})

    async def _chat(self, request: Any) -> Any:
        from aiohttp import web

        t_arrive = time.monotonic()
        wall = time.time()
        denied = self._check_auth(request, t_arrive, wall)
        if denied is not None:
            return denied
        try:
            body = await request.json()
            model = str(body["model"])
            messages = body["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("messages must be a non-empty list")
        except (ValueError, KeyError, TypeError) as exc:
            self._log(t=t_arrive, wall=wall, model=None, sample=None, fault="bad_request", status=400, tokens=0)
            return web.json_response({"error": {"message": f"bad request: {exc}"}}, status=400)
        try:
            sample = int(request.headers.get(SAMPLE_HEADER, "0"))
        except ValueError:
            sample = 0
        seed = body.get("seed")
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        text_in = message_text(messages)
        fault = self._choose_fault(text_in)
        ev = dict(
            t=t_arrive,
            wall=wall,
            model=model,
            sample=sample,
            fault=fault,
            status=200,
            tokens=0,
            prompt_hash=_digest(text_in),
        )
        failed = self._fault_response(request, fault, ev)
        if failed is not None:
            return failed
        if fault == "slow":
            ev["status"] = 200
            self._log(**ev)
            await asyncio.sleep(self.faults.slow_s)
        elif self.latency_s > 0:
            await asyncio.sleep(self.latency_s)

        text, finish, usage = await self._answer(model, messages, sample, seed, max_tokens, text_in)
        ev["tokens"] = int(usage.get("total_tokens", 0))
        if fault != "slow":
            self._log(**ev)

        if fault == "malformed":
            return web.Response(
                body=b'{"id": "chatcmpl-sim", "choices": [{"index": 0, "message": {"role": "assis',
                content_type="application/json",
            )
        broken = self._body_fault(request, fault, text)
        if broken is not None:
            return broken
        payload = {
            "id": f"chatcmpl-sim-{_digest(model, text_in, sample, seed):x}",
            "object": "chat.completion",
            "created": int(wall),
            "model": model,
            "choices": []
            if fault == "empty"
            else [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": usage,
        }
        return web.json_response(payload)

    def _check_auth(self, request: Any, t_arrive: float, wall: float) -> Any:
        """A 401 response if a key is required and the request lacks it, else None."""
        from aiohttp import web

        if self._api_key is None:
            return None
        auth = request.headers.get("Authorization", "")
        if auth == f"Bearer {self._api_key}":
            return None
        given = auth[7:] if auth.startswith("Bearer ") else auth
        self._log(t=t_arrive, wall=wall, model=None, sample=None, fault="auth", status=401, tokens=0)
        # Real APIs echo (part of) the bad key; so do we, to prove
        # the client redacts it.
        return web.json_response(
            {"error": {"message": f"Incorrect API key provided: {given}", "type": "invalid_request_error"}},
            status=401,
        )

    def _body_fault(self, request: Any, fault: str | None, text: str) -> Any:
        """A 200 (or, for echo_auth_error, 400) answer with a broken or leaky body, else None."""
        from aiohttp import web

        auth = request.headers.get("Authorization", "")
        if fault == "not_json":
            return web.Response(body=b"<html><body>Bad gateway</body></html>", content_type="text/html")
        if fault == "nested":
            return web.Response(body=b"[" * 200_000 + b"]" * 200_000, content_type="application/json")
        if fault == "latin1":  # declares UTF-8, sends Latin-1 bytes
            body = '{"choices": [{"message": {"role": "assistant", "content": "caf\xe9 na\xefve"}}]}'
            return web.Response(
                body=body.encode("latin-1"), headers={"Content-Type": "application/json; charset=utf-8"}
            )
        if fault == "huge":
            content = (text + " ") * max(1, (8 << 20) // max(1, len(text) + 1))
            return web.json_response(
                {
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ]
                }
            )
        if fault == "echo_auth":
            content = f"{text} (your header was {auth})"
            return web.json_response(
                {
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                    "debug": {"authorization": auth},
                }
            )
        if fault == "echo_auth_error":
            # "Bearer " + key starts at character 290 of the body, so a
            # 300-character excerpt cuts the key after a few characters.
            head = '{"error": {"message": "'
            pad = "x" * (290 - len(head) - 7)
            return web.Response(body=f'{head}{pad}{auth}"}}}}'.encode(), status=400, content_type="application/json")
        return None

    async def _elsewhere(self, request: Any) -> Any:
        from aiohttp import web

        payload = {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": FOLLOWED_TEXT}, "finish_reason": "stop"}
            ]
        }
        return web.json_response(payload)

    def _fault_response(self, request: Any, fault: str | None, ev: dict[str, Any]) -> Any:
        """The response of a fault that answers without content (429, 5xx, 400, drop), else None."""
        from aiohttp import web

        if fault == "429":
            ev["status"] = 429
            self._log(**ev)
            return web.json_response(
                {"error": {"message": "rate limited (simulated)", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": f"{self.faults.retry_after_s:g}"},
            )
        if fault in ("301", "302", "307"):
            ev["status"] = int(fault)
            self._log(**ev)
            return web.Response(status=int(fault), headers={"Location": "/v1/elsewhere"})
        if fault in STATUS_FAULTS:
            ev["status"] = int(fault)
            self._log(**ev)
            return web.json_response({"error": {"message": f"simulated {fault}"}}, status=int(fault))
        if fault == "drop":
            ev["status"] = 0
            self._log(**ev)
            transport = request.transport
            if transport is not None:
                transport.abort()
            # The handler must still return something; the peer is gone.
            return web.Response(status=500)
        return None

    async def _answer(
        self, model: str, messages: list, sample: int, seed: Any, max_tokens: Any, text_in: str
    ) -> tuple[str, str | None, dict[str, Any]]:
        """The responder's text cut to ``max_tokens``, its finish reason and usage."""
        res = self.responder(model, messages, sample, seed)
        if inspect.isawaitable(res):
            res = await res
        if isinstance(res, SimReply):
            reply = res
        elif isinstance(res, tuple):
            reply = SimReply(str(res[0]), res[1] if len(res) > 1 else None)
        else:
            reply = SimReply(str(res))
        text = reply.text
        finish = reply.finish_reason
        if max_tokens is not None:
            words = text.split()
            if len(words) > int(max_tokens):
                text = " ".join(words[: int(max_tokens)])
                finish = "length"
        usage = dict(reply.usage) if reply.usage else None
        if usage is None or (max_tokens is not None and text != reply.text):
            pt, ct = count_tokens(text_in), count_tokens(text)
            usage = {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct}
        return text, finish, usage

    # -- lifecycle -----------------------------------------------------------
    def _app(self) -> Any:
        from aiohttp import web

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_route("*", "/v1/elsewhere", self._elsewhere)
        return app

    async def start(self) -> SimServer:
        from aiohttp import web

        # access_log=None: a log line per request would dominate the server's
        # CPU in benchmarks.
        # handler_cancellation: a "slow" handler stops when the client hangs
        # up, and shutdown does not wait for it.
        self._runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, reuse_address=True)
        try:
            await site.start()
        except BaseException:  # a port in use: nothing stays set up
            await self.stop()
            raise
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> SimServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.stop())
                loop.close()

        self._thread = threading.Thread(target=run, name="distillscope-simserver", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("simulated server did not start within 30 s")
        if errors:
            raise errors[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None
            self._loop = None

    # -- analysis helpers ----------------------------------------------------
    def arrival_times(self, *, model: str | None = None, with_fault: bool = True) -> list[float]:
        with self._lock:
            evs = list(self.events)
        return sorted(
            e["t"] for e in evs if (model is None or e["model"] == model) and (with_fault or e["fault"] is None)
        )


__all__ = [
    "BODY_FAULTS",
    "FAULT_KINDS",
    "FOLLOWED_TEXT",
    "STATUS_FAULTS",
    "Faults",
    "Responder",
    "SimReply",
    "SimServer",
    "copy_responder",
    "count_tokens",
    "default_responder",
    "message_text",
]
