"""``distillscope score | attribute | report``: the analysis commands.

Inputs are response stores (JSONL records with ``model``, ``prompt_id``,
``sample``, ``response``) or any file the importers read (AlpacaEval
``model_outputs.json``, Arena-Hard / MT-Bench answers, JSONL / CSV /
Parquet tables); files without shared prompt ids are joined by prompt text.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.similarity import GRANULARITIES
from ..store.loader import load_inputs
from ._flags import (
    MAX_BOOTSTRAP,
    MIN_BOOTSTRAP,
    check_encoder,
    check_int,
    check_nonempty,
    check_path,
    check_workers,
    str_list,
)


# ----------------------------------------------------------------- inputs
def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="response stores or importable files")
    p.add_argument("--models", help="comma-separated models to include (default: every model in the inputs)")
    p.add_argument(
        "--granularities",
        default=None,
        help="comma-separated subset of lexical,semantic,structural,style,token "
        "(default: lexical,semantic,structural,style with an encoder, else lexical,style; "
        "token = BERTScore F1 on the encoder's token states, opt-in: a second encoder pass)",
    )
    p.add_argument(
        "--encoder",
        default="auto",
        help="'auto' (default model if downloaded), 'none', a model name or a model directory",
    )
    p.add_argument("--max-samples", type=int, default=None, help="samples per model and prompt to use")
    p.add_argument(
        "--max-prompts",
        type=int,
        default=None,
        metavar="N",
        help="score a seeded sample of N prompts (seed: --seed; recorded in the signatures)",
    )
    p.add_argument("--workers", type=int, default=1, help="kernel threads (-1: all cores)")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the shuffled-prompt null, the bootstrap and the --max-prompts sample",
    )
    p.add_argument("--quiet", action="store_true", help="no stage lines and no progress bars on stderr")


def _suggest(name: str, known: Sequence[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_models(names: Sequence[str], known: Sequence[str], option: str) -> None:
    """One error naming every unknown model of ``option`` and what the inputs hold."""
    unknown = [m for m in names if m not in known]
    if unknown:
        hints = "".join(_suggest(m, known) for m in unknown[:1])
        raise ValueError(
            f"{option}: {', '.join(map(repr, unknown))} not in the inputs{hints}; they have {', '.join(known)}"
        )


def check_out_dir(path: Path, option: str) -> None:
    """``path`` can be (or already is) a writable folder."""
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{option} {path} exists and is not a folder; pass a folder path")
        probe = path
    else:
        probe = path.parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise ValueError(f"{option} {path}: {probe} is not a folder")
    import os

    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: {probe} is not writable; pick another folder")


class _Audit:
    """Everything the user typed, checked before anything is embedded or scored."""

    def __init__(self, args: argparse.Namespace, *, students: str | None = None, candidates: str | None = None) -> None:
        from ..analysis.similarity import (
            ENCODER_GRANULARITIES,
            GRANULARITIES,
            RSEConfig,
            available_granularities,
            resolve_encoder,
        )

        self.quiet = bool(getattr(args, "quiet", False))
        self.t0 = time.perf_counter()
        # a list option given empty ('' or ',') is refused naming its flag, not
        # read as "every model" / the default granularities, nor left for the
        # library to refuse as "need at least 2 models ... got []"
        grans = str_list("--granularities", args.granularities, "granularities", GRANULARITIES)
        models = str_list("--models", args.models, "model names (or left out: every model)")
        self.students = str_list("--students", students, "model names (or left out: every model)")
        self.candidates = str_list("--candidates", candidates, "model names (or left out: every model)")
        # an unknown or not-downloaded model named before the inputs are read or anything is embedded
        check_encoder("--encoder", args.encoder)
        if args.max_prompts is not None and args.max_prompts < 2:
            raise ValueError(f"--max-prompts must be >= 2, got {args.max_prompts}")
        if args.max_samples is not None and args.max_samples < 1:
            raise ValueError(f"--max-samples must be >= 1, got {args.max_samples}")
        check_workers("--workers", args.workers)
        check_int("--seed", args.seed, 0)  # seeds numpy's generators, which take no negative seed
        needs_encoder = grans is None or any(g in ENCODER_GRANULARITIES for g in grans)
        self.encoder = resolve_encoder(
            args.encoder if needs_encoder else "none", quiet=self.quiet or (grans is not None and not needs_encoder)
        )
        if grans is None:
            grans = list(available_granularities(self.encoder))
        elif self.encoder is None and needs_encoder:
            raise ValueError(
                "--granularities semantic/structural/token need an encoder: run `distillscope model "
                "download` or pass --encoder DIR"
            )
        self.cfg = RSEConfig(
            granularities=tuple(grans),
            max_samples=args.max_samples,
            workers=args.workers,
            null_seed=args.seed,
            max_prompts=args.max_prompts,
            sample_seed=args.seed,
        )
        self.table = load_inputs(args.files)
        known = [str(m) for m in self.table.models]
        if models is not None:
            check_models(models, known, "--models")
        for opt, names in (("--students", self.students), ("--candidates", self.candidates)):
            if names is not None:
                check_models(names, known, opt)
        self.models = models  # None: every model in the inputs
        extra = [*(self.students or ()), *(self.candidates or ())]
        if models is not None:
            self.models = list(dict.fromkeys([*models, *extra]))
        elif self.students is not None and self.candidates is not None:
            self.models = list(dict.fromkeys(extra))

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.t0:6.1f} s] {msg}", file=sys.stderr)

    def score_table(self) -> Any:
        from ..analysis.similarity import response_similarity

        return response_similarity(
            self.table, self.models, encoder=self.encoder, config=self.cfg, log=self.log, progress=not self.quiet
        )


# ------------------------------------------------------------------ score
def configure_score(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument("--format", choices=("json", "csv", "markdown"), default="markdown")
    p.add_argument("--out", default=None, help="also write per-prompt scores (CSV) to this folder")


def run_score(args: argparse.Namespace) -> int:
    from .._io import clean_json
    from ..analysis.similarity import summary_matrix
    from ..analysis.tables import render_matrix

    # a str, not type=Path: Path('') is the current folder, and --out '' must be refused
    args.out = check_path("--out", args.out, "a folder path (or left out: no per-prompt scores)")
    if args.out is not None:
        check_out_dir(args.out, "--out")
    st = _Audit(args).score_table()
    grans = [g for g in st.granularities if g in GRANULARITIES]
    mats = {g: summary_matrix(st, g) for g in st.granularities}
    if args.out is not None:
        _write_per_prompt(st, args.out)
    if args.format == "json":
        print(
            json.dumps(
                clean_json(
                    {
                        "models": list(st.models),
                        "n_prompts": st.n_prompts,
                        "matrices": mats,
                        "signatures": dict(st.signatures),
                    }
                ),
                indent=2,
            )
        )
    else:
        for g in grans:
            if args.format == "markdown":
                print(f"\n### {g} similarity (mean over shared prompts; diagonal: self-similarity or 1)\n")
            else:
                print(f"# {g}")
            print(render_matrix(list(st.models), mats[g], args.format))
    return 0


def _write_per_prompt(st: Any, folder: Path) -> None:
    import csv

    from .._io import csv_row

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "per_prompt_scores.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["granularity", "student", "candidate", "prompt_id", "score", "null"])
        for g in st.granularities:
            for (s, c), arr in st.scores[g].items():
                nul = st.null.get(g, {}).get((s, c))
                for i, v in enumerate(arr):
                    if np.isfinite(v):
                        w.writerow(
                            csv_row(
                                [
                                    g,
                                    s,
                                    c,
                                    st.prompt_ids[i],
                                    f"{v:.6g}",
                                    "" if nul is None or not np.isfinite(nul[i]) else f"{nul[i]:.6g}",
                                ]
                            )
                        )


# -------------------------------------------------------------- attribute
def configure_attribute(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument(
        "--students", default=None, help="comma-separated student models (default: every model, all against all)"
    )
    p.add_argument("--candidates", default=None, help="comma-separated candidate teachers (default: every model)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples over prompts")
    p.add_argument(
        "--baseline",
        choices=("pair-mean", "null"),
        default="pair-mean",
        help="null of unrelated answers: the population on the same prompts (pair-mean) or "
        "shuffled prompts only (null). The degree is ≈ the share of the student's answers "
        "derived from the candidate; direction is not identified",
    )
    p.add_argument("--format", choices=("json", "csv", "markdown"), default="json")


def run_attribute(args: argparse.Namespace) -> int:
    from .._io import clean_json
    from ..analysis.attribution import attribute
    from ..analysis.degree import DegreeConfig
    from ..analysis.tables import render_attribution

    check_int("--bootstrap", args.bootstrap, MIN_BOOTSTRAP, MAX_BOOTSTRAP)
    audit = _Audit(args, students=args.students, candidates=args.candidates)
    st = audit.score_table()
    audit.log(f"degrees and {args.bootstrap:,} bootstrap resamples")
    res = attribute(
        st,
        audit.students,
        audit.candidates,
        DegreeConfig(n_boot=args.bootstrap, seed=args.seed, baseline=args.baseline),
    )
    if args.format == "json":
        print(json.dumps(clean_json(res), indent=2))
    else:
        print(render_attribution(res, args.format))
    return 0


# ----------------------------------------------------------------- report
def configure_report(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument("--out", default=None, help="report folder to write (required for --format html)")
    p.add_argument(
        "--format",
        choices=("html", "markdown"),
        default="html",
        help="html: write the report folder; markdown: also print a summary for a paper draft "
        "(key table with intervals and the definitions) to stdout",
    )
    p.add_argument(
        "--ice",
        action="append",
        default=[],
        metavar="MODEL=FILE",
        help="identity rates of MODEL: the JSON of `distillscope identity check --format json` (repeatable)",
    )
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument(
        "--evidence",
        type=int,
        default=3,
        metavar="N",
        help="prompts shown as evidence per student (its top candidate's answers side by side); 0: none",
    )
    p.add_argument("--title", default="distillscope report")
    p.add_argument("--no-figures", action="store_true")


def _join_description(files: Sequence[str]) -> str:
    from ..store.importers import detect_kind
    from ..store.loader import is_store

    kinds = {"store" if is_store(Path(f)) else detect_kind(f) for f in files}
    if kinds == {"store"}:
        return "by prompt id (response stores)"
    return "by whitespace-normalized prompt text (imported files without shared prompt ids)"


def _samples_per_prompt(table: Any, models: Sequence[str]) -> dict[str, int]:
    """Fewest and most successful samples a model has for a prompt it answered."""
    code = {str(m): i for i, m in enumerate(table.models)}
    keep = np.isin(table.model_code, [code[m] for m in models if m in code]) & table.ok
    if not keep.any():
        return {"min": 0, "max": 0}
    key = table.model_code[keep].astype(np.int64) * (len(table.prompt_ids) + 1) + table.prompt_code[keep]
    _, counts = np.unique(key, return_counts=True)
    return {"min": int(counts.min()), "max": int(counts.max())}


def run_report(args: argparse.Namespace) -> int:
    from ..analysis.attribution import attribute
    from ..analysis.degree import DegreeConfig, compute_degrees
    from ..analysis.evidence import build_evidence
    from ..analysis.report import markdown_summary, write_report
    from ..analysis.similarity import summary_matrix

    # a str, not type=Path: Path('') is the current folder, and --out '' must be refused
    args.out = check_path("--out", args.out, "the report folder path")
    # '' gave a report whose page title and heading were empty
    check_nonempty("--title", args.title, "the report's title (or left out: 'distillscope report')")
    if args.format == "html" and args.out is None:
        raise ValueError("--out DIR is required for --format html (the report folder to write)")
    if args.out is not None:
        check_out_dir(args.out, "--out")
    if args.evidence < 0:
        raise ValueError(f"--evidence must be >= 0, got {args.evidence}")
    check_int("--bootstrap", args.bootstrap, MIN_BOOTSTRAP, MAX_BOOTSTRAP)
    ice = {}
    for spec in args.ice:  # read before any work: a bad file fails in a second, not after the embedding
        model, _, path = spec.partition("=")
        if not model or not path:
            raise ValueError(f"--ice takes MODEL=FILE, got {spec!r}")
        if not Path(path).is_file():
            raise FileNotFoundError(f"--ice {spec}: {path} does not exist")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            rates = data.get("rates", data)
            ice[model] = {lvl: rates[lvl] for lvl in ("loose", "strict", "hard")}
            if not all(isinstance(v, dict) and "rate" in v for v in ice[model].values()):
                raise KeyError("rate")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise ValueError(
                f"--ice {spec}: {path} is not the JSON of `distillscope identity check --format json`"
                " (needs rates loose/strict/hard)"
            ) from None
    run = _Audit(args)
    if ice:
        check_models(list(ice), [str(m) for m in run.table.models], "--ice")
    responses = run.table
    st = run.score_table()
    cfg = DegreeConfig(n_boot=args.bootstrap, seed=args.seed)
    run.log(f"degrees and {args.bootstrap:,} bootstrap resamples")
    res = compute_degrees(st, config=cfg)
    attr = attribute(st, config=cfg, result=res)
    run.log("writing the report")
    grans = [g for g in st.granularities if g in GRANULARITIES]
    mats = {
        "degree": res.matrix(),
        **{f"degree_{g}": res.matrix(g) for g in grans if g in res.levels},
        **{f"raw_{g}": summary_matrix(st, g) for g in grans},
    }
    enc_field = next(
        (
            f
            for k in ("semantic", "structural", "token")
            for f in st.signatures.get(k, "").split("|")
            if f.startswith("encoder:")
        ),
        None,
    )
    audit = {
        "n_prompts": int(st.n_prompts),
        "join": _join_description(args.files),
        "samples_per_prompt": _samples_per_prompt(responses, st.models),
        "granularities": grans,
        "encoder": enc_field,
        "bootstrap": args.bootstrap,
    }
    evidence = build_evidence(st, responses, attr, per_student=args.evidence)
    out = args.out
    tmp = None
    if out is None:
        import tempfile

        tmp = tempfile.TemporaryDirectory(prefix="distillscope-report-")
        out = Path(tmp.name)
    try:
        files = write_report(
            out,
            models=list(st.models),
            matrices=mats,
            attribution=attr,
            ice=ice or None,
            signatures=dict(st.signatures),
            title=args.title,
            figures=not args.no_figures and args.out is not None,
            audit=audit,
            evidence=evidence,
        )
        if args.format == "markdown":
            print(markdown_summary(out), end="")
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.out is not None:
        print(f"wrote {len(files)} files to {args.out} (open {args.out / 'index.html'})", file=sys.stderr)
    return 0
