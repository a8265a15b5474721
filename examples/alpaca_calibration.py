"""Calibrated degrees on the real AlpacaEval outputs, with what this layer has alone.

    python examples/alpaca_calibration.py [--copy] [--boot 500]

Granularities: style (distillscope.text.style) and a stand-in lexical score
(unigram Jaccard, written here in plain Python until the lexical kernels are
wired in). Prompts are joined on whitespace-normalised instruction text; the
null uses derangement(n, 0); there is one sample per prompt, so no ceiling.
``--copy`` adds a verbatim copy of gpt4_1106_preview as a tenth model: it
must get the top degree.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from distillscope.analysis.attribution import attribute
from distillscope.analysis.degree import DegreeConfig
from distillscope.analysis.table import ScoreTable
from distillscope.stats import derangement
from distillscope.text.style import style_features, style_similarity


def find_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    # ../shared from the main checkout, ../../shared from a worktree under wt/
    for base in (repo.parent, repo.parent.parent):
        root = base / "shared" / "data" / "alpaca_eval"
        if root.exists():
            return root
    raise SystemExit("AlpacaEval files not found in ../shared/data/alpaca_eval")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copy", action="store_true", help="add a verbatim copy of gpt4_1106_preview")
    ap.add_argument("--boot", type=int, default=500)
    args = ap.parse_args()
    outs: dict[str, dict[str, str]] = {}
    for p in sorted(find_data().glob("*.json")):
        outs[p.stem] = {" ".join(r["instruction"].split()): r["output"] for r in json.loads(p.read_text())}
    if args.copy:
        outs["gpt4_copy"] = outs["gpt4_1106_preview"]
    models = list(outs)
    keys = sorted(set.intersection(*(set(v) for v in outs.values())))
    n = len(keys)
    feats = {m: style_features([outs[m][k] for k in keys]) for m in models}
    tok = re.compile(r"\w+")
    bags = {m: [set(tok.findall(outs[m][k].lower())) for k in keys] for m in models}

    def jaccard(xs, ys):
        return np.array([len(a & b) / len(a | b) if (a or b) else 1.0 for a, b in zip(xs, ys)])

    perm = derangement(n, 0)
    scores: dict[str, dict] = {"style": {}, "lexical": {}}
    null: dict[str, dict] = {"style": {}, "lexical": {}}
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            scores["style"][(a, b)] = style_similarity(feats[a], feats[b])
            null["style"][(a, b)] = style_similarity(feats[a], feats[b].take(perm))
            scores["lexical"][(a, b)] = jaccard(bags[a], bags[b])
            null["lexical"][(a, b)] = jaccard(bags[a], [bags[b][p] for p in perm])
    table = ScoreTable(
        models, scores, null=null, signatures={"style": "style:v1", "lexical": "unigram-jaccard|lower|\\w+ (stand-in)"}
    )
    out = attribute(table, config=DegreeConfig(n_boot=args.boot, seed=0))
    print(f"{n} shared prompts, {len(models)} models")
    for s, rows in out["students"].items():
        top = ", ".join(f"{r['candidate']} {r['degree']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]" for r in rows[:3])
        b = out["best_vs_runner_up"][s]
        print(f"{s:28s} {top}   best>runner-up p={b['p_value']:.3f}")
    for g in ("style", "lexical"):
        raw = table.raw_matrix(g)
        print(
            f"raw {g}: {np.nanmin(raw):.2f}-{np.nanmax(raw):.2f}, "
            f"null {np.mean([v.mean() for v in null[g].values()]):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
