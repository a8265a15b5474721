"""``distillscope import``: import public benchmark outputs into a response store."""

from __future__ import annotations

import argparse
import json

from ..store.importers import (
    ID_POLICIES,
    KINDS,
    UNMATCHED_POLICIES,
    PromptIndex,
    detect_kind,
    import_responses,
    read_alpaca_eval,
    read_fastchat_answers,
    read_table,
    resolve_ids,
)
from ..store.store import check_store_file
from ._flags import check_nonempty


def configure_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="source files (model_outputs.json, answer .jsonl, .csv, .parquet)")
    p.add_argument("--store", required=True, help="response store (JSONL) to append to")
    p.add_argument("--kind", choices=KINDS, default="auto", help="source format")
    p.add_argument(
        "--model", default=None, help="model name (overrides the file's; required for tables without a model column)"
    )
    p.add_argument("--questions", default=None, help="MT-Bench / Arena-Hard question.jsonl (prompt text)")
    p.add_argument("--prompts", default=None, help="prompt file whose ids records take when their text matches")
    p.add_argument(
        "--unmatched", choices=UNMATCHED_POLICIES, default="hash", help="records whose text is not in --prompts"
    )
    p.add_argument(
        "--ids", choices=ID_POLICIES, default="native", help="without --prompts: the source's ids or text-hash ids"
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="table column mapping; FIELD in model, prompt, response, id, sample (repeatable)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format")


def run_import(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    # an empty value is not a left-out option: --model '' imported records of
    # model '', --prompts '' / --questions '' were silently skipped, --store ''
    # is the current folder
    for flag, value, what in (
        ("--store", args.store, "a response store file path such as responses.jsonl"),
        ("--model", args.model, "a model name (or left out: the file's model)"),
        ("--questions", args.questions, "a question.jsonl file (or left out)"),
        ("--prompts", args.prompts, "a prompt file (or left out)"),
    ):
        check_nonempty(flag, value, what)
    mapping: dict[str, str] = {}
    for m in args.map:
        k, sep, v = m.partition("=")
        if not sep or k not in ("model", "prompt", "response", "id", "sample") or not v.strip():
            raise ValueError(f"--map {m!r}: use FIELD=COLUMN with FIELD in model, prompt, response, id, sample")
        mapping[k] = v
    index = PromptIndex.from_file(args.prompts) if args.prompts else None
    common = dict(prompts=index, unmatched=args.unmatched, ids=args.ids)
    # Read (and join) every file before writing anything: a bad file among
    # several leaves the store as it was.
    check_store_file(args.store)
    jobs = []
    for f in args.files:
        kind = detect_kind(f) if args.kind == "auto" else args.kind
        if kind == "alpaca_eval":
            items = read_alpaca_eval(f, model=args.model)
        elif kind in ("arena_hard", "mt_bench"):
            items = read_fastchat_answers(f, questions=args.questions, model=args.model)
        else:
            if args.model is None and "model" not in mapping:
                raise ValueError(f"{f}: a table needs --model NAME or --map model=COLUMN")
            items = read_table(
                f,
                model=args.model,
                model_column=None if args.model else mapping.get("model"),
                prompt_column=mapping.get("prompt", "prompt"),
                response_column=mapping.get("response", "response"),
                id_column=mapping.get("id"),
                sample_column=mapping.get("sample"),
            )
        list(resolve_ids(items, **common))  # raises on records that cannot be joined
        jobs.append((f, kind, items))
    reports = [(f, kind, import_responses(items, args.store, source=kind, **common)) for f, kind, items in jobs]
    if args.format == "json":
        print(json.dumps([{"file": f, "kind": k, **asdict(r)} for f, k, r in reports], indent=2))
    else:
        for f, k, r in reports:
            print(f"{f} ({k}): {r.format_text()}")
    return 0


__all__ = ["configure_import", "run_import"]
