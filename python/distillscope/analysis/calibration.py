"""Validation of the degree as a rate: known copy shares in, degrees out.

Two constructions, one summary:

* :func:`simulated_runs` — the vector simulator (:mod:`.simulate`) on a grid
  of rates x samples x copy noise x populations;
* :func:`alpaca_runs` — real public answers: a synthetic student answers a
  share ``r`` of the prompts with a teacher's real answer (edited) and the
  rest with a filler model's real answer; the other files are the
  population (the filler itself is left out, so r = 0 is a stranger).

:func:`summarize` reports, per group, mean |degree - r|, the least-squares
slope and intercept of degree on r, the coverage of the interval and how
often the true teacher is ranked first. ``benchmarks/calibration.py`` writes
docs/calibration.md from these; tests run a small grid.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from .degree import DegreeConfig, compute_degrees
from .simulate import SimSpec, copied_share, simulate_table
from .table import ScoreTable

__all__ = ["Run", "simulated_runs", "edit_text", "alpaca_runs", "summarize"]


@dataclass(frozen=True)
class Run:
    """One student: its true share, the degree toward its teacher, the interval, its top candidate."""

    group: tuple[str, ...]
    rate: float
    degree: float
    ci_low: float
    ci_high: float
    top_is_teacher: bool
    share: float = float("nan")  # the realised share of copied prompts (rate is its expectation)
    # the filler's own degree toward the teacher, unclipped (real-data construction; 0 in the
    # simulator, whose fillers are strangers by construction): the degree's zero is "no more
    # alike than this population's pairs", and a real filler sits a little above or below it
    base: float = 0.0


def _num(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _run(
    table: ScoreTable,
    group: tuple[str, ...],
    rate: float,
    student: str,
    teacher: str,
    config: DegreeConfig,
    share: float = float("nan"),
    base: float = 0.0,
) -> Run:
    res = compute_degrees(table, [student], None, config)
    d = res.get(student, teacher)
    return Run(
        group,
        rate,
        _num(d["degree"]),
        _num(d["ci_low"]),
        _num(d["ci_high"]),
        res.ranking(student)[0] == teacher,
        share,
        base,
    )


def simulated_runs(
    rates: Iterable[float],
    samples: Iterable[int],
    noises: Iterable[str],
    populations: Iterable[str],
    *,
    n_prompts: int = 200,
    seeds: Sequence[int] = (0,),
    config: DegreeConfig | None = None,
) -> list[Run]:
    cfg = config or DegreeConfig(n_boot=200)
    out = []
    for pop in populations:
        for noise in noises:
            for k in samples:
                for r in rates:
                    for seed in seeds:
                        spec = SimSpec(
                            rate=float(r),
                            samples=int(k),
                            noise=cast(Any, noise),
                            population=cast(Any, pop),
                            n_prompts=n_prompts,
                            seed=_cell_seed(pop, noise, int(k), float(r), seed),
                        )
                        table = simulate_table(spec)
                        out.append(_run(table, (pop, noise, f"k={k}"), float(r), "S", "T", cfg, copied_share(spec)))
    return out


def _cell_seed(*cell: object) -> int:
    """A seed of its own for every grid cell: cells that shared one (say, every
    cell at r = 0.1) would share one draw of which prompts are copied, and one
    unlucky draw would then count as many misses of the interval."""
    return zlib.crc32("|".join(map(str, cell)).encode())


_WORD = re.compile(r"\S+")


def edit_text(text: str, level: str, seed: int) -> str:
    """A deterministic edit of ``text``: ``exact`` keeps it, ``light`` drops ~10 % of
    the sentences and ~5 % of the words, ``heavy`` drops ~30 % of the sentences,
    reorders the rest and drops or swaps ~25 % of the words (a crude paraphrase)."""
    if level == "exact":
        return text
    rng = random.Random(seed)
    drop_s, drop_w, shuffle = {"light": (0.1, 0.05, False), "heavy": (0.3, 0.25, True)}[level]
    sents = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    kept = [s for s in sents if rng.random() >= drop_s] or sents[:1]
    if shuffle:
        rng.shuffle(kept)
    out = []
    for s in kept:
        words = _WORD.findall(s)
        new = []  # type: ignore[var-annotated]
        for w in words:
            u = rng.random()
            if u < drop_w / 2:
                continue
            if u < drop_w and new:  # swap with the previous word
                new[-1], w = w, new[-1]
            new.append(w)
        out.append(" ".join(new))
    return "\n".join(out)


def _load_alpaca(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    outs = {}
    for p in sorted(root.glob("*.json")):
        outs[p.stem] = {" ".join(r["instruction"].split()): r["output"] for r in json.loads(p.read_text())}
    keys = sorted(set.intersection(*(set(v) for v in outs.values())))
    return keys, {m: [v[k] for k in keys] for m, v in outs.items()}


def _scores(a: Sequence[str], b: Sequence[str], fa: Any, fb: Any, workers: int) -> dict[str, np.ndarray]:
    """Lexical and style scores of aligned answers; ``fa`` / ``fb`` are their style features
    (computed once per model: they cost ten times the lexical kernels)."""
    from ..text.lexical import lexical_scores
    from ..text.style import style_similarity

    lex = lexical_scores(list(a), list(b), metrics=("rougeL", "jaccard2"), workers=workers)
    return {
        "lexical": 0.5 * (np.asarray(lex["rougeL"]) + np.asarray(lex["jaccard2"])),
        "style": np.asarray(style_similarity(fa, fb), dtype=np.float64),
    }


def alpaca_runs(
    root: Path,
    setups: Sequence[tuple[str, str]],
    rates: Iterable[float],
    noises: Iterable[str],
    *,
    seeds: Sequence[int] = (0,),
    workers: int = 1,
    config: DegreeConfig | None = None,
    n_prompts: int | None = None,
) -> list[Run]:
    """Synthetic students from real AlpacaEval answers. ``setups`` are (teacher, filler)
    file stems. Granularities: lexical (mean of ROUGE-L F and bigram Jaccard) and style.
    ``n_prompts``: the first n shared prompts in sorted order (default: all 805)."""
    from ..text.style import style_features

    cfg = config or DegreeConfig(n_boot=200)
    keys, texts = _load_alpaca(root)
    if n_prompts is not None:
        keys = keys[:n_prompts]
        texts = {m: v[:n_prompts] for m, v in texts.items()}
    n = len(keys)
    out: list[Run] = []
    for teacher, filler in setups:
        pop = [m for m in texts if m != filler]
        feats = {m: style_features(texts[m]) for m in pop}
        base: dict[str, dict[tuple[str, str], np.ndarray]] = {"lexical": {}, "style": {}}
        for i, a in enumerate(pop):
            for b in pop[i + 1 :]:
                for g, v in _scores(texts[a], texts[b], feats[a], feats[b], workers).items():
                    base[g][(a, b)] = v

        def student_table(answers: list[str], base: dict = base, feats: dict = feats, pop: list = pop) -> ScoreTable:
            scores = {g: dict(d) for g, d in base.items()}
            fs = style_features(answers)
            for m in pop:
                for g, v in _scores(answers, texts[m], fs, feats[m], workers).items():
                    scores[g][("STUDENT", m)] = v
            return ScoreTable(tuple(pop) + ("STUDENT",), scores)

        # the pure filler as the student, degree unclipped: where it sits against this population
        unclipped = dataclasses.replace(cfg, clip=(-1.0, 1.0), n_boot=10)
        filler_table = student_table(texts[filler])
        res0 = compute_degrees(filler_table, ["STUDENT"], None, unclipped)
        own = _num(res0.get("STUDENT", teacher)["degree"])
        for noise in noises:
            for r in rates:
                for seed in seeds:
                    rng = np.random.default_rng(_cell_seed(teacher, filler, noise, float(r), seed))
                    copied = rng.random(n) < r
                    student = [
                        edit_text(texts[teacher][p], noise, seed * 100_000 + p) if copied[p] else texts[filler][p]
                        for p in range(n)
                    ]
                    group = (f"{teacher}<-{filler}", noise)
                    # a student that copied nothing answers with the filler's texts: its table is built above
                    table = student_table(student) if copied.any() else filler_table
                    out.append(_run(table, group, float(r), "STUDENT", teacher, cfg, float(copied.mean()), own))
    return out


def summarize(runs: Sequence[Run], key: int | None = None) -> list[dict[str, object]]:
    """Per group (``key`` = how many leading group fields to group by; None: all):
    n, mean |degree - r|, slope, intercept, coverage (of r) and coverage_share (of the
    realised share of copied prompts), the filler's own unclipped degree toward the
    teacher ``d0`` (real-data construction) and coverage_adj (of ``r + (1 - r) d0`` clipped
    to [0, 1], what a mixture of copies and the filler's answers would read if the
    filler's own standing carried over linearly), teacher-first rate for r >= 0.2
    and r >= 0.4, degree at r = 0 and r = 1 (means), the share of r = 0 intervals
    that reach 0 (``covers_0``), the lowest degree at r = 1 (``min_at_1``),
    monotone (mean degree rises with r)."""
    groups: dict[tuple[str, ...], list[Run]] = {}
    for r in runs:
        groups.setdefault(r.group if key is None else r.group[:key], []).append(r)
    rows = []
    for g, rs in groups.items():
        rate = np.array([r.rate for r in rs])
        deg = np.array([r.degree for r in rs])
        cover = np.array([r.ci_low - 1e-9 <= r.rate <= r.ci_high + 1e-9 for r in rs])
        cover_share = np.array([r.ci_low - 1e-9 <= r.share <= r.ci_high + 1e-9 for r in rs])
        # clipped like the degree: an interval of a degree clipped at 0 cannot reach a negative value
        est = np.clip([r.rate + (1.0 - r.rate) * r.base for r in rs], 0.0, 1.0)
        cover_adj = np.array([r.ci_low - 1e-9 <= v <= r.ci_high + 1e-9 for r, v in zip(rs, est)])
        slope, icpt = np.polyfit(rate, deg, 1) if np.ptp(rate) > 0 else (float("nan"), float("nan"))
        levels = sorted(set(rate.tolist()))
        means = [float(deg[rate == v].mean()) for v in levels]

        def first(lo: float, rs: list = rs) -> float:
            sel = [r.top_is_teacher for r in rs if r.rate >= lo - 1e-9]
            return float(np.mean(sel)) if sel else float("nan")

        rows.append(
            {
                "group": " / ".join(g),
                "n": len(rs),
                "mae": float(np.abs(deg - rate).mean()),
                "slope": float(slope),
                "intercept": float(icpt),
                "coverage": float(cover.mean()),
                "coverage_share": float(cover_share.mean()),
                "filler": float(np.mean([r.base for r in rs])),
                "coverage_adj": float(cover_adj.mean()),
                "first_r>=0.2": first(0.2),
                "first_r>=0.4": first(0.4),
                "at_0": means[0] if levels and levels[0] == 0 else float("nan"),
                "at_1": means[-1] if levels and levels[-1] == 1 else float("nan"),
                "covers_0": float(np.mean([r.ci_low <= 1e-9 for r in rs if r.rate == 0.0]))
                if levels and levels[0] == 0
                else float("nan"),
                "min_at_1": float(deg[rate == 1.0].min()) if levels and levels[-1] == 1 else float("nan"),
                "monotone": bool(np.all(np.diff(means) > 0)),
            }
        )
    return rows
