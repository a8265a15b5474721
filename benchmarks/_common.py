"""Shared benchmark helpers: timing, machine description, ratio tables."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path


def best_of(fn: Callable[[], object], repeat: int = 3, min_time: float = 0.0) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs (first result returned for agreement checks)."""
    out = None
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        if i == 0:
            out = r
        if min_time and sum(times) > min_time and i >= 1:
            break
    return min(times), out


def race(fns: dict[str, Callable[[], object]], repeat: int = 5) -> dict[str, tuple[float, object]]:
    """Best wall time of each engine, the engines run round-robin.

    Interleaving gives every engine the same machine state (caches, clock,
    other jobs on a shared box) instead of timing one after the other.
    """
    best: dict[str, float] = {k: float("inf") for k in fns}
    first: dict[str, object] = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            r = fn()
            dt = time.perf_counter() - t0
            first.setdefault(name, r)
            best[name] = min(best[name], dt)
    return {k: (best[k], first[k]) for k in fns}


def machine() -> dict:
    """distillscope.scale.bench.machine_info() plus the BLAS-related environment."""
    from distillscope.scale.bench import machine_info

    info = machine_info()
    info["env"] = {
        k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS") if k in os.environ
    }
    return info


def print_machine(info: dict) -> None:
    print(f"machine: {info.get('cpu', '?')}, {info['cores']} cores, Python {info['python']}")
    caps = info.get("distillscope", {})
    if isinstance(caps, dict):
        print(f"distillscope {caps.get('version')} SIMD path: {caps.get('isa')} (available: {caps.get('available')})")
    blas = info.get("blas")
    if isinstance(blas, list):
        for b in blas:
            print(f"BLAS: {b['internal_api']} {b['version']} kernel={b['architecture']}")
    if info.get("env"):
        print(f"env: {info['env']}")


class Table:
    """Rows of (task, engine, seconds, throughput, unit); ratios vs a chosen baseline."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[dict] = []

    def add(self, task: str, engine: str, seconds: float, items: float, unit: str, agree: str = "") -> None:
        self.rows.append(
            {
                "task": task,
                "engine": engine,
                "seconds": seconds,
                "rate": items / seconds if seconds else float("inf"),
                "unit": unit,
                "agree": agree,
            }
        )

    def render(self, ours_prefix: str = "distillscope") -> str:
        lines = [
            f"## {self.title}",
            "",
            "| task | engine | throughput | distillscope speed-up | agreement |",
            "|---|---|---|---|---|",
        ]
        by_task: dict[str, list[dict]] = {}
        for r in self.rows:
            by_task.setdefault(r["task"], []).append(r)
        for task, rows in by_task.items():
            ours = [r for r in rows if r["engine"].startswith(ours_prefix)]
            ref = ours[0]["rate"] if ours else None
            for r in rows:
                ratio = "" if ref is None or r["engine"].startswith(ours_prefix) else f"{ref / r['rate']:.2f}×"
                lines.append(f"| {task} | {r['engine']} | {r['rate']:.4g} {r['unit']} | {ratio} | {r['agree']} |")
        return "\n".join(lines)

    def save(self, path: Path, info: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"title": self.title, "machine": info, "rows": self.rows}, indent=2, default=str))
