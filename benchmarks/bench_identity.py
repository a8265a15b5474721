"""Throughput of the role-play identity scanner (identity.voice) on the seed
paper's 6,000 real jailbreak answers, one core.

    python benchmarks/bench_identity.py                       # ../shared/data/seed_identity
    python benchmarks/bench_identity.py --data DIR --repeat 3 --target-rate 1000

Reports answers per second (wall and CPU time, best of --repeat passes over
all answers) and exits 1 when the CPU-time rate is below --target-rate
(the issue's target: 1,000 answers/s on one core). CPU time is reported
beside wall time because shared machines inflate wall time.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from distillscope.identity.registry import Registry
from distillscope.identity.voice import VoiceScanner


def _default_data() -> Path:
    here = Path(__file__).resolve().parents[1]
    for root in (here.parent, here.parent.parent):
        d = root / "shared" / "data" / "seed_identity"
        if d.is_dir():
            return d
    return here.parent / "shared" / "data" / "seed_identity"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_default_data())
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target-rate", type=float, default=1000.0)
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args(argv)
    files = sorted(args.data.glob("*.jsonl"))
    if not files:
        print(f"no *.jsonl under {args.data}; pass --data DIR", file=sys.stderr)
        return 2
    reg = Registry.default()
    sc = VoiceScanner(reg)
    work = []
    for f in files:
        t = reg.target(f.name.split("_GPT_", 1)[1].removesuffix(".jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                work.append((r["target_responses"][0], t, r["jailbreak_prompt"].replace("{query}", r["query"])))
    chars = sum(len(w[0]) for w in work)
    best_wall = best_cpu = float("inf")
    hits = 0
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        hits = sum(sc.scan(resp, t, prompt).contradicts for resp, t, prompt in work)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    out = {
        "answers": len(work),
        "mean_chars": chars / len(work),
        "contradictions": hits,
        "answers_per_s_wall": len(work) / best_wall,
        "answers_per_s_cpu": len(work) / best_cpu,
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    ok = out["answers_per_s_cpu"] >= args.target_rate
    print(
        f"{'ok' if ok else 'BELOW TARGET'}: {out['answers_per_s_cpu']:.0f} answers/s (CPU time) vs target {args.target_rate:.0f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
