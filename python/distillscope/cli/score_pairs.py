"""``distillscope score-pairs``: stream-score a pair file into Parquet (checkpointed, optionally on Dask)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..scale.pairio import DEFAULT_CHUNK
from ..scale.remote import CONNECT_TIMEOUT_S
from ..scale.scoring import PAIR_METRICS, parse_metrics, score_pairs, tokenizer_groups
from ._flags import check_encoder, check_int, check_nonempty, check_workers, naming


def configure_score_pairs(p: Any) -> None:
    import argparse

    p.add_argument("pairs", help="PAIRS.jsonl or PAIRS.parquet; every row has 'candidate' and 'reference' text")
    p.add_argument(
        "--metrics",
        default="rouge1,rouge2,rougeL,chrf",
        help=f"comma-separated, from {','.join(PAIR_METRICS)} (rougeN, jaccardN, containmentN too)",
    )
    p.add_argument("--emb-a", help="candidate embeddings .npy (pairs x dim, float32/float16), memory-mapped")
    p.add_argument("--emb-b", help="reference embeddings .npy, one row per pair")
    p.add_argument(
        "--encoder",
        metavar="MODEL",
        help="compute the cosine column from the texts with this encoder (a model name or directory; "
        "adds 'cosine' to --metrics; chunk by chunk, embedding cache used; instead of --emb-a/--emb-b)",
    )
    p.add_argument("--out", required=True, help="output Parquet file")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="pairs per chunk (memory ~ 2 chunks of text)")
    p.add_argument("--workers", type=int, default=-1, help="kernel threads (-1 = all cores)")
    p.add_argument(
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786): score the chunks on that cluster (it must answer within "
        f"{CONNECT_TIMEOUT_S} s)",
    )
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue an interrupted or failed run from its checkpoint (a JSONL input may be fixed after the "
        "bad row: the chunks before it are kept); --no-resume starts over, and replaces an earlier checkpoint "
        "only once it has scored a chunk of its own",
    )
    p.add_argument(
        "--tokenizer",
        default="unicode",
        help="word tokenizer for ROUGE/BLEU/overlap (unicode, rouge, 13a, whitespace), or per metric: "
        "'unicode,rouge*=rouge,bleu=13a'",
    )
    p.add_argument(
        "--peer-exact",
        action="store_true",
        help="rouge-score-exact ROUGE and sacrebleu-exact BLEU in one run (= --tokenizer peer)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--candidate-column", default="candidate")
    p.add_argument("--reference-column", default="reference")
    p.add_argument("--keep", default="", help="comma-separated input columns to copy into the output (e.g. id,model)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress line on stderr (default: when stderr is a terminal)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="summary format on stdout")


def _check_flags(args: Any) -> None:
    """What score_pairs would refuse naming its parameters (chunk_size,
    workers, metrics, tokenizer), named by the flags, before anything is read.
    An empty string option is refused too: a column named '' is "no such
    field", an empty path is the current folder, an empty scheduler address
    or tokenizer spec is not a left-out option."""
    for flag, value, what in (
        ("--out", args.out, "a Parquet file path ending in .parquet"),
        ("--candidate-column", args.candidate_column, "the name of the candidate-text column"),
        ("--reference-column", args.reference_column, "the name of the reference-text column"),
        ("--emb-a", args.emb_a, "a .npy file of candidate embeddings"),
        ("--emb-b", args.emb_b, "a .npy file of reference embeddings"),
        ("--scheduler", args.scheduler, "a Dask scheduler address like tcp://host:8786 (or left out: this machine)"),
        ("--tokenizer", args.tokenizer, "a tokenizer spec such as unicode or 'unicode,bleu=13a'"),
    ):
        check_nonempty(flag, value, what)
    if not Path(args.out).name.lower().endswith((".parquet", ".pq")):  # score_pairs says "out must be"
        raise ValueError(f"--out must be a Parquet file path ending in .parquet, got {args.out!r}")
    check_encoder("--encoder", args.encoder, keywords=(), left_out=" (or left out: no cosine from the texts)")
    check_int("--chunk-size", args.chunk_size, 1)
    check_workers("--workers", args.workers)
    with naming("--metrics", args.metrics):
        lexical, _ = parse_metrics(args.metrics)
    if not args.peer_exact:
        with naming("--tokenizer", args.tokenizer):
            tokenizer_groups(lexical, args.tokenizer)


def _check_columns(args: Any) -> None:
    """--candidate-column, --reference-column and --keep name columns the
    input has: checked on its schema or first row, before
    an encoder is loaded or a checkpoint folder created."""
    from ..scale.pairio import file_format, input_columns

    src = Path(args.pairs)
    if not src.is_file():
        return  # score_pairs names the missing file
    have = input_columns(src)
    if have is None:
        return  # an empty file or a first row that is not an object: score_pairs says which row
    shown = ", ".join(map(repr, have[:20])) + (" ..." if len(have) > 20 else "")
    for flag, col, what in (
        ("--candidate-column", args.candidate_column, "candidate"),
        ("--reference-column", args.reference_column, "reference"),
    ):
        if col not in have:
            raise ValueError(
                f"{flag} {col!r}: {args.pairs} has no such column (it has {shown}); "
                f"pass the name of its {what}-text column"
            )
    # a kept column the input lacks altogether used to become an all-null
    # output column (a typo went unnoticed); JSONL rows after the first may
    # still lack a kept field (null there)
    missing = [k for k in _keep(args) if k not in have]
    if missing:
        where = "its first row has" if file_format(src) == "jsonl" else "it has"
        raise ValueError(
            f"--keep: {args.pairs} has no column(s) {', '.join(map(repr, missing))} ({where} {shown}); "
            "keep columns it has, or leave --keep out"
        )


def _keep(args: Any) -> list[str]:
    return [k.strip() for k in args.keep.split(",") if k.strip()]


def run_score_pairs(args: Any) -> int:
    _check_flags(args)
    if args.scheduler:  # before reading anything: a missing extra is the user's to install
        from ..scale.remote import check_scheduler_address, require_dask

        require_dask()
        check_scheduler_address(args.scheduler, "--scheduler")
    if args.encoder is not None and (args.emb_a is not None or args.emb_b is not None):
        raise ValueError("--encoder computes the embeddings from the texts: drop --emb-a/--emb-b, or drop --encoder")
    if args.encoder is not None and args.scheduler:
        raise ValueError(
            "--encoder runs on this machine only; with --scheduler pass precomputed --emb-a/--emb-b instead"
        )
    _check_columns(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    encoder = None
    if args.encoder is not None:
        from ..embed.encoder import Encoder

        encoder = Encoder(args.encoder, threads=None if args.workers < 1 else args.workers)
    s = score_pairs(
        args.pairs,
        args.out,
        args.metrics,
        emb_a=args.emb_a,
        emb_b=args.emb_b,
        chunk_size=args.chunk_size,
        workers=args.workers,
        resume=args.resume,
        columns=(args.candidate_column, args.reference_column),
        keep=_keep(args),
        tokenizer="peer" if args.peer_exact else args.tokenizer,
        scheduler=args.scheduler,
        progress=progress,
        overwrite=args.overwrite,
        encoder=encoder,
    )
    if args.format == "json":
        print(json.dumps(s.as_dict()))
    else:
        resumed = f" (resumed at row {s.resumed_from:,})" if s.resumed_from else ""
        print(f"scored {s.rows:,} pairs in {s.seconds:.1f} s{resumed} -> {s.out}")
        print(f"columns: {', '.join(s.columns)}")
    return 0


__all__ = ["configure_score_pairs", "run_score_pairs"]
