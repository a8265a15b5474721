"""``distillscope bench``: every kernel against the tools users would otherwise pick."""

from __future__ import annotations

import os
import sys
from typing import Any

from ..scale.bench import MAX_COUNTS, MIN_CORPUS, OUTPUTS, SIZES, TOPK_K, matrix_bytes, run_suite
from ._flags import check_int, check_path, int_list, str_list
from ._outputs import undone_on_failure


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


_SECTIONS = ("dense", "text", "embed", "sweep")
# what run_suite writes into --out: a failed run puts these back as they were
WRITES = OUTPUTS
# flag -> run_suite override key (it names the key: "bad override pairs=0")
_OVERRIDES = {"--pairs": "pairs", "--dense": "dense", "--dim": "dim", "--queries": "queries", "--corpus": "corpus"}


def _physical_memory() -> int | None:
    """Bytes of RAM of this machine, None where the OS does not say (not POSIX)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_memory(args: Any, only: list[str], batch_sizes: list[int] | None) -> None:
    """The random matrices of the dense section and the sweep fit in this
    machine's memory: within MAX_COUNTS, --dense x --dim can still ask for
    terabytes, which numpy refused with an internal MemoryError."""
    if "dense" not in only and "sweep" not in only:
        return
    cfg = dict(SIZES[args.size])
    cfg.update({key: getattr(args, key) for key in _OVERRIDES.values() if getattr(args, key) is not None})
    if "dense" not in only:
        cfg.update(dense=0, queries=0, corpus=0)
    need = matrix_bytes(cfg, max(batch_sizes or [0]) if "sweep" in only else 0)
    have = _physical_memory()
    if have is not None and need > have:
        raise ValueError(
            f"--dim {cfg['dim']:,} x the rows of --dense (twice), --queries + --corpus and the largest of "
            f"--batch-sizes (twice) need {need / 2**30:,.1f} GiB of float32 matrices, more than this machine's "
            f"{have / 2**30:,.1f} GiB of memory; lower them (or pick a smaller --size)"
        )


def run_bench(args: Any) -> int:
    # at least one section: --only , used to run nothing and exit 0
    only = str_list("--only", args.only, "sections", _SECTIONS)
    out = check_path("--out", args.out, "a folder path for bench.json, bench.md, bench.png")
    if "dense" in only:  # the top-k task takes the k=10 nearest of the --corpus rows
        check_int(
            "--corpus",
            args.corpus,
            MIN_CORPUS,
            note=f" (the dense section's top-{TOPK_K} search needs more than {TOPK_K} corpus rows; "
            "or leave --corpus out for the --size preset, or drop dense from --only)",
        )
    for flag, key in _OVERRIDES.items():
        check_int(flag, getattr(args, key), 1, MAX_COUNTS[key], note=" (or left out: the --size preset)")
    check_int("--seed", args.seed, 0, note=" (numpy seeds are non-negative)")
    threads = int_list("--threads", args.threads)
    batch_sizes = int_list("--batch-sizes", args.batch_sizes)
    _check_memory(args, only, batch_sizes)
    # run_suite creates --out first (an unwritable path fails at once); a run
    # that fails later leaves no empty or half-written folder behind
    with undone_on_failure(out, WRITES):
        doc = run_suite(
            args.size,
            out,
            threads=threads,
            batch_sizes=batch_sizes,
            overrides={key: getattr(args, key) for key in _OVERRIDES.values()},
            seed=args.seed,
            plot=not args.no_plot,
            only=only,
        )
    if doc["failures"]:
        print("\nresults disagree:\n  " + "\n  ".join(doc["failures"]), file=sys.stderr)
        return 1
    return 0


__all__ = ["WRITES", "configure_bench", "run_bench"]
