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
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np


# ----------------------------------------------------------------- inputs
def _is_store(path: Path) -> bool:
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    rec = json.loads(line)
                except ValueError:
                    return False
                return isinstance(rec, dict) and {"model", "prompt_id", "sample"} <= rec.keys()
    return False


def load_inputs(paths: Sequence[str | Path]) -> Any:
    """One :class:`~distillscope.store.ResponseTable` from stores and importable files."""
    from ..store import importers
    from ..store.store import load_table, read_records

    if not paths:
        raise ValueError("give at least one input file (a response store or an importable file)")
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="distillscope-import-") as tmp:
        for i, raw in enumerate(paths):
            p = Path(raw)
            if not p.is_file():
                raise FileNotFoundError(f"input {p} does not exist")
            if _is_store(p):
                records.extend(read_records(p))
                continue
            kind = importers.detect_kind(p)
            store = Path(tmp) / f"import-{i}.jsonl"
            fn = {"alpaca_eval": importers.import_alpaca_eval, "arena_hard": importers.import_arena_hard,
                  "mt_bench": importers.import_mt_bench, "table": importers.import_table}[kind]
            fn(p, store)
            records.extend(read_records(store))
    if not records:
        raise ValueError(f"no responses found in {list(map(str, paths))}")
    return load_table(records)


def _csv_list(s: str | None) -> list[str] | None:
    return [x.strip() for x in s.split(",") if x.strip()] if s else None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="response stores or importable files")
    p.add_argument("--models", help="comma-separated models to include (default: every model in the inputs)")
    p.add_argument("--granularities", default=None,
                   help="comma-separated subset of lexical,semantic,structural,style "
                        "(default: all four with an encoder, else lexical,style)")
    p.add_argument("--encoder", default="auto",
                   help="'auto' (default model if downloaded), 'none', a model name or a model directory")
    p.add_argument("--max-samples", type=int, default=None, help="samples per model and prompt to use")
    p.add_argument("--workers", type=int, default=1, help="kernel threads (-1: all cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffled-prompt null and the bootstrap")


def _score_table(args: argparse.Namespace, extra_models: Sequence[str] = ()) -> Any:
    from ..analysis.similarity import GRANULARITIES, RSEConfig, available_granularities, resolve_encoder, response_similarity

    table = load_inputs(args.files)
    models = _csv_list(args.models)
    if models is not None:
        models = list(dict.fromkeys([*models, *extra_models]))
    grans = _csv_list(args.granularities)
    needs_encoder = grans is None or any(g in ("semantic", "structural") for g in grans)
    encoder = resolve_encoder(args.encoder if needs_encoder else "none", quiet=grans is not None and not needs_encoder)
    if grans is None:
        grans = list(available_granularities(encoder))
    elif encoder is None and any(g in ("semantic", "structural") for g in grans):
        raise ValueError("semantic/structural granularities need an encoder: run `distillscope model download` "
                         "or pass --encoder DIR")
    unknown = [g for g in grans if g not in GRANULARITIES]
    if unknown:
        raise ValueError(f"unknown granularities {unknown}; choose from {GRANULARITIES}")
    cfg = RSEConfig(granularities=tuple(grans), max_samples=args.max_samples, workers=args.workers,
                    null_seed=args.seed)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr)

    return response_similarity(table, models, encoder=encoder, config=cfg, log=log)


# ------------------------------------------------------------------ score
def configure_score(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument("--format", choices=("json", "csv", "markdown"), default="markdown")
    p.add_argument("--out", type=Path, default=None, help="also write per-prompt scores (CSV) to this folder")


def run_score(args: argparse.Namespace) -> int:
    from .._io import clean_json
    from ..analysis.report import render_matrix
    from ..analysis.similarity import summary_matrix

    st = _score_table(args)
    grans = [g for g in st.granularities if g in ("lexical", "semantic", "structural", "style")]
    mats = {g: summary_matrix(st, g) for g in st.granularities}
    if args.out is not None:
        _write_per_prompt(st, args.out)
    if args.format == "json":
        print(json.dumps(clean_json({"models": list(st.models), "n_prompts": st.n_prompts, "matrices": mats,
                                 "signatures": dict(st.signatures)}), indent=2))
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

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "per_prompt_scores.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["granularity", "student", "candidate", "prompt_id", "score", "null"])
        for g in st.granularities:
            for (s, c), arr in st.scores[g].items():
                nul = st.null.get(g, {}).get((s, c))
                for i, v in enumerate(arr):
                    if np.isfinite(v):
                        w.writerow([g, s, c, st.prompt_ids[i], f"{v:.6g}",
                                    "" if nul is None or not np.isfinite(nul[i]) else f"{nul[i]:.6g}"])


# -------------------------------------------------------------- attribute
def configure_attribute(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument("--students", required=True, help="comma-separated student models")
    p.add_argument("--candidates", required=True, help="comma-separated candidate teachers")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples over prompts")
    p.add_argument("--baseline", choices=("pair-mean", "null"), default="pair-mean",
                   help="null of unrelated answers: the population on the same prompts (pair-mean) or "
                        "shuffled prompts only (null). The degree is ≈ the share of the student's answers "
                        "derived from the candidate; direction is not identified")
    p.add_argument("--format", choices=("json", "csv", "markdown"), default="json")


def run_attribute(args: argparse.Namespace) -> int:
    from ..analysis.degree import DegreeConfig, attribute
    from .._io import clean_json
    from ..analysis.report import render_attribution

    students, candidates = _csv_list(args.students) or [], _csv_list(args.candidates) or []
    st = _score_table(args, extra_models=[*students, *candidates])
    missing = [m for m in [*students, *candidates] if m not in st.models]
    if missing:
        raise ValueError(f"models {missing} are not in the inputs; they have {list(st.models)}")
    res = attribute(st, students, candidates,
                    DegreeConfig(n_boot=args.bootstrap, seed=args.seed, baseline=args.baseline))
    if args.format == "json":
        print(json.dumps(clean_json(res), indent=2))
    else:
        print(render_attribution(res, args.format))
    return 0


# ----------------------------------------------------------------- report
def configure_report(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument("--out", type=Path, required=True, help="report folder to write")
    p.add_argument("--ice", action="append", default=[], metavar="MODEL=FILE",
                   help="identity rates of MODEL: the JSON of `distillscope identity check --format json` "
                        "(repeatable)")
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--title", default="distillscope report")
    p.add_argument("--no-figures", action="store_true")


def run_report(args: argparse.Namespace) -> int:
    from ..analysis.degree import DegreeConfig, attribute, compute_degrees
    from ..analysis.report import write_report
    from ..analysis.similarity import summary_matrix

    st = _score_table(args)
    cfg = DegreeConfig(n_boot=args.bootstrap, seed=args.seed)
    res = compute_degrees(st, config=cfg)
    attr = attribute(st, config=cfg, result=res)
    ice = {}
    for spec in args.ice:
        model, _, path = spec.partition("=")
        if not path:
            raise ValueError(f"--ice takes MODEL=FILE, got {spec!r}")
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        rates = data.get("rates", data)
        ice[model] = {lvl: rates[lvl] for lvl in ("loose", "strict", "hard")}
    mats = {"degree": res.matrix(), **{f"raw_{g}": summary_matrix(st, g) for g in st.granularities
                                        if g in ("lexical", "semantic", "structural", "style")}}
    files = write_report(args.out, models=list(st.models), matrices=mats, attribution=attr, ice=ice or None,
                         signatures=dict(st.signatures), title=args.title, figures=not args.no_figures)
    print(f"wrote {len(files)} files to {args.out} (open {args.out / 'index.html'})", file=sys.stderr)
    return 0
