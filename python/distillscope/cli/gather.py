"""``distillscope gather``: run (or plan) a gather config."""

from __future__ import annotations

import argparse
import json
import logging

from ..gather.config import load_config
from ..gather.plan import count_plan
from ..gather.progress import PROGRESS_MODES
from ..gather.run import gather


def configure_gather(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="gather config (TOML)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the request count, send nothing")
    p.add_argument("--retry-failed", action="store_true", help="re-request keys whose recorded result is an error")
    p.add_argument("--progress", choices=PROGRESS_MODES, default="auto", help="bar on a terminal, log lines otherwise")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format on stdout")
    p.add_argument("--seed", type=int, default=None, help="seed of the backoff jitter")
    p.add_argument("-v", "--verbose", action="store_true", help="log every retry to stderr")


def run_gather(args: argparse.Namespace) -> int:
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_config(args.config)
    if args.dry_run:
        p = count_plan(cfg, retry_failed=args.retry_failed or None)
        if args.format == "json":
            print(
                json.dumps(
                    {
                        "store": p.store,
                        "planned": p.planned,
                        "requests": p.todo,
                        "models": {
                            mp.model.name: {"planned": mp.planned, "done": mp.done, "requests": mp.n_todo}
                            for mp in p.models
                        },
                    },
                    indent=2,
                )
            )
        else:
            print(p.describe())
        return 0
    rep = gather(cfg, progress=args.progress, retry_failed=args.retry_failed or None, seed=args.seed)
    print(json.dumps(rep.to_dict(), indent=2) if args.format == "json" else rep.format_text())
    return 0 if rep.failed == 0 else 1


__all__ = ["configure_gather", "run_gather"]
