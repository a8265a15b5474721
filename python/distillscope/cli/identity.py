"""``distillscope identity {check,probes}``: classify responses and compute rates, or write the probe prompts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..identity.answers import check_answers, parse_map, read_answers
from ..identity.check import check_records, read_jsonl
from ..identity.formats import format_csv, format_markdown
from ..identity.probes import LANGUAGES, VARIANTS, build_probes
from ..identity.registry import Registry
from ._flags import check_nonempty, check_not_an_input, str_list


def configure_identity(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="{check,probes}")
    c = sub.add_parser(
        "check",
        help="classify existing responses and compute loose/strict/hard rates",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument(
        "--input",
        required=True,
        help="JSONL with 'prompt' (or 'messages') and 'response' per line; the seed paper's attack results "
        "(jailbreak_prompt/query/target_responses); or any JSONL/CSV with --map",
    )
    c.add_argument(
        "--map",
        default=None,
        metavar="KEY=COLUMN,...",
        help="column names for any JSONL/CSV: prompt=…,response=…[,question=…,category=…,model=…,language=…]",
    )
    c.add_argument(
        "--extractor",
        choices=("auto", "claims", "voice"),
        default="auto",
        help="'claims' reads short probe answers (consistent/contradicts/no_claim); 'voice' reads long role-play "
        "jailbreak answers (persona lines, think blocks, implied vendors); auto: voice for seed attack results, "
        "--map and .csv, claims for prompt/response JSONL (the gatherer's store); see docs/identity.md",
    )
    c.add_argument(
        "--target",
        default=None,
        help="model the responses came from (name, family id or vendor); default: each line's 'model'",
    )
    c.add_argument("--registry", default=None, help="JSON/TOML file that adds or overrides registry families/vendors")
    c.add_argument("--format", choices=("json", "csv", "markdown"), default="json")
    c.add_argument("--confidence", type=float, default=0.95)
    c.add_argument("--out", default=None, help="write here instead of stdout")
    q = sub.add_parser(
        "probes",
        help="write the identity probe prompts in the gatherer's prompt-file format",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    q.add_argument("--out", required=True, help="prompt file to write (.jsonl)")
    q.add_argument("--lang", default=",".join(LANGUAGES), help="comma-separated languages")
    q.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated framing variants")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--no-named", action="store_true", help="leave out the questions that name a model or vendor")
    q.add_argument("--messages", action="store_true", help="write chat 'messages' instead of 'prompt'")
    q.add_argument("--system", default=None, help="system message to put before each prompt (implies --messages)")
    q.add_argument("--registry", default=None, help="JSON/TOML registry file used for the named questions")


def _is_seed_file(path: str) -> bool:
    """Whether the first line of a JSONL file is one of the seed paper's attack results."""
    p = Path(path)
    if not p.is_file():
        return False
    with p.open("rb") as fh:
        for line in fh:
            if line.strip():
                try:
                    rec = json.loads(line)
                except ValueError:  # not JSON, or not UTF-8: not a seed file
                    return False
                return isinstance(rec, dict) and "target_responses" in rec
    return False


_REGISTRY = "a JSON/TOML registry file (or left out: the built-in registry)"


def _check_flags(args: argparse.Namespace) -> None:
    """Empty string options, named by their flag before anything is read or
    written: ``--out ''`` / ``--registry ''`` are not the current folder, and
    ``--map ''`` / ``--target ''`` / ``--system ''`` are not "left out"."""
    check_nonempty("--registry", args.registry, _REGISTRY)
    check_nonempty("--out", args.out, "a file path" + (" (.jsonl)" if args.action == "probes" else ""))
    if args.action == "probes":
        check_not_an_input("--out", args.out, {"--registry": args.registry})
        check_nonempty("--system", args.system, "the system message text (or left out: no system message)")
        return
    check_not_an_input("--out", args.out, {"--input": args.input, "--registry": args.registry})
    check_nonempty("--target", args.target, "a model, family or vendor name (or left out: each line's 'model')")
    if args.map is not None and not parse_map(args.map):
        raise ValueError(f"--map takes KEY=COLUMN,... e.g. prompt=instruction,response=output; got {args.map!r}")


def run_identity(args: argparse.Namespace) -> int:
    _check_flags(args)
    if args.action == "probes":
        # each one known and at least one: build_probes names neither flag, and
        # an empty list would write an empty prompt file
        langs = str_list("--lang", args.lang, "languages", LANGUAGES)
        variants = str_list("--variants", args.variants, "framing variants", VARIANTS)
        reg = Registry.load(args.registry)
        probes = build_probes(langs, variants, seed=args.seed, named=not args.no_named, registry=reg)
        out = Path(args.out)
        if out.parent and not out.parent.exists():
            raise FileNotFoundError(f"folder {str(out.parent)!r} does not exist; create it first")
        with out.open("w", encoding="utf-8") as fh:
            for pr in probes:
                fh.write(json.dumps(pr.record(messages=args.messages, system=args.system), ensure_ascii=False) + "\n")
        hard = sum(p.hard for p in probes)
        print(f"wrote {len(probes)} prompts ({hard} hard) to {out}", file=sys.stderr)
        return 0
    if not 0 < args.confidence < 1:
        raise ValueError(f"--confidence must be in (0, 1), got {args.confidence}")
    reg = Registry.load(args.registry)
    if Path(args.input).is_dir():
        raise IsADirectoryError(f"--input {args.input} is a folder; give the file of responses")
    mapping = parse_map(args.map)
    extractor = args.extractor
    if extractor == "auto":
        extractor = (
            "voice" if (mapping or str(args.input).lower().endswith(".csv") or _is_seed_file(args.input)) else "claims"
        )
    if extractor == "voice":
        answers = read_answers(args.input, mapping)
        result = check_answers(answers, args.target, registry=reg, confidence=args.confidence)
    else:
        # the input format and the extractor are independent: seed attack
        # results, --map columns and CSV are read the same way for both
        plain = not (mapping or str(args.input).lower().endswith(".csv") or _is_seed_file(args.input))
        records = read_jsonl(args.input) if plain else read_answers(args.input, mapping)
        result = check_records(records, args.target, registry=reg, confidence=args.confidence)
    if args.format == "json":
        text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    elif args.format == "csv":
        text = format_csv(result)
    else:
        text = format_markdown(result)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
