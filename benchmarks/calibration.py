"""Regenerate docs/calibration.md: the degree against known copy shares.

    PYTHONPATH=python python3 benchmarks/calibration.py [--quick] [--out docs]

Simulator grid (rates 0..1 x samples 1, 2, 4 x exact / light / heavy copies x
populations one / four / generic) and a real-data construction from
../shared/data/alpaca_eval (see distillscope.analysis.calibration). Writes the
table to <out>/calibration.md and the plot to <out>/calibration.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from distillscope.analysis.calibration import alpaca_runs, simulated_runs, summarize
from distillscope.analysis.degree import DegreeConfig

COLS = (
    "group",
    "n",
    "mae",
    "slope",
    "intercept",
    "coverage",
    "coverage_share",
    "filler",
    "coverage_adj",
    "first_r>=0.2",
    "first_r>=0.4",
    "at_0",
    "at_1",
    "covers_0",
    "min_at_1",
    "monotone",
)

# (teacher, filler) pairs of the real-data construction, chosen to span the hard cases
# (the filler's own degree toward the teacher, i.e. the r = 0 student, in brackets):
# a filler that itself resembles the teacher a little (Llama-3 -> GPT-4T, 0.011); a
# stranger filler while the teacher's clone (GPT-4T-concise) sits in the population
# (Zephyr -> GPT-4T, 0); a teacher inside a family of related models (Tulu-2 with
# DeepSeek 0.14 and Zephyr 0.06 in the population, Llama-3 -> Tulu-2, 0); a teacher
# with no close relative (Mistral-Large, Yi-34B -> Mistral, 0). Heavy edits (no target)
# only for the first pair, to keep the run short.
REAL_SETUPS = (
    (("gpt4_1106_preview", "Meta-Llama-3-70B-Instruct"), ("exact", "light", "heavy")),
    (("gpt4_1106_preview", "zephyr-7b-beta"), ("exact", "light")),
    (("tulu-2-dpo-70b", "Meta-Llama-3-70B-Instruct"), ("exact", "light")),
    (("mistral-large-2402", "Yi-34B-Chat"), ("exact", "light")),
)
# Held out from degree v7's development: chosen after v7 was built, run once,
# only their scores looked at (docs/calibration.md, "held-out pairs").
HELDOUT_SETUPS = (
    (("Meta-Llama-3-70B-Instruct", "Qwen1.5-72B-Chat"), ("exact", "light")),
    (("zephyr-7b-beta", "gpt4_1106_preview_concise"), ("exact", "light")),
)


def exact_copy_runs(scores_csv: Path, root: Path, setups, rates, seeds, cfg: DegreeConfig) -> list:
    """Exact copies at the product's default granularities (lexical + semantic, and
    their combination), from the per-prompt scores of the real models
    (``distillscope score FILES --granularities lexical,semantic --out DIR``): an exact
    copy's score against any model is its source's, so students are assembled from
    the table without encoding anything. Groups: (teacher<-filler, level)."""
    import csv

    from distillscope.analysis.calibration import Run, _cell_seed
    from distillscope.analysis.degree import compute_degrees
    from distillscope.analysis.similarity import RSEConfig, _pair_metrics
    from distillscope.analysis.table import ScoreTable
    from distillscope.store.importers import read_alpaca_eval, text_id

    grans = ("lexical", "semantic")
    cells: dict = {}
    pids: set = set()
    with open(scores_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["granularity"] in grans:
                cells.setdefault((r["granularity"], r["student"], r["candidate"]), {})[r["prompt_id"]] = float(
                    r["score"]
                )
                pids.add(r["prompt_id"])
    order = sorted(pids)
    n = len(order)
    models = sorted({k[1] for k in cells})
    S = {
        g: {(a, b): np.array([cells[(g, a, b)][p] for p in order]) for a in models for b in models if a != b}
        for g in grans
    }
    # an answer's score against itself (empty answers score 0), as the product scores it
    own: dict = {g: {} for g in grans}
    lexical_only = RSEConfig(granularities=("lexical",), workers=2)
    same = np.arange(n)
    for f in sorted(root.glob("*.json")):
        recs = read_alpaca_eval(f)
        by = {text_id(r.prompt): r.response or "" for r in recs}
        texts = [by[p] for p in order]
        own["lexical"][recs[0].model] = _pair_metrics(texts, same, same, lexical_only, None, lambda _: None)["lexical"]
        own["semantic"][recs[0].model] = np.ones(n)

    def student_table(teacher: str, filler: str, copied: np.ndarray) -> ScoreTable:
        pop = [m for m in models if m != filler]
        scores = {g: {k: v for k, v in S[g].items() if k[0] in pop and k[1] in pop} for g in grans}
        for g in grans:
            for m in pop:
                src = own[g][teacher] if m == teacher else S[g][(teacher, m)]
                scores[g][("STUDENT", m)] = np.where(copied, src, S[g][(filler, m)])
        return ScoreTable((*pop, "STUDENT"), scores)

    out = []
    levels = (*grans, "combined")
    for teacher, filler in setups:
        pure = compute_degrees(
            student_table(teacher, filler, np.zeros(n, bool)),
            ["STUDENT"],
            None,
            dataclasses.replace(cfg, clip=(-1.0, 1.0), n_boot=10),
        )
        base = {lv: float(pure.get("STUDENT", teacher, lv)["degree"]) for lv in levels}
        filler_res = None  # a student that copied nothing is the filler: the same table every time
        for r in rates:
            for seed in seeds:
                rng = np.random.default_rng(_cell_seed(teacher, filler, "exact", float(r), seed))
                copied = rng.random(n) < r
                if copied.any():
                    res = compute_degrees(student_table(teacher, filler, copied), ["STUDENT"], None, cfg)
                else:
                    if filler_res is None:
                        filler_res = compute_degrees(student_table(teacher, filler, copied), ["STUDENT"], None, cfg)
                    res = filler_res
                top = res.ranking("STUDENT")[0] == teacher
                for lv in levels:
                    d = res.get("STUDENT", teacher, lv)
                    out.append(
                        Run(
                            (f"{teacher}<-{filler}", lv),
                            float(r),
                            float(d["degree"]),
                            float(d["ci_low"]),
                            float(d["ci_high"]),
                            top,
                            float(copied.mean()),
                            base[lv],
                        )
                    )
    return out


def _alpaca_root() -> Path:
    """../shared/data/alpaca_eval next to the checkout (or one level further up)."""
    root = Path(__file__).resolve().parents[1]
    return next(
        p
        for p in (root.parent / "shared/data/alpaca_eval", root.parent.parent / "shared/data/alpaca_eval")
        if p.exists()
    )


def table(rows) -> str:
    out = ["| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    for r in rows:
        out.append("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in COLS) + " |")
    return "\n".join(out)


def plot(sim, real, path: Path) -> None:
    """Mean degree against r per simulated population, every real student as a point."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
        for ax, noise in zip(axes, ("exact", "light", "heavy")):
            for pop, mark in zip(("one", "four", "generic"), "osd"):
                rs = [r for r in sim if r.group[0] == pop and r.group[1] == noise]
                lv = sorted({r.rate for r in rs})
                ax.plot(lv, [np.mean([r.degree for r in rs if r.rate == v]) for v in lv], marker=mark, label=pop)
            for i, setup in enumerate(dict.fromkeys(r.group[0] for r in real)):
                rr = [r for r in real if r.group == (setup, noise)]
                if rr:
                    x = [r.rate + 0.012 * (i - 1.5) for r in rr]  # side by side per pair
                    ax.plot(
                        x,
                        [r.degree for r in rr],
                        "*+x1"[i % 4],
                        color="k",
                        ls="none",
                        ms=4,
                        label=f"AlpacaEval {setup}",
                    )
            ax.plot([0, 1], [0, 1], ":", color="grey")
            ax.set_title(f"{noise} copies")
            ax.set_xlabel("true share r")
        axes[0].set_ylabel("degree")
        axes[0].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    except ImportError:
        print("matplotlib not installed: no plot")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default="docs")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--no-sim", action="store_true", help="only the real-data construction")
    ap.add_argument("--dump", help="also write every student (Run) as JSON lines to this file")
    ap.add_argument("--seeds", type=int, default=10, help="students per grid cell (each cell draws its own)")
    ap.add_argument("--real-seeds", type=int, default=3, help="students per cell of the real-data construction")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (the product's default: 1000)")
    ap.add_argument(
        "--scores",
        help="per-prompt scores CSV of the AlpacaEval models (distillscope score FILES "
        "--granularities lexical,semantic --out DIR): adds exact copies at the default granularities",
    )
    ap.add_argument(
        "--held-out", action="store_true", help="the real-data construction on the held-out pairs instead of the four"
    )
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        ap.error(f"--out {out} is a file; give a folder for calibration_tables.md and calibration.png")
    out.mkdir(parents=True, exist_ok=True)  # made before the minutes of work, not found missing after them
    seeds = tuple(range(args.seeds))
    cfg = DegreeConfig(n_boot=args.n_boot, seed=0)
    rates = [round(0.1 * i, 1) for i in range(11)]
    t0 = time.perf_counter()
    sim = (
        []
        if args.no_sim
        else simulated_runs(
            rates if not args.quick else [0, 0.5, 1],
            [1, 2, 4],
            ["exact", "light", "heavy"],
            ["one", "four", "generic"],
            n_prompts=200,
            seeds=seeds,
            config=cfg,
        )
    )
    t_sim = time.perf_counter() - t0
    real = []
    if not args.no_real:
        data = _alpaca_root()
        for setup, noises in HELDOUT_SETUPS if args.held_out else REAL_SETUPS:
            real += alpaca_runs(
                data,
                [setup],
                [0, 0.2, 0.5, 0.8, 1.0],
                noises,
                seeds=tuple(range(args.real_seeds)),
                config=cfg,
                workers=2,
            )
    default = []
    if args.scores:
        data = _alpaca_root()
        setups = [s for s, _ in (*REAL_SETUPS, *HELDOUT_SETUPS)]
        default = exact_copy_runs(
            Path(args.scores), data, setups, [0, 0.2, 0.5, 0.8, 1.0], tuple(range(args.real_seeds)), cfg
        )
    if args.dump:
        with open(args.dump, "w") as fh:
            for r in [*sim, *real, *default]:
                fh.write(json.dumps(dataclasses.asdict(r)) + "\n")
    lines = [
        f"Simulator: {len(sim)} students ({len(seeds)} per cell, {args.n_boot} resamples), {t_sim:.0f} s.",
        "",
        "### By population / noise / samples",
        "",
        table(summarize(sim)),
        "",
        "### By noise (all populations and sample counts)",
        "",
        table(summarize([dataclasses.replace(r, group=(r.group[1],)) for r in sim])),
        "",
        "### By population, exact and light copies (all sample counts)",
        "",
        table(summarize([r for r in sim if r.group[1] != "heavy"], 1)),
    ]
    if real:
        lines += ["", "### Real answers (AlpacaEval; lexical + style)", "", table(summarize(real))]
    if default:
        by_level = [dataclasses.replace(r, group=(r.group[1],)) for r in default]
        lines += [
            "",
            "### Exact copies of real answers at the default granularities (lexical, semantic, combined)",
            "",
            table(summarize(default)),
            "",
            table(summarize(by_level)),
        ]
    (out / "calibration_tables.md").write_text("\n".join(lines) + "\n")
    plot(sim, real, out / "calibration.png")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
