"""Gather responses from OpenAI-compatible chat APIs: async, rate-limited,
fault-tolerant and resumable.

Entry points
------------
* ``distillscope gather CONFIG.toml`` -- the CLI (``--dry-run`` prints the plan).
* :func:`load_config` / :func:`plan` / :func:`gather` -- the same from Python.
* :func:`run_requests` -- send an arbitrary list of :class:`RequestSpec`
  (custom id, messages, sampling params) for one :class:`ModelConfig` into a
  store, with the same resume semantics (used e.g. by LLM judges).

How a run works
---------------
One ``aiohttp.ClientSession`` serves every model. Each model gets
``concurrency`` worker tasks, a request token bucket
(``requests_per_minute``) and a token bucket for ``tokens_per_minute``
(a request reserves its estimated prompt tokens + ``max_tokens`` before it is
sent, and the reservation is corrected with the reported usage afterwards).
A 429 pauses the whole model for its ``Retry-After``. Failed attempts are
classified: HTTP 408/409/425/429/5xx, timeouts, dropped connections,
malformed JSON and empty ``choices`` are retried with exponential backoff and
jitter (never sooner than ``Retry-After``); other 4xx are permanent. After
``max_retries`` retries the final error is recorded -- never a fake answer.

Every finished request is appended to the store (see :mod:`distillscope.store.store`)
the moment it completes, so a killed run loses at most the requests in
flight; a rerun skips every key already recorded with the same request hash,
so re-running a finished config sends no request at all.

API keys are read from the environment variable a model names
(``api_key_env``), held in an object whose ``repr`` is ``***``, sent only in
the ``Authorization`` header, and scrubbed from every error text before it
is stored, logged or reported.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping

from ..store.store import ResponseStore, latest_records, make_record
from .config import PARAMS_CHANGE_POLICIES, GatherConfig, ModelConfig, load_config
from .limits import (
    REDIRECT_STATUS,
    Failure,
    Limiter,
    Redactor,
    backoff,
    classify_status,
    estimate_tokens,
    parse_completion,
    parse_retry_after,
)
from .plan import ModelPlan, Plan, count_plan, plan, plan_jobs
from .progress import Progress
from .prompts import RequestSpec, last_user_text, params_hash, request_params

log = logging.getLogger("distillscope.gather")

SAMPLE_HEADER = "X-Distillscope-Sample"


@dataclass
class ModelReport:
    name: str
    planned: int = 0
    already_done: int = 0
    requested: int = 0
    succeeded: int = 0
    failed: int = 0
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: dict[str, int] = field(default_factory=dict)


@dataclass
class GatherReport:
    store: str
    planned: int = 0
    already_done: int = 0
    requested: int = 0
    succeeded: int = 0
    failed: int = 0
    attempts: int = 0
    elapsed_s: float = 0.0
    dry_run: bool = False
    models: dict[str, ModelReport] = field(default_factory=dict)

    @property
    def requests_per_s(self) -> float:
        return self.requested / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["requests_per_s"] = self.requests_per_s
        return d

    def format_text(self) -> str:
        head = "plan only (--dry-run)" if self.dry_run else f"done in {self.elapsed_s:.1f}s"
        lines = [
            f"gather {head}: {self.planned} planned, {self.already_done} already in store, "
            f"{self.requested} requested, {self.succeeded} succeeded, {self.failed} failed "
            f"({self.attempts} HTTP attempts, {self.requests_per_s:.1f} req/s) -> {self.store}"
        ]
        for m in self.models.values():
            fails = ", ".join(f"{k}={v}" for k, v in sorted(m.failures.items()))
            lines.append(
                f"  {m.name:<20} ok {m.succeeded}/{m.requested} tokens in/out {m.prompt_tokens}/{m.completion_tokens}"
                + (f"  failures: {fails}" if fails else "")
            )
        return "\n".join(lines)


async def _attempt(
    session: Any, model: ModelConfig, body: bytes, headers: dict[str, str], timeout: Any, redact: Redactor
) -> tuple[dict[str, Any] | None, Failure | None]:
    """One HTTP attempt: the parsed completion, or the classified failure.

    Redirects are not followed (an API that moved is a configuration error
    the user must see, and following one could send the key elsewhere).
    Every text taken from the reply is redacted before it is cut.
    """
    import aiohttp

    try:
        async with session.post(
            model.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        ) as resp:
            raw = await resp.read()
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            location = resp.headers.get("Location", "")
        if status == 200:
            return parse_completion(raw, redact)
        text = redact.excerpt(raw.decode("utf-8", "replace"), 300)
        if status in REDIRECT_STATUS:
            return None, Failure(
                f"http_{status}",
                f"HTTP {status}: the API redirects to {redact.excerpt(location, 200)!r}; redirects are not followed "
                "for API calls: set base_url to the address the API really answers at",
                False,
            )
        return None, Failure(f"http_{status}", f"HTTP {status}: {text}", classify_status(status), retry_after)
    except asyncio.TimeoutError:
        return None, Failure("timeout", f"no complete response within {model.timeout_s:g}s", True)
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
        return None, Failure("connection", redact.excerpt(f"{type(exc).__name__}: {exc}", 300), True)
    except aiohttp.ClientError as exc:
        return None, Failure("client_error", redact.excerpt(f"{type(exc).__name__}: {exc}", 300), True)
    except RecursionError:
        return None, Failure("malformed_json", "response nested too deeply to read", False)


class _Run:
    def __init__(self, store: ResponseStore, progress: Progress, seed: int | None) -> None:
        self.store = store
        self.progress = progress
        self.rng = random.Random(seed)
        self.redact = Redactor()

    async def one(
        self,
        session: Any,
        model: ModelConfig,
        headers: dict[str, str],
        limiter: Limiter,
        spec: RequestSpec,
        rep: ModelReport,
        timeout: Any,
        redact: Redactor,
    ) -> dict[str, Any]:
        params = request_params(model, spec)
        body = json.dumps(
            {"model": model.model, "messages": list(spec.messages), **params}, ensure_ascii=False
        ).encode("utf-8")
        hdrs = {**headers, SAMPLE_HEADER: str(spec.sample)}
        est = estimate_tokens(model, spec, params) if limiter.tokens is not None else 0
        phash = params_hash(model, spec, params)
        started = time.time()
        t0 = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            await limiter.acquire(est)
            result, fail = await _attempt(session, model, body, hdrs, timeout, redact)
            rep.attempts += 1
            if fail is None and result is not None:
                usage = result["usage"] or {}
                if limiter.tokens is not None and "total_tokens" in usage:
                    limiter.tokens.adjust(est - usage["total_tokens"])
                rep.prompt_tokens += usage.get("prompt_tokens", 0)
                rep.completion_tokens += usage.get("completion_tokens", 0)
                return self._record(model, spec, phash, result["response"], None, None, result, attempts, started, t0)
            assert fail is not None
            if limiter.tokens is not None:
                limiter.tokens.adjust(est)  # nothing was generated
            msg = redact(fail.message)
            if not fail.retryable or attempts > model.max_retries:
                rep.failures[fail.kind] = rep.failures.get(fail.kind, 0) + 1
                reason = msg if not fail.retryable else f"{msg} (gave up after {attempts} attempts)"
                return self._record(model, spec, phash, None, reason, fail.kind, None, attempts, started, t0)
            delay = backoff(model, attempts, self.rng)
            if fail.retry_after is not None:
                wait = min(fail.retry_after, model.retry_after_max_s)
                delay = max(delay, wait)
                if fail.kind == "http_429":
                    limiter.pause(wait)
            self.progress.retries += 1
            log.debug(
                "model=%s id=%s sample=%d attempt=%d %s: %s; retry in %.2fs",
                model.name, spec.custom_id, spec.sample, attempts, fail.kind, msg, delay,
            )
            await asyncio.sleep(delay)

    def _record(
        self,
        model: ModelConfig,
        spec: RequestSpec,
        phash: str,
        response: str | None,
        error: str | None,
        error_kind: str | None,
        result: dict[str, Any] | None,
        attempts: int,
        started: float,
        t0: float,
    ) -> dict[str, Any]:
        return make_record(
            model.name,
            spec.custom_id,
            spec.sample,
            response,
            error,
            error_kind=error_kind,
            finish_reason=result["finish_reason"] if result else None,
            usage=result["usage"] if result else None,
            params_hash=phash,
            api_model=model.model,
            attempts=attempts,
            started_at=round(started, 6),
            finished_at=round(time.time(), 6),
            latency_s=round(time.monotonic() - t0, 6),
            source="api",
            prompt=last_user_text(spec.messages),
            meta=dict(spec.meta) if spec.meta else None,
        )

    async def model_job(self, session: Any, mp: ModelPlan, rep: ModelReport) -> None:
        import aiohttp

        model = mp.model
        headers = {"Content-Type": "application/json", **model.headers}
        key = model.api_key()
        if key is not None:
            headers["Authorization"] = f"Bearer {key.get()}"
        redact = self.redact
        limiter = Limiter(model)
        timeout = aiohttp.ClientTimeout(total=model.timeout_s)
        it = iter(mp.todo)

        async def worker() -> None:
            for spec in it:  # shared iterator: each spec goes to one worker
                t0, started = time.monotonic(), time.time()
                try:
                    rec = await self.one(session, model, headers, limiter, spec, rep, timeout, redact)
                except Exception as exc:  # noqa: BLE001 - one request's surprise must not end the run
                    msg = redact.excerpt(f"{type(exc).__name__}: {exc}", 300)
                    log.warning("model=%s id=%s sample=%d: unexpected %s; recorded as a failure",
                                model.name, spec.custom_id, spec.sample, msg)
                    rep.failures["internal_error"] = rep.failures.get("internal_error", 0) + 1
                    rec = self._record(model, spec, params_hash(model, spec), None,
                                       f"{msg} (unexpected; please report it)", "internal_error", None, 1, started, t0)
                self.store.append(rec)
                ok = rec["error"] is None
                if ok:
                    rep.succeeded += 1
                else:
                    rep.failed += 1
                self.progress.update(ok)

        n = min(model.concurrency, max(1, len(mp.todo)))
        await asyncio.gather(*(worker() for _ in range(n)))


async def _execute(
    make_plan: Callable[[], Plan],
    *,
    fsync: str,
    fsync_interval_s: float,
    progress: str | Progress,
    seed: int | None,
) -> GatherReport:
    import aiohttp

    p = make_plan()
    st: ResponseStore | None = None
    if p.todo:
        # Resolve keys before opening anything: a missing key is a usage error.
        for mp in p.models:
            if mp.todo:
                mp.model.api_key()
        st = ResponseStore(p.store, fsync=fsync, fsync_interval_s=fsync_interval_s).open()
        # Plan again under the store's lock (and after repair): another run
        # may have finished keys between the first look and the lock.
        try:
            p = make_plan()
        except BaseException:
            st.close()
            raise
    rep = GatherReport(store=p.store, planned=p.planned, already_done=sum(m.done for m in p.models))
    for mp in p.models:
        rep.models[mp.model.name] = ModelReport(
            mp.model.name, planned=mp.planned, already_done=mp.done, requested=len(mp.todo)
        )
    rep.requested = p.todo
    t0 = time.monotonic()
    if p.todo == 0 or st is None:
        if st is not None:
            st.close()
        return rep
    prog = progress if isinstance(progress, Progress) else Progress(p.todo, mode=progress)
    prog.total = p.todo
    try:
        run = _Run(st, prog, seed)
        run.redact = Redactor.for_models(mp.model for mp in p.models if mp.todo)
        total_conc = sum(mp.model.concurrency for mp in p.models if mp.todo)
        connector = aiohttp.TCPConnector(limit=total_conc, limit_per_host=0, ttl_dns_cache=300)
        try:
            async with aiohttp.ClientSession(connector=connector, raise_for_status=False) as session:
                await asyncio.gather(
                    *(run.model_job(session, mp, rep.models[mp.model.name]) for mp in p.models if mp.todo)
                )
        finally:
            prog.close()
    finally:
        st.close()
    for m in rep.models.values():
        rep.succeeded += m.succeeded
        rep.failed += m.failed
        rep.attempts += m.attempts
    rep.elapsed_s = time.monotonic() - t0
    return rep


async def gather_async(
    config: GatherConfig | str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: str | Progress = "none",
    retry_failed: bool | None = None,
    seed: int | None = None,
) -> GatherReport:
    """Run (or with ``dry_run`` only plan) a gather config inside a running loop."""
    cfg = config if isinstance(config, GatherConfig) else load_config(config)
    if dry_run:
        p = count_plan(cfg, retry_failed=retry_failed)
        rep = GatherReport(store=p.store, planned=p.planned, already_done=sum(m.done for m in p.models), dry_run=True)
        rep.requested = p.todo
        for mp in p.models:
            rep.models[mp.model.name] = ModelReport(mp.model.name, mp.planned, mp.done, mp.n_todo)
        return rep
    return await _execute(
        lambda: plan(cfg, retry_failed=retry_failed),
        fsync=cfg.fsync,
        fsync_interval_s=cfg.fsync_interval_s,
        progress=progress,
        seed=seed,
    )


def gather(
    config: GatherConfig | str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: str | Progress = "none",
    retry_failed: bool | None = None,
    seed: int | None = None,
) -> GatherReport:
    """Synchronous :func:`gather_async` (runs its own event loop)."""
    return asyncio.run(gather_async(config, dry_run=dry_run, progress=progress, retry_failed=retry_failed, seed=seed))


@dataclass
class RequestsResult:
    """What :func:`run_requests` returns: the run's report and, for every
    requested spec, its latest store record keyed by ``(custom_id, sample)``."""

    report: GatherReport
    records: dict[tuple[str, int], dict[str, Any]]

    def __repr__(self) -> str:  # the records can be huge; asyncio reprs results
        r = self.report
        return f"RequestsResult(records={len(self.records)}, requested={r.requested}, failed={r.failed})"

    def response(self, custom_id: str, sample: int = 0) -> str | None:
        rec = self.records.get((str(custom_id), sample))
        return None if rec is None else rec.get("response")


async def run_requests_async(
    model: ModelConfig,
    requests: Iterable[RequestSpec | Mapping[str, Any]],
    store: str | os.PathLike[str],
    *,
    progress: str | Progress = "none",
    retry_failed: bool = False,
    on_params_change: str = "error",
    fsync: str = "interval",
    seed: int | None = None,
) -> RequestsResult:
    """Send arbitrary requests for one model into ``store``, resumably.

    ``requests`` are :class:`RequestSpec` or dicts with ``custom_id``,
    ``messages`` and optional ``sample``, ``params``, ``meta``. A spec whose
    record (same model name, id, sample and request hash) is already in the
    store is not sent again.
    """
    if on_params_change not in PARAMS_CHANGE_POLICIES:
        raise ValueError(f"on_params_change must be one of {PARAMS_CHANGE_POLICIES}")
    specs = [r if isinstance(r, RequestSpec) else RequestSpec(**dict(r)) for r in requests]
    rep = await _execute(
        lambda: plan_jobs(str(store), [(model, specs)], retry_failed=retry_failed, on_params_change=on_params_change),
        fsync=fsync,
        fsync_interval_s=1.0,
        progress=progress,
        seed=seed,
    )
    latest = latest_records(store)
    recs = {}
    for s in specs:
        r = latest.get((model.name, s.custom_id, s.sample))
        if r is not None:
            recs[(s.custom_id, s.sample)] = r
    return RequestsResult(rep, recs)


def run_requests(
    model: ModelConfig,
    requests: Iterable[RequestSpec | Mapping[str, Any]],
    store: str | os.PathLike[str],
    **kwargs: Any,
) -> RequestsResult:
    """Synchronous :func:`run_requests_async`."""
    return asyncio.run(run_requests_async(model, requests, store, **kwargs))


__all__ = [
    "GatherReport",
    "ModelReport",
    "RequestsResult",
    "gather",
    "gather_async",
    "run_requests",
    "run_requests_async",
]
