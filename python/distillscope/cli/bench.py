"""``distillscope bench``: every kernel against the tools users would otherwise pick."""

from __future__ import annotations

import sys
from typing import Any

from ..scale.bench import SIZES, run_suite


def configure_bench(p: Any) -> None:
    p.add_argument("--size", choices=tuple(SIZES), default="small", help="preset data size")
    p.add_argument("--pairs", type=int, help="text pairs (overrides the preset)")
    p.add_argument("--dense", type=int, help="rows for cosine_paired (overrides the preset)")
    p.add_argument("--dim", type=int, help="embedding dimension")
    p.add_argument("--queries", type=int, help="top-k queries")
    p.add_argument("--corpus", type=int, help="top-k corpus rows")
    p.add_argument("--threads", default="", help="comma-separated thread counts (default: 1 and all cores)")
    p.add_argument("--batch-sizes", default="", help="comma-separated batch sizes for the sweep plot")
    p.add_argument("--only", default="dense,text,embed,sweep", help="sections to run")
    p.add_argument("--out", default="bench-results", help="folder for bench.json, bench.md, bench.png")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")


def _ints(s: str, name: str) -> list[int] | None:
    if not s.strip():
        return None
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--{name} takes comma-separated integers, e.g. 1,2; got {s!r}") from None


def run_bench(args: Any) -> int:
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in ("dense", "text", "embed", "sweep")]
    if bad:
        raise ValueError(f"--only takes dense,text,embed,sweep; got {bad}")
    doc = run_suite(
        args.size,
        args.out,
        threads=_ints(args.threads, "threads"),
        batch_sizes=_ints(args.batch_sizes, "batch-sizes"),
        overrides={
            "pairs": args.pairs,
            "dense": args.dense,
            "dim": args.dim,
            "queries": args.queries,
            "corpus": args.corpus,
        },
        seed=args.seed,
        plot=not args.no_plot,
        only=only,
    )
    if doc["failures"]:
        print("\nresults disagree:\n  " + "\n  ".join(doc["failures"]), file=sys.stderr)
        return 1
    return 0


__all__ = ["configure_bench", "run_bench"]
