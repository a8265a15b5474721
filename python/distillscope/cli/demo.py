"""``distillscope demo``: the README's main job, on SIMULATED models.

No network, no API keys. The demo starts distillscope's simulated
OpenAI-compatible server on 127.0.0.1 with a population of fictional models
whose answers derive from two teachers at known copy rates, gathers their
answers through the real async gatherer, scores every pair at every
granularity, calibrates degrees, attributes teachers, runs the identity
(ICE) check and writes the report folder. It ends by saying whether the
known lineage was recovered.

The simulated population
------------------------
Every prompt has a pool of "points" (sentences about its topic). A model
answers with a subset of the points, in its own order, paraphrased with its
own word choices, in its own format (opener, bullets or prose, closer);
different samples re-draw the subset and order a little. A student with copy
rate r takes each sentence slot from its teacher's answer with probability r
(else its own), and its teacher's format with probability r. Asked about its
identity, a student names its teacher's identity with probability ~r/2, else
its own. All randomness is seeded from (model, prompt, sample), so the whole
run is deterministic.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class SimModel:
    name: str  # also the family alias and the API model name
    vendor: str
    teacher: str | None = None
    rate: float = 0.0  # share of sentence slots copied from the teacher


# Fictional names on purpose: the simulation must not put words in real models' mouths.
POPULATION: tuple[SimModel, ...] = (
    SimModel("Aurora", "Northwind Labs"),
    SimModel("Glacier", "Basalt Works"),
    SimModel("Breeze", "Southpaw AI", "Aurora", 0.8),
    SimModel("Cirrus", "Tidewater Research", "Aurora", 0.5),
    SimModel("Drizzle", "Quarry Systems", "Aurora", 0.25),
    SimModel("Hail", "Ironbark Labs", "Glacier", 0.6),
    SimModel("Ember", "Lantern Research"),
    SimModel("Flint", "Copperleaf AI"),
)

_TOPICS = (
    "sourdough bread", "binary search", "compound interest", "photosynthesis", "jet lag", "unit testing",
    "public speaking", "composting", "solar panels", "sleep hygiene", "database indexes", "learning a language",
    "budget travel", "houseplants", "marathon training", "version control", "climate adaptation", "tea brewing",
    "remote work", "bicycle maintenance", "chess openings", "time management", "volcanoes", "password security",
    "job interviews", "bird watching", "meal planning", "electric cars", "memory techniques", "rainwater harvesting",
)
_TASKS = ("Explain {t} to a beginner.", "What should I know about {t}?", "Give practical advice on {t}.",
          "What are common mistakes with {t}?", "Summarize the key ideas of {t}.")
_WORDS = (
    "start", "small", "steps", "consistent", "practice", "measure", "results", "simple", "routine", "careful",
    "choose", "tools", "quality", "patience", "common", "mistake", "avoid", "plan", "ahead", "check", "progress",
    "useful", "habit", "learn", "basics", "first", "important", "detail", "balance", "effort", "time", "value",
    "daily", "review", "improve", "gradually", "focus", "core", "principle", "example", "clear", "goal",
)
_SYNONYMS = {
    "start": ("begin", "kick off"), "small": ("modest", "little"), "important": ("essential", "key"),
    "practice": ("rehearse", "train"), "avoid": ("steer clear of", "skip"), "improve": ("refine", "strengthen"),
    "useful": ("helpful", "handy"), "simple": ("plain", "easy"), "check": ("verify", "inspect"),
    "plan": ("prepare", "organize"), "gradually": ("slowly", "step by step"), "clear": ("obvious", "explicit"),
}
_OPENERS = ("Certainly!", "Sure.", "Great question!", "Here is an overview.", "")
_CLOSERS = ("Let me know if you have more questions.", "Hope this helps!", "Good luck!", "")
_FORMATS = ("bullets", "numbered", "prose")


def _rng(*parts: Any) -> random.Random:
    return random.Random(zlib.crc32(json.dumps([str(p) for p in parts]).encode()))


def _points(prompt: str, n: int = 12) -> list[str]:
    r = _rng("points", prompt)
    topic = next((t for t in _TOPICS if t in prompt), "the topic")
    out = []
    for i in range(n):
        words = [r.choice(_WORDS) for _ in range(8 + r.randrange(8))]
        at = r.randrange(len(words))
        words[at:at] = ["with", topic] if i % 2 else [topic]
        out.append(" ".join(words))
    return out


def _style(model: str) -> tuple[str, str, str]:
    r = _rng("style", model)
    return r.choice(_OPENERS), r.choice(_FORMATS), r.choice(_CLOSERS)


def _own_sentences(model: str, prompt: str, sample: int) -> list[str]:
    pts = _points(prompt)
    pref = _rng("pref", model, prompt)
    base = sorted(range(len(pts)), key=lambda _: pref.random())[:7]  # the model's favourite points, in order
    r = _rng("sample", model, prompt, sample)
    chosen = [p for p in base if r.random() > 0.15] or base[:1]  # samples drop a few points
    if r.random() < 0.3 and len(chosen) > 2:  # and sometimes swap two
        i = r.randrange(len(chosen) - 1)
        chosen[i], chosen[i + 1] = chosen[i + 1], chosen[i]
    para = _rng("para", model)
    subs = {w: para.choice(alts) for w, alts in _SYNONYMS.items() if para.random() < 0.6}
    return [" ".join(subs.get(w, w) for w in pts[p].split()).capitalize() + "." for p in chosen]


def _layout(sentences: list[str], style: tuple[str, str, str]) -> str:
    opener, fmt, closer = style
    if fmt == "bullets":
        body = "\n".join(f"- {s}" for s in sentences)
    elif fmt == "numbered":
        body = "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, 1))
    else:
        body = " ".join(sentences)
    return "\n\n".join(x for x in (opener, body, closer) if x)


def _identity_answer(model: SimModel, prompt: str, sample: int, models: dict[str, SimModel]) -> str:
    who = model
    if model.teacher and _rng("ice", model.name, prompt, sample).random() < model.rate / 2:
        who = models[model.teacher]  # the distilled student gives its teacher away
    if any("\u4e00" <= ch <= "\u9fff" for ch in prompt):
        return f"我是{who.name}，由{who.vendor}开发的人工智能助手。很高兴为你提供帮助。"
    return f"I am {who.name}, an AI assistant developed by {who.vendor}. I'm happy to help with your question."


class Simulation:
    """The responder the simulated server calls: (model, messages, sample, seed) -> text."""

    def __init__(self, population: Sequence[SimModel], identity_prompts: set[str]) -> None:
        self.models = {m.name: m for m in population}
        self.identity_prompts = identity_prompts

    def answer(self, name: str, prompt: str, sample: int) -> str:
        m = self.models[name]
        if prompt in self.identity_prompts:
            return _identity_answer(m, prompt, sample, self.models)
        own = _own_sentences(name, prompt, sample)
        style = _style(name)
        if m.teacher:
            teacher = self.answer_parts(m.teacher, prompt, sample)
            r = _rng("copy", name, prompt, sample)
            n = max(len(own), len(teacher[0]))
            sents = []
            for i in range(n):
                src = teacher[0] if r.random() < m.rate else own
                if i < len(src):
                    sents.append(src[i])
            own = sents or own
            if r.random() < m.rate:
                style = teacher[1]
        return _layout(own, style)

    def answer_parts(self, name: str, prompt: str, sample: int) -> tuple[list[str], tuple[str, str, str]]:
        m = self.models[name]
        if m.teacher:  # a teacher that is itself a student: recurse through the text
            text = self.answer(name, prompt, sample)
            return [s for s in text.replace("\n", " ").split(". ") if s], _style(name)
        return _own_sentences(name, prompt, sample), _style(name)

    def __call__(self, model: str, messages: list, sample: int, seed: int | None) -> str:
        from ..gather.simserver import message_text

        if model not in self.models:
            raise ValueError(f"unknown simulated model {model!r}")
        return self.answer(model, message_text(messages), sample)


def registry_extension(population: Sequence[SimModel]) -> dict[str, Any]:
    """Registry entries for the fictional models (the ICE registry is user-extensible)."""
    vendors, families = {}, {}
    for m in population:
        vid = m.vendor.lower().replace(" ", "-")
        vendors[vid] = {"name": m.vendor, "country": "ZZ", "aliases": [m.vendor], "aliases_zh": []}
        families[m.name.lower()] = {"name": m.name, "vendor": vid, "aliases": [m.name], "aliases_zh": []}
    return {"schema": "distillscope.identity_registry", "version": "demo", "vendors": vendors, "families": families}


def _prompts(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        t = _TOPICS[i % len(_TOPICS)]
        out.append({"id": f"p{i:03d}", "prompt": _TASKS[(i // len(_TOPICS)) % len(_TASKS)].format(t=t)})
    return out


def configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("distillscope-demo"), help="report and data folder")
    p.add_argument("--prompts", type=int, default=48, help="similarity prompts per model")
    p.add_argument("--samples", type=int, default=2, help="samples per prompt (>= 2 gives self-similarity ceilings)")
    p.add_argument("--encoder", default="auto",
                   help="'auto' (the default model if downloaded, else lexical + style only), 'none', "
                        "a model name ('tiny-random' builds a small random one) or a model directory")
    p.add_argument("--ice-variants", default="direct,roleplay,ignore,translation,completion,system",
                   help="identity-probe framing variants")
    p.add_argument("--bootstrap", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--format", choices=("text", "json"), default="text")


def run_demo(args: argparse.Namespace) -> int:
    from ..analysis.degree import DegreeConfig, attribute, compute_degrees
    from ..gather.run import config_from_dict, gather
    from ..identity.claims import ClaimExtractor
    from ..identity.probes import build_probes
    from ..identity.rates import identity_rates
    from ..identity.registry import Registry
    from ..analysis.report import write_report
    from ..analysis.similarity import RSEConfig, available_granularities, resolve_encoder, response_similarity, summary_matrix
    from ..gather.simserver import SimServer
    from ..stats import spearman
    from ..store.store import load_table

    t0 = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: print(*a, file=sys.stderr)) if args.format == "json" else print
    say("distillscope demo — SIMULATED models on a local server (no network, no API keys)")

    variants = tuple(v for v in args.ice_variants.split(",") if v)
    reg_path = out / "demo_registry.json"
    reg_path.write_text(json.dumps(registry_extension(POPULATION), indent=1))
    registry = Registry.load(reg_path, base=Registry.default())
    probes = build_probes(variants=variants, seed=args.seed, named=False, registry=registry)
    prompts = _prompts(args.prompts)
    data = out / "data"
    data.mkdir(exist_ok=True)
    with open(data / "prompts.jsonl", "w", encoding="utf-8") as f:
        for rec in prompts:
            f.write(json.dumps(rec) + "\n")
    with open(data / "identity_prompts.jsonl", "w", encoding="utf-8") as f:
        for probe in probes:
            f.write(json.dumps({"id": probe.id, "prompt": probe.prompt}) + "\n")
    sim = Simulation(POPULATION, {p.prompt for p in probes})
    store = data / "responses.jsonl"
    os.environ.setdefault("DISTILLSCOPE_DEMO_KEY", "simulated-not-a-secret")
    with SimServer(responder=sim) as server:
        cfg = config_from_dict({
            "run": {"store": str(store)},
            "prompts": [{"file": str(data / "prompts.jsonl")}],
            "models": [{"name": m.name, "base_url": server.url, "model": m.name, "samples": args.samples,
                        "api_key_env": "DISTILLSCOPE_DEMO_KEY", "concurrency": 32} for m in POPULATION],
        })
        rep1 = gather(cfg, progress="none", seed=args.seed)
        cfg_ice = config_from_dict({
            "run": {"store": str(data / "identity_responses.jsonl")},
            "prompts": [{"file": str(data / "identity_prompts.jsonl")}],
            "models": [{"name": m.name, "base_url": server.url, "model": m.name, "samples": 1,
                        "api_key_env": "DISTILLSCOPE_DEMO_KEY", "concurrency": 32} for m in POPULATION],
        })
        rep2 = gather(cfg_ice, progress="none", seed=args.seed)
    say(f"gathered {rep1.planned + rep2.planned} responses from {len(POPULATION)} simulated models "
        f"({time.perf_counter() - t0:.1f} s)")

    encoder = resolve_encoder(args.encoder)
    grans = available_granularities(encoder)
    table = load_table(store)
    names = [m.name for m in POPULATION]
    scores = response_similarity(table, names, encoder=encoder,
                                 config=RSEConfig(granularities=grans, workers=args.workers, null_seed=args.seed),
                                 log=lambda msg: say(f"  {msg}"))
    dcfg = DegreeConfig(n_boot=args.bootstrap, seed=args.seed)
    result = compute_degrees(scores, config=dcfg)
    attribution = attribute(scores, config=dcfg, result=result)
    say(f"scored {len(names)} models × {scores.n_prompts} prompts at {', '.join(grans)} "
        f"({time.perf_counter() - t0:.1f} s)")

    # identity consistency
    ice_table = load_table(data / "identity_responses.jsonl")
    by_id = {p.id: p for p in probes}
    extractor = ClaimExtractor(registry)
    ice: dict[str, Any] = {}
    for code, name in enumerate(ice_table.models):
        rows = np.nonzero((ice_table.model_code == code) & ice_table.ok)[0]
        target = registry.target(str(name))
        pr = [by_id[str(ice_table.prompt_ids[ice_table.prompt_code[r]])] for r in rows]
        verdicts = [extractor.classify(str(ice_table.response[r]), target, p.prompt) for r, p in zip(rows, pr)]
        rates = identity_rates(verdicts, hard=[p.hard for p in pr], categories=[p.category for p in pr],
                               languages=[p.language for p in pr])
        ice[str(name)] = rates.to_dict()

    matrices = {"degree": result.matrix(), **{f"raw_{g}": summary_matrix(scores, g) for g in grans}}
    ice_levels = {k: {lvl: v[lvl] for lvl in ("loose", "strict", "hard")} for k, v in ice.items()}
    (data / "identity_rates.json").write_text(json.dumps(ice, indent=1, default=float))
    figures = not args.no_figures and _have_matplotlib()
    if not figures and not args.no_figures:
        say("note: matplotlib is not installed (pip install 'distillscope[plot]'): the report has no figures")
    files = write_report(out / "report", models=names, matrices=matrices, attribution=attribution, ice=ice_levels,
                         signatures=dict(scores.signatures), title="distillscope demo (simulated models)",
                         simulated=True, figures=figures,
                         notes=[f"{m.name}: copies {m.teacher} at rate {m.rate}" for m in POPULATION if m.teacher])

    # did we recover the known lineage?
    checks = []
    for m in POPULATION:
        if m.teacher:
            top = attribution["students"][m.name][0]["candidate"]
            checks.append({"student": m.name, "true_teacher": m.teacher, "ranked_first": top, "ok": top == m.teacher})
    # monotonicity over the distinct copy-rate levels (rate 0: mean over the independent models)
    aurora = [m for m in POPULATION if m.name != "Aurora" and m.teacher in (None, "Aurora")]
    degs = [float(result.get(m.name, "Aurora")["degree"] or np.nan) for m in aurora]
    levels: dict[float, list[float]] = {}
    for m, d in zip(aurora, degs):
        levels.setdefault(m.rate if m.teacher == "Aurora" else 0.0, []).append(d)
    rho = spearman(np.array(sorted(levels)), np.array([np.mean(levels[r]) for r in sorted(levels)]))
    recovered = all(c["ok"] for c in checks) and rho >= 0.95
    summary = {
        "simulated": True,
        "granularities": list(grans),
        "encoder": getattr(encoder, "signature", None),
        "lineage": checks,
        "spearman_rate_vs_degree": rho,
        "degree_to_Aurora": dict(zip([m.name for m in aurora], degs)),
        "ice": ice_levels,
        "lineage_recovered": recovered,
        "report": str(out / "report"),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    if args.format == "json":
        print(json.dumps(summary, indent=2, default=float))
    else:
        _print_summary(summary, attribution, files)
    return 0 if recovered else 1


def _have_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _print_summary(summary: dict, attribution: dict, files: dict) -> None:
    print("\nteacher attribution (combined degree, 95% bootstrap interval):")
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
    print(f"known lineage recovered: {'yes' if summary['lineage_recovered'] else 'NO'}  "
          f"({summary['seconds']:.1f} s, simulated data)")
