"""``distillscope judge``: rate model pairs with an LLM judge, optionally next to the judge-free scores."""

from __future__ import annotations

import argparse
import json
import sys

from ..judge.agreement import agreement_report, render_agreement, render_summary
from ..judge.items import MIN_JUDGE_TOKENS, JudgeConfig, parse_pairs
from ..judge.pairs import judge_pairs
from ..store.loader import load_inputs
from ._flags import MAX_BOOTSTRAP, check_encoder, check_int, check_nonempty, check_positive


def configure_judge(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="response stores (JSONL records with model, prompt_id, sample, response)")
    p.add_argument(
        "--judge-base-url",
        required=True,
        help="OpenAI-compatible base URL of the judge, e.g. https://api.openai.com/v1",
    )
    p.add_argument("--judge-model", required=True, help="model name the judge API expects")
    p.add_argument("--judge-name", default=None, help="name recorded in the judge store; None: the --judge-model value")
    p.add_argument(
        "--api-key-env", default=None, help="environment variable holding the judge's API key; None: send no key"
    )
    p.add_argument("--pairs", default=None, help="A:B,C:D,...; None: every pair of models in FILES")
    p.add_argument(
        "--max-prompts",
        type=int,
        default=None,
        help="judge at most N prompts per pair (seeded subset); None: all shared prompts",
    )
    p.add_argument("--store", default="judge.jsonl", help="append-only judge store (cache; re-runs ask nothing twice)")
    p.add_argument("--format", choices=("json", "csv", "markdown"), default="markdown", help="output format")
    p.add_argument("--items", action="store_true", help="print every judged item instead of the per-pair summary")
    p.add_argument("--seed", type=int, default=0, help="seed of the answer order (and prompt subset)")
    p.add_argument("--both-orders", action="store_true", help="judge each item in both orders and average")
    p.add_argument("--null", action="store_true", help="also judge shuffled-prompt pairs (calibration chance level)")
    p.add_argument("--sample", type=int, default=0, help="which sample of each model's answers to judge")
    p.add_argument("--max-tokens", type=int, default=300, help="judge answer budget")
    p.add_argument("--concurrency", type=int, default=8, help="judge requests in flight")
    p.add_argument("--rpm", type=float, default=None, help="judge requests per minute; None: no limit")
    p.add_argument("--retry-failed", action="store_true", help="re-ask items whose recorded request failed")
    p.add_argument("--agreement", action="store_true", help="also compute judge-free scores and report agreement")
    p.add_argument(
        "--encoder", default="none", help="for --agreement: 'none' (lexical + style), 'auto', a model name or directory"
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of the agreement intervals")
    p.add_argument("--progress", choices=("auto", "bar", "log", "none"), default="auto")


def _check_flags(args: argparse.Namespace) -> None:
    """Every value JudgeConfig and the judge's ModelConfig would refuse, named
    by its flag (they say max_prompts, requests_per_minute, "fix it in the config")."""
    from ..gather.config import MAX_CONCURRENCY, check_base_url, check_env_name

    check_base_url("--judge-base-url", args.judge_base_url, "--api-key-env")
    check_nonempty("--judge-model", args.judge_model, "the model name the judge API expects")
    check_nonempty("--api-key-env", args.api_key_env, "the name of an environment variable (or left out: no key)")
    check_env_name("--api-key-env", args.api_key_env)
    # empty values that were read as left out (--judge-name, --pairs: every
    # pair), as the current folder (--store) or failed only after every judge
    # request (--encoder, with --agreement)
    check_nonempty("--judge-name", args.judge_name, "a name for the judge store (or left out: --judge-model)")
    check_nonempty("--pairs", args.pairs, "A:B[,C:D...] (or left out: every pair of models)")
    check_nonempty("--store", args.store, "a judge store file path such as judge.jsonl")
    check_encoder("--encoder", args.encoder)  # for --agreement; refused before any judge request
    check_int("--max-prompts", args.max_prompts, 1, note=" (or left out: all shared prompts)")
    check_int("--sample", args.sample, 0)
    check_int("--seed", args.seed, 0)
    check_int("--max-tokens", args.max_tokens, MIN_JUDGE_TOKENS, note=" (the judge's JSON answer needs room)")
    check_int("--concurrency", args.concurrency, 1, MAX_CONCURRENCY)
    check_positive("--rpm", args.rpm, note=" (or left out: no limit)")
    check_int("--bootstrap", args.bootstrap, 1, MAX_BOOTSTRAP)


def run_judge(args: argparse.Namespace) -> int:
    from ..gather.config import ModelConfig

    _check_flags(args)
    encoder = None
    if args.agreement:  # loaded before the judge is asked anything: a model that fails to load fails first
        from ..analysis.similarity import resolve_encoder

        encoder = resolve_encoder(args.encoder)
    table = load_inputs(args.files)
    judge_model = ModelConfig(
        name=args.judge_name or args.judge_model,
        base_url=args.judge_base_url,
        model=args.judge_model,
        api_key_env=args.api_key_env,
        concurrency=args.concurrency,
        requests_per_minute=args.rpm,
    )
    cfg = JudgeConfig(
        seed=args.seed,
        both_orders=args.both_orders,
        null=args.null,
        max_prompts=args.max_prompts,
        sample=args.sample,
        max_tokens=args.max_tokens,
    )
    res = judge_pairs(
        table, judge_model, args.store, args.pairs, cfg, progress=args.progress, retry_failed=args.retry_failed
    )
    judged = set(res.pairs)
    for a, b in parse_pairs(args.pairs, [str(m) for m in table.models]):
        if (a, b) not in judged:
            print(
                f"note: {a}:{b} share no prompt with a successful answer (sample {args.sample}); not judged",
                file=sys.stderr,
            )
    agreement = None
    if args.agreement:
        from ..analysis.similarity import RSEConfig, available_granularities, response_similarity

        names = list(dict.fromkeys([*res.model_a.tolist(), *res.model_b.tolist()]))
        free = response_similarity(
            table, names, encoder=encoder, config=RSEConfig(granularities=available_granularities(encoder))
        )
        agreement = agreement_report(res, free, n_boot=args.bootstrap, seed=args.seed)
    if args.format == "json":
        from .._io import clean_json

        d = res.to_dict(items=args.items)
        if agreement is not None:
            d["agreement"] = agreement
        print(json.dumps(clean_json(d), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(render_summary(res, args.format, items=args.items), end="")
        if agreement is not None and args.format == "markdown":
            print()
            print(render_agreement(agreement, "markdown"))
        elif agreement is not None:  # csv: one table only on stdout; agreement to stderr
            print(render_agreement(agreement, "markdown"), file=sys.stderr)
    n_ok = int((res.status == "ok").sum())
    return 0 if n_ok > 0 else 1


__all__ = ["configure_judge", "run_judge"]
