"""Gather throughput and client overhead against the local simulated server.

The server runs in its own process (``distillscope serve-sim``) so the
client's numbers are its own. For each concurrency (1, 64, 256) it runs

* ``distillscope``: :func:`run_requests` -- rate-limiter, retry logic,
  response parsing, one store append per request (fsync policy "interval");
* ``bare aiohttp``: the same POSTs from a minimal loop over one
  ClientSession with a semaphore, parsing the JSON and nothing else -- the
  floor any aiohttp client pays;

and prints requests/s, client CPU per request (process time / requests)
and the ratio of the two clients. Both must get every answer.

    python benchmarks/bench_gather.py [--requests 4000] [--latency 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "distillscope", "serve-sim", "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError("serve-sim did not start")
    return proc, url


def specs(n: int, tag: str):
    from distillscope.gather.prompts import RequestSpec

    return [
        RequestSpec(f"{tag}-{i}", [{"role": "user", "content": f"Benchmark prompt {i}: describe item {i}."}])
        for i in range(n)
    ]


def bench_distillscope(url: str, n: int, conc: int, tmp: Path) -> dict:
    from distillscope.gather.config import ModelConfig
    from distillscope.gather.run import run_requests

    m = ModelConfig(name=f"bench-c{conc}", base_url=url, model="b", concurrency=conc, requests_per_minute=10_000_000)
    reqs = specs(n, f"c{conc}")
    store = tmp / f"ds-c{conc}.jsonl"
    c0, t0 = time.process_time(), time.perf_counter()
    res = run_requests(m, reqs, store)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = sum(1 for r in res.records.values() if r["error"] is None)
    return {"wall_s": wall, "cpu_s": cpu, "ok": ok, "rps": n / wall, "cpu_us_per_req": 1e6 * cpu / n}


def bench_bare(url: str, n: int, conc: int) -> dict:
    import aiohttp

    async def go() -> int:
        sem = asyncio.Semaphore(conc)
        ok = 0
        endpoint = url.rstrip("/") + "/chat/completions"

        async def one(session, i):
            nonlocal ok
            body = {
                "model": "b",
                "messages": [{"role": "user", "content": f"Benchmark prompt {i}: describe item {i}."}],
            }
            async with sem:
                async with session.post(endpoint, json=body) as r:
                    data = json.loads(await r.read())
                    if data["choices"][0]["message"]["content"]:
                        ok += 1

        conn = aiohttp.TCPConnector(limit=conc, limit_per_host=0)
        async with aiohttp.ClientSession(connector=conn) as s:
            await asyncio.gather(*(one(s, i) for i in range(n)))
        return ok

    c0, t0 = time.process_time(), time.perf_counter()
    ok = asyncio.run(go())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "ok": ok, "rps": n / wall, "cpu_us_per_req": 1e6 * cpu / n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=4000, help="requests per run at concurrency 64/256")
    ap.add_argument("--requests-c1", type=int, default=500, help="requests at concurrency 1")
    ap.add_argument("--latency", type=float, default=0.0, help="server latency per answer (s)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 64, 256])
    ap.add_argument("--json", default=None, help="also write results here")
    args = ap.parse_args()

    import aiohttp

    import distillscope

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"python {platform.python_version()} aiohttp {aiohttp.__version__} distillscope {distillscope.__version__}"
    )
    print(f"server: distillscope serve-sim in its own process, latency {args.latency:g}s")
    proc, url = start_server(args.latency)
    results = []
    try:
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td)
            # warm-up (imports, connection setup)
            (tmp / "warm").mkdir()
            bench_distillscope(url, 50, 8, tmp / "warm")
            print(f"{'conc':>5} {'client':<13} {'req/s':>8} {'CPU us/req':>11} {'ok':>6}")
            for conc in args.concurrency:
                n = args.requests_c1 if conc == 1 else args.requests
                ds = bench_distillscope(url, n, conc, tmp)
                bare = bench_bare(url, n, conc)
                for name, r in (("distillscope", ds), ("bare aiohttp", bare)):
                    print(f"{conc:>5} {name:<13} {r['rps']:>8.0f} {r['cpu_us_per_req']:>11.0f} {r['ok']:>6}")
                    if r["ok"] != n:
                        print(f"  !! {name} got {r['ok']}/{n} answers")
                        return 1
                print(
                    f"      ratio distillscope/bare: throughput {ds['rps'] / bare['rps']:.2f}x, "
                    f"CPU per request {ds['cpu_us_per_req'] / bare['cpu_us_per_req']:.2f}x"
                )
                results.append({"concurrency": conc, "requests": n, "distillscope": ds, "bare_aiohttp": bare})
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    top = [r for r in results if r["concurrency"] == 256]
    if top:
        rps = top[0]["distillscope"]["rps"]
        print(f"target >= 500 req/s at concurrency 256: {'met' if rps >= 500 else 'NOT met'} ({rps:.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
