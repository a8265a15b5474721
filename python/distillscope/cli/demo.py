"""``distillscope demo``: the README's main job, on SIMULATED models.

No network, no API keys. The demo starts distillscope's simulated
OpenAI-compatible server on 127.0.0.1 with a population of fictional models
whose answers derive from two teachers at known copy rates, gathers their
answers through the real async gatherer, scores every pair at every
granularity, calibrates degrees, attributes teachers, runs the identity
(ICE) check and writes the report folder. It ends by saying whether the
known lineage was recovered.

The simulated population (fictional models, seeded answers) lives in
:mod:`distillscope.cli.demo_sim`; this module runs the steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..gather.config import MAX_SAMPLES
from ._flags import MAX_BOOTSTRAP, MIN_BOOTSTRAP, check_encoder, check_int, check_path, check_workers, str_list
from ._outputs import undone_on_failure
from .demo_sim import MAX_PROMPTS, POPULATION, Simulation, demo_prompts, registry_extension

# what a run writes into --out: a failed run puts these back as they were
WRITES = ("demo_registry.json", "data", "report", "summary.json")


def configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="distillscope-demo", help="report and data folder")
    p.add_argument("--prompts", type=int, default=48, help="similarity prompts per model")
    p.add_argument("--samples", type=int, default=2, help="samples per prompt (>= 2 gives self-similarity ceilings)")
    p.add_argument(
        "--encoder",
        default="auto",
        help="'auto' (the default model if downloaded, else lexical + style only), 'none', "
        "a model name ('tiny-random' builds a small random one) or a model directory",
    )
    p.add_argument(
        "--ice-variants",
        default="direct,roleplay,ignore,translation,completion,system",
        help="identity-probe framing variants",
    )
    p.add_argument("--bootstrap", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-figures", action="store_true", help="skip the figures (SVG and PNG)")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run_demo(args: argparse.Namespace) -> int:
    # --prompts: past the distinct prompts there are the texts repeat, and
    # 10**11 of them hung building the list; --samples: the gather config's
    # bound, named by the flag rather than as "fix it in the config"
    check_int("--prompts", args.prompts, 2, MAX_PROMPTS, note=f" (the demo has {MAX_PROMPTS} distinct prompts)")
    check_int("--samples", args.samples, 1, MAX_SAMPLES)
    check_int("--bootstrap", args.bootstrap, MIN_BOOTSTRAP, MAX_BOOTSTRAP)
    check_int("--seed", args.seed, 0)  # seeds numpy's generators, which take no negative seed
    check_workers("--workers", args.workers)
    _ice_variants(args.ice_variants)
    check_encoder("--encoder", args.encoder)  # before anything is gathered or written
    # a str, not type=Path: Path('') is the current folder, and --out '' must be refused
    args.out = check_path("--out", args.out, "a folder path (it is created if missing)")
    if args.out.exists() and not args.out.is_dir():
        raise FileExistsError(f"--out {args.out} is a file; give a folder path (it is created if missing)")
    t0 = time.perf_counter()
    out: Path = args.out
    say = (lambda *a: print(*a, file=sys.stderr)) if args.format == "json" else print
    say("distillscope demo — SIMULATED models on a local server (no network, no API keys)")
    from ..analysis.similarity import resolve_encoder

    encoder = resolve_encoder(args.encoder)  # loaded before anything is written: a failure leaves no files
    # a run that fails (or is interrupted) after --out was created leaves it as
    # it found it: no folder of its own, an earlier run's files put back
    with undone_on_failure(out, WRITES):
        out.mkdir(parents=True, exist_ok=True)
        registry, probes, data = _write_inputs(args, out)
        store = _serve_and_gather(args, data, probes, t0, say)
        sc = _score(args, encoder, store, t0, say)
        ice = _identity_check(data, probes, registry)
        files, ice_levels = _write_demo_report(args, out, data, sc, ice, say)
        summary = _lineage_summary(sc, ice_levels, out, t0)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    if args.format == "json":
        print(json.dumps(summary, indent=2, default=float))
    else:
        _print_summary(summary, sc.attribution, files)
    return 0 if summary["lineage_recovered"] else 1


def _ice_variants(text: str) -> tuple[str, ...]:
    """The identity-probe framings of ``--ice-variants``: at least one, each known."""
    from ..identity.probes import VARIANTS

    return tuple(str_list("--ice-variants", text, "framings", VARIANTS))


@dataclass
class _Scored:
    """What the scoring step hands to the later steps."""

    names: list[str]
    encoder: Any
    grans: tuple[str, ...]
    scores: Any  # ScoreTable
    result: Any  # DegreeResult
    attribution: dict[str, Any]
    table: Any = None  # the ResponseTable, for the report's evidence


def _write_inputs(args: argparse.Namespace, out: Path) -> tuple[Any, list[Any], Path]:
    """The demo registry, the identity probes and the two prompt files under ``data/``."""
    from ..identity.probes import build_probes
    from ..identity.registry import Registry

    variants = _ice_variants(args.ice_variants)
    reg_path = out / "demo_registry.json"
    reg_path.write_text(json.dumps(registry_extension(POPULATION), indent=1))
    registry = Registry.load(reg_path, base=Registry.default())
    probes = build_probes(variants=variants, seed=args.seed, named=False, registry=registry)
    prompts = demo_prompts(args.prompts)
    data = out / "data"
    data.mkdir(exist_ok=True)
    with open(data / "prompts.jsonl", "w", encoding="utf-8") as f:
        for rec in prompts:
            f.write(json.dumps(rec) + "\n")
    with open(data / "identity_prompts.jsonl", "w", encoding="utf-8") as f:
        for probe in probes:
            f.write(json.dumps({"id": probe.id, "prompt": probe.prompt}) + "\n")
    return registry, probes, data


def _serve_and_gather(
    args: argparse.Namespace, data: Path, probes: list[Any], t0: float, say: Callable[..., None]
) -> Path:
    """Serve the simulation locally and gather the similarity and identity answers."""
    from ..gather.config import config_from_dict
    from ..gather.run import gather
    from ..gather.simserver import SimServer

    sim = Simulation(POPULATION, {p.prompt for p in probes})
    store = data / "responses.jsonl"
    os.environ.setdefault("DISTILLSCOPE_DEMO_KEY", "simulated-not-a-secret")
    with SimServer(responder=sim) as server:
        cfg = config_from_dict(
            {
                "run": {"store": str(store)},
                "prompts": [{"file": str(data / "prompts.jsonl")}],
                "models": [
                    {
                        "name": m.name,
                        "base_url": server.url,
                        "model": m.name,
                        "samples": args.samples,
                        "api_key_env": "DISTILLSCOPE_DEMO_KEY",
                        "concurrency": 32,
                    }
                    for m in POPULATION
                ],
            }
        )
        rep1 = gather(cfg, progress="none", seed=args.seed)
        cfg_ice = config_from_dict(
            {
                "run": {"store": str(data / "identity_responses.jsonl")},
                "prompts": [{"file": str(data / "identity_prompts.jsonl")}],
                "models": [
                    {
                        "name": m.name,
                        "base_url": server.url,
                        "model": m.name,
                        "samples": 1,
                        "api_key_env": "DISTILLSCOPE_DEMO_KEY",
                        "concurrency": 32,
                    }
                    for m in POPULATION
                ],
            }
        )
        rep2 = gather(cfg_ice, progress="none", seed=args.seed)
    say(
        f"gathered {rep1.planned + rep2.planned} responses from {len(POPULATION)} simulated models "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    return store


def _score(args: argparse.Namespace, encoder: Any, store: Path, t0: float, say: Callable[..., None]) -> _Scored:
    """Similarity at every granularity the encoder allows, degrees and attribution."""
    from ..analysis.attribution import attribute
    from ..analysis.degree import DegreeConfig, compute_degrees
    from ..analysis.similarity import RSEConfig, available_granularities, response_similarity
    from ..store.table import load_table

    grans = available_granularities(encoder)
    table = load_table(store)
    names = [m.name for m in POPULATION]
    scores = response_similarity(
        table,
        names,
        encoder=encoder,
        config=RSEConfig(granularities=grans, workers=args.workers, null_seed=args.seed),
        log=lambda msg: say(f"  {msg}"),
    )
    dcfg = DegreeConfig(n_boot=args.bootstrap, seed=args.seed)
    result = compute_degrees(scores, config=dcfg)
    attribution = attribute(scores, config=dcfg, result=result)
    say(
        f"scored {len(names)} models × {scores.n_prompts} prompts at {', '.join(grans)} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    return _Scored(names, encoder, tuple(grans), scores, result, attribution, table)


def _identity_check(data: Path, probes: list[Any], registry: Any) -> dict[str, Any]:
    """Identity-consistency rates per model from the gathered probe answers."""
    from ..identity.claims import ClaimExtractor
    from ..identity.rates import identity_rates
    from ..store.table import load_table

    ice_table = load_table(data / "identity_responses.jsonl")
    by_id = {p.id: p for p in probes}
    extractor = ClaimExtractor(registry)
    ice: dict[str, Any] = {}
    for code, name in enumerate(ice_table.models):
        rows = np.nonzero((ice_table.model_code == code) & ice_table.ok)[0]
        target = registry.target(str(name))
        pr = [by_id[str(ice_table.prompt_ids[ice_table.prompt_code[r]])] for r in rows]
        verdicts = [extractor.classify(str(ice_table.response[r]), target, p.prompt) for r, p in zip(rows, pr)]
        rates = identity_rates(
            verdicts, hard=[p.hard for p in pr], categories=[p.category for p in pr], languages=[p.language for p in pr]
        )
        ice[str(name)] = rates.to_dict()
    return ice


def _write_demo_report(
    args: argparse.Namespace, out: Path, data: Path, sc: _Scored, ice: dict[str, Any], say: Callable[..., None]
) -> tuple[dict[str, Path], dict[str, Any]]:
    """The identity rates file and the report folder; ``(files, ice by level)``."""
    from ..analysis.evidence import build_evidence
    from ..analysis.report import write_report
    from ..analysis.similarity import summary_matrix

    matrices = {
        "degree": sc.result.matrix(),
        **{f"degree_{g}": sc.result.matrix(g) for g in sc.grans},
        **{f"raw_{g}": summary_matrix(sc.scores, g) for g in sc.grans},
    }
    audit = {
        "n_prompts": int(sc.scores.n_prompts),
        "join": "by prompt id (one gatherer store)",
        "samples_per_prompt": {"min": int(args.samples), "max": int(args.samples)},
        "granularities": list(sc.grans),
        "encoder": getattr(sc.encoder, "signature", None),
        "bootstrap": args.bootstrap,
    }
    evidence = build_evidence(sc.scores, sc.table, sc.attribution) if sc.table is not None else None
    ice_levels = {k: {lvl: v[lvl] for lvl in ("loose", "strict", "hard")} for k, v in ice.items()}
    (data / "identity_rates.json").write_text(json.dumps(ice, indent=1, default=float))
    figures = not args.no_figures and _have_matplotlib()
    if not figures and not args.no_figures:
        say("note: matplotlib is not installed (pip install 'distillscope[plot]'): the report has no figures")
    files = write_report(
        out / "report",
        models=sc.names,
        matrices=matrices,
        attribution=sc.attribution,
        ice=ice_levels,
        signatures=dict(sc.scores.signatures),
        title="distillscope demo (simulated models)",
        simulated=True,
        figures=figures,
        audit=audit,
        evidence=evidence,
        notes=[f"{m.name}: copies {m.teacher} at rate {m.rate}" for m in POPULATION if m.teacher],
    )
    return files, ice_levels


def _lineage_summary(sc: _Scored, ice_levels: dict[str, Any], out: Path, t0: float) -> dict[str, Any]:
    """Did we recover the known lineage? Top candidates and the copy-rate ranking."""
    from ..stats import spearman

    checks = []
    for m in POPULATION:
        if m.teacher:
            top = sc.attribution["students"][m.name][0]["candidate"]
            checks.append({"student": m.name, "true_teacher": m.teacher, "ranked_first": top, "ok": top == m.teacher})
    # monotonicity over the distinct copy-rate levels (rate 0: mean over the independent models)
    aurora = [m for m in POPULATION if m.name != "Aurora" and m.teacher in (None, "Aurora")]
    raw_degs = [sc.result.get(m.name, "Aurora")["degree"] for m in aurora]
    degs = [float("nan") if d is None else float(d) for d in raw_degs]  # a degree of 0.0 is a value, not missing
    levels: dict[float, list[float]] = {}
    for m, d in zip(aurora, degs):
        levels.setdefault(m.rate if m.teacher == "Aurora" else 0.0, []).append(d)
    rho = spearman(np.array(sorted(levels)), np.array([np.mean(levels[r]) for r in sorted(levels)]))
    recovered = all(c["ok"] for c in checks) and rho >= 0.95
    return {
        "simulated": True,
        "granularities": list(sc.grans),
        "encoder": getattr(sc.encoder, "signature", None),
        "lineage": checks,
        "spearman_rate_vs_degree": rho,
        "degree_to_Aurora": dict(zip([m.name for m in aurora], degs)),
        "ice": ice_levels,
        "lineage_recovered": recovered,
        "report": str(out / "report"),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _print_summary(summary: dict, attribution: dict, files: dict) -> None:
    print("\nteacher attribution (combined degree, 95% interval):")
    for student, ranked in attribution["students"].items():
        top = ranked[:2]
        desc = "; ".join(f"{r['candidate']} {r['degree']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]" for r in top)
        print(f"  {student:<8} → {desc}")
    print("\nidentity consistency (strict contradiction rate):")
    for model, r in summary["ice"].items():
        s = r["strict"]
        print(f"  {model:<8} {s['rate']:.1%} [{s['ci_low']:.1%}, {s['ci_high']:.1%}]")
    print("\nknown lineage:")
    for c in summary["lineage"]:
        mark = "ok" if c["ok"] else "MISSED"
        print(f"  {c['student']:<8} copies {c['true_teacher']:<8} ranked first: {c['ranked_first']:<8} {mark}")
    print(f"  Spearman(copy rate, degree to Aurora) = {summary['spearman_rate_vs_degree']:.3f}")
    print(f"\nreport: {summary['report']}/index.html  ({len(files)} files)")
    print(
        f"known lineage recovered: {'yes' if summary['lineage_recovered'] else 'NO'}  "
        f"({summary['seconds']:.1f} s, simulated data)"
    )
