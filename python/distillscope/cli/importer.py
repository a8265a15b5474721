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
    import_alpaca_eval,
    import_arena_hard,
    import_mt_bench,
    import_table,
)


def configure_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="source files (model_outputs.json, answer .jsonl, .csv, .parquet)")
    p.add_argument("--store", required=True, help="response store (JSONL) to append to")
    p.add_argument("--kind", choices=KINDS, default="auto", help="source format")
    p.add_argument("--model", default=None, help="model name (overrides the file's; required for tables without a model column)")
    p.add_argument("--questions", default=None, help="MT-Bench / Arena-Hard question.jsonl (prompt text)")
    p.add_argument("--prompts", default=None, help="prompt file whose ids records take when their text matches")
    p.add_argument("--unmatched", choices=UNMATCHED_POLICIES, default="hash", help="records whose text is not in --prompts")
    p.add_argument("--ids", choices=ID_POLICIES, default="native", help="without --prompts: the source's ids or text-hash ids")
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

    mapping: dict[str, str] = {}
    for m in args.map:
        k, sep, v = m.partition("=")
        if not sep or k not in ("model", "prompt", "response", "id", "sample"):
            raise ValueError(f"--map {m!r}: use FIELD=COLUMN with FIELD in model, prompt, response, id, sample")
        mapping[k] = v
    index = PromptIndex.from_file(args.prompts) if args.prompts else None
    common = dict(prompts=index, unmatched=args.unmatched, ids=args.ids)
    reports = []
    for f in args.files:
        kind = detect_kind(f) if args.kind == "auto" else args.kind
        if kind == "alpaca_eval":
            rep = import_alpaca_eval(f, args.store, model=args.model, **common)
        elif kind in ("arena_hard", "mt_bench"):
            fn = import_arena_hard if kind == "arena_hard" else import_mt_bench
            rep = fn(f, args.store, questions=args.questions, model=args.model, **common)
        else:
            if args.model is None and "model" not in mapping:
                raise ValueError(f"{f}: a table needs --model NAME or --map model=COLUMN")
            rep = import_table(
                f,
                args.store,
                model=args.model,
                model_column=None if args.model else mapping.get("model"),
                prompt_column=mapping.get("prompt", "prompt"),
                response_column=mapping.get("response", "response"),
                id_column=mapping.get("id"),
                sample_column=mapping.get("sample"),
                **common,
            )
        reports.append((f, kind, rep))
    if args.format == "json":
        print(json.dumps([{"file": f, "kind": k, **asdict(r)} for f, k, r in reports], indent=2))
    else:
        for f, k, r in reports:
            print(f"{f} ({k}): {r.format_text()}")
    return 0


__all__ = ["configure_import", "run_import"]
