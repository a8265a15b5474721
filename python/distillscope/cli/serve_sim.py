"""``distillscope serve-sim``: run the simulated OpenAI-compatible server."""

from __future__ import annotations

import argparse
import asyncio
import errno

from ..gather.simserver import FAULT_KINDS, Faults, Responder, SimServer, copy_responder, default_responder
from ._flags import check_nonempty


def configure_serve_sim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=8000, help="port (0 = pick a free one)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    p.add_argument("--api-key-env", default=None, help="require the key held in this env var")
    for kind in FAULT_KINDS:
        p.add_argument(
            f"--fault-{kind}", type=float, default=0.0, dest=f"fault_{kind}", help=f"rate of {kind!r} faults"
        )
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    p.add_argument("--slow", type=float, default=30.0, help="delay of 'slow' faults, seconds")
    p.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    p.add_argument("--copy-teacher", default=None, help="teacher model name for copying students")
    p.add_argument(
        "--copy-rate", action="append", default=[], metavar="MODEL=RATE", help="student copy rate (repeatable)"
    )


def run_serve_sim(args: argparse.Namespace) -> int:
    import math
    import os
    import sys

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in 0..65535 (0: pick a free one), got {args.port}")
    for flag, v in (("--latency", args.latency), ("--retry-after", args.retry_after), ("--slow", args.slow)):
        if not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{flag} must be a finite number of seconds >= 0, got {v}")
    for k in FAULT_KINDS:
        v = getattr(args, f"fault_{k}")
        if not (math.isfinite(v) and 0 <= v <= 1):
            raise ValueError(f"--fault-{k} is a rate in [0, 1], got {v}")
    rates = {k: getattr(args, f"fault_{k}") for k in FAULT_KINDS if getattr(args, f"fault_{k}") > 0}
    faults = Faults(rates=rates, retry_after_s=args.retry_after, slow_s=args.slow, seed=args.seed)
    key = None
    # --api-key-env '' used to serve without any key: the user asked for one
    check_nonempty("--api-key-env", args.api_key_env, "the name of an environment variable (or left out: no key)")
    if args.api_key_env:
        from ..gather.config import check_env_name

        check_env_name("--api-key-env", args.api_key_env)  # a key typed here must not be echoed back
        key = os.environ.get(args.api_key_env)
        if not key:
            raise ValueError(f"environment variable {args.api_key_env} is empty; export it or drop --api-key-env")
    responder: Responder = default_responder
    if args.copy_rate:
        if not args.copy_teacher:
            raise ValueError("--copy-rate needs --copy-teacher NAME")
        cr = {}
        for item in args.copy_rate:
            m, _, r = item.partition("=")
            try:
                rate = float(r)
            except ValueError:
                rate = math.nan
            if not m or not 0 <= rate <= 1:  # nan fails too
                raise ValueError(f"--copy-rate takes MODEL=RATE with RATE in [0, 1], e.g. student=0.5; got {item!r}")
            cr[m] = rate
        responder = copy_responder(args.copy_teacher, cr)
    srv = SimServer(
        host=args.host, port=args.port, responder=responder, faults=faults, latency_s=args.latency, api_key=key
    )
    srv.record_events = False

    async def main() -> None:
        await srv.start()
        print(f"serving {srv.url} (simulated OpenAI-compatible chat API); Ctrl-C to stop", file=sys.stderr, flush=True)
        print(srv.url, flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await srv.stop()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # the bind: a port another program holds, or one reserved for root
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise ValueError(
                f"--port {args.port}: cannot listen there ({exc.strerror}); pick another port, "
                "or --port 0 for a free one"
            ) from None
        raise
    return 0


__all__ = ["configure_serve_sim", "run_serve_sim"]
