"""Table renderers: attribution, matrix and ICE tables as ``json``, ``csv`` or
``markdown`` text (the CLI's ``--format``) and the flat rows behind them.

:func:`render_table`, :func:`render_attribution`, :func:`render_matrix` and
:func:`render_ice` turn the report's tables into text; the report folder
(:mod:`distillscope.analysis.report`) saves the same rows.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._io import clean_json, csv_row

__all__ = [
    "DEGREE_DEFINITION",
    "GLOSSARY",
    "KEY_COLUMNS",
    "key_rows",
    "FORMATS",
    "ICE_LEVELS",
    "ATTR_COLUMNS",
    "BEST_COLUMNS",
    "markdown_text",
    "format_value",
    "render_table",
    "render_attribution",
    "render_matrix",
    "render_ice",
    "attribution_rows",
    "best_rows",
    "check_attribution",
    "check_matrix",
    "ice_rows",
    "ice_rse_rows",
]

FORMATS = ("json", "csv", "markdown")
ICE_LEVELS = ("loose", "strict", "hard")

# The one-sentence definitions every report prints. The degree's wording is
# kept here only, so the HTML header, the Markdown summary and the CLI agree
# (and follow analysis/degree.py's definition when it changes).
DEGREE_DEFINITION = (
    "The distillation degree of student S toward candidate T ≈ share of S's answers derived from T "
    "(0: no more like T than unrelated answers to the same prompts; 1: every answer derived); "
    "it cannot tell who copied whom. [low, high] is its 95% interval: a bootstrap over prompts, "
    "widened by how much unrelated models differ among themselves (zero sd)."
)
GLOSSARY = (
    ("raw", "mean similarity of S's answer to T's answer on the same prompt."),
    (
        "population",
        "how similar S and T are to the other models on the same prompts (half of each side's "
        "mean), i.e. the similarity any two models of this population share.",
    ),
    ("null", "similarity of S's answer to T's answer to a different prompt (shuffled prompts): the chance level."),
    (
        "baseline",
        "per prompt, the similarity S and T would have if unrelated (medians of each side's similarity "
        "to the other models, clones left out); an answer counts as derived when it stands out above it "
        "by more than unrelated pairs do.",
    ),
    ("unrelated", "share of S's answers that do not stand out from unrelated answers."),
    ("null level", "the same share for unrelated answers; degree = 1 - unrelated / null level."),
    (
        "zero sd",
        "how far the degree's zero could move with the unrelated model: the spread of the null level "
        "between the population's unrelated pairs beyond their sampling noise, carried to the degree; "
        "the interval includes it.",
    ),
    (
        "ceiling",
        "similarity of two samples of the same model to the same prompt (geometric mean of S's and "
        "T's); context only, the degree does not use it.",
    ),
    (
        "beats runner-up",
        "paired bootstrap over prompts: the top candidate's degree exceeds the second's at "
        "the 5% level (one-sided p shown). When the two do not differ significantly, the one "
        "the student is closer to on the prompts where its answers stand out (strength; the "
        "same prompts for both, so the comparison is paired) is ranked first, so the top "
        "candidate's degree can be the lower one: that row reads 'tie, ranked by strength'.",
    ),
)


# --------------------------------------------------------------------------- JSON / values
def markdown_text(text: str) -> str:
    """Text safe inside Markdown: HTML special characters as entities (so a
    name like ``<script>`` stays text when the Markdown is rendered), backslashes
    doubled, newlines folded."""
    return html.escape(str(text), quote=False).replace("\\", "\\\\").replace("\n", " ")


def format_value(v: Any, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return "" if not math.isfinite(f) else f"{f:.{digits}f}"
    return str(v)


# --------------------------------------------------------------------------- table renderers
def render_table(rows: Sequence[Mapping[str, Any]], fmt: str, columns: Sequence[str] | None = None) -> str:
    """Render a list of flat dicts as ``json`` (a list of objects), ``csv``
    (full precision, empty cell for missing) or ``markdown`` (3 decimals).

    ``columns`` picks and orders the columns (default: keys in first-seen order).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            for k in r:
                seen.setdefault(k, None)
        columns = list(seen)
    columns = list(columns)
    if fmt == "json":
        return json.dumps(
            clean_json([{c: r.get(c) for c in columns} for r in rows]), indent=2, ensure_ascii=False, allow_nan=False
        )
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(csv_row(columns))
        for r in rows:
            w.writerow(csv_row("" if (v := clean_json(r.get(c))) is None else v for c in columns))
        return buf.getvalue()

    def cell(v: Any) -> str:
        return markdown_text(format_value(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(cell(r.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


ATTR_COLUMNS = (
    "student",
    "rank",
    "candidate",
    "degree",
    "ci_low",
    "ci_high",
    "raw",
    "baseline",
    "population",
    "null",
    "ceiling",
    "n_prompts",
)
BEST_COLUMNS = ("student", "best", "runner_up", "difference", "ci_low", "ci_high", "p_value", "significant")


KEY_COLUMNS = (
    "student",
    "top_candidate",
    "degree",
    "ci_low",
    "ci_high",
    "runner_up",
    "runner_up_degree",
    "difference",
    "p_value",
    "significant",
    "n_prompts",
)


def key_rows(attribution: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The key table: per student its top candidate with interval, the runner-up
    and whether the top one beats it (paired bootstrap)."""
    check_attribution(attribution)
    rows = []
    best = attribution.get("best_vs_runner_up") or {}
    for student, cands in attribution["students"].items():
        top = cands[0] if cands else {}
        second = cands[1] if len(cands) > 1 else {}
        b = best.get(student) or {}
        rows.append(
            {
                "student": student,
                "top_candidate": top.get("candidate"),
                "degree": top.get("degree"),
                "ci_low": top.get("ci_low"),
                "ci_high": top.get("ci_high"),
                "runner_up": second.get("candidate"),
                "runner_up_degree": second.get("degree"),
                "difference": b.get("difference"),
                "p_value": b.get("p_value"),
                "significant": b.get("significant"),
                "n_prompts": top.get("n_prompts"),
            }
        )
    return rows


def attribution_rows(attribution: Mapping[str, Any], *, granularities: bool = False) -> list[dict[str, Any]]:
    """Flatten ``analysis.attribution.attribute`` output: one row per (student, candidate);
    with ``granularities=True`` add ``<granularity>_degree`` columns."""
    check_attribution(attribution)
    rows = []
    for student, cands in attribution["students"].items():
        for r in cands:
            row = {"student": student}
            row.update({k: r.get(k) for k in ATTR_COLUMNS if k != "student"})
            if granularities:
                for g, d in (r.get("granularities") or {}).items():
                    row[f"{g}_degree"] = d.get("degree")
            rows.append(row)
    return rows


def best_rows(attribution: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per student: does the best candidate beat the runner-up?"""
    check_attribution(attribution)
    rows = []
    for student, b in (attribution.get("best_vs_runner_up") or {}).items():
        row = {"student": student}
        row.update({k: (b or {}).get(k) for k in BEST_COLUMNS if k != "student"})
        rows.append(row)
    return rows


def check_attribution(a: Any) -> None:
    if not isinstance(a, Mapping) or not isinstance(a.get("students"), Mapping):
        raise ValueError("attribution must be the dict returned by calibrate.attribute(...) (needs 'students')")


def render_attribution(attribution: Mapping[str, Any], fmt: str, *, granularities: bool = False) -> str:
    """``json``: the full ``attribute`` contract; ``csv``/``markdown``: the ranked
    rows, followed (markdown only) by the best-vs-runner-up table."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        check_attribution(attribution)
        return json.dumps(clean_json(attribution), indent=2, ensure_ascii=False, allow_nan=False)
    rows = attribution_rows(attribution, granularities=granularities)
    out = render_table(rows, fmt)
    if fmt == "markdown":
        out += "\n" + render_table(best_rows(attribution), fmt, BEST_COLUMNS)
    return out


def check_matrix(models: Sequence[str], matrix: Any, name: str = "matrix") -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape != (len(models), len(models)):
        raise ValueError(f"{name} must be ({len(models)}, {len(models)}) for {len(models)} models, got {m.shape}")
    return m


def render_matrix(models: Sequence[str], matrix: Any, fmt: str) -> str:
    """A model x model matrix: ``json`` ``{"models", "matrix"}``, or a table whose
    first column is the row model."""
    models = [str(x) for x in models]
    m = check_matrix(models, matrix)
    if fmt == "json":
        return json.dumps(clean_json({"models": models, "matrix": m}), indent=2, ensure_ascii=False, allow_nan=False)
    rows = [{"model": a, **{b: m[i, j] for j, b in enumerate(models)}} for i, a in enumerate(models)]
    return render_table(rows, fmt, ["model", *models])


def ice_rows(ice: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Flatten ``{model: {"loose"|"strict"|"hard": {"rate", "ci_low", "ci_high", ...}}}``."""
    if not isinstance(ice, Mapping):
        raise ValueError("ice must map model -> {level: {'rate', 'ci_low', 'ci_high'}}")
    rows = []
    for model, levels in ice.items():
        if not isinstance(levels, Mapping):
            raise ValueError(f"ice[{model!r}] must map level -> {{'rate', 'ci_low', 'ci_high'}}")
        for level in [lv for lv in ICE_LEVELS if lv in levels] + [lv for lv in levels if lv not in ICE_LEVELS]:
            d = levels[level]
            if not isinstance(d, Mapping) or "rate" not in d:
                raise ValueError(f"ice[{model!r}][{level!r}] needs a 'rate' (and 'ci_low', 'ci_high')")
            rows.append(
                {
                    "model": model,
                    "level": level,
                    "rate": d.get("rate"),
                    "ci_low": d.get("ci_low"),
                    "ci_high": d.get("ci_high"),
                    "n": d.get("n"),
                }
            )
    return rows


def render_ice(ice: Mapping[str, Mapping[str, Mapping[str, Any]]], fmt: str) -> str:
    if fmt == "json":
        ice_rows(ice)  # validates
        return json.dumps(clean_json(ice), indent=2, ensure_ascii=False, allow_nan=False)
    return render_table(ice_rows(ice), fmt, ["model", "level", "rate", "ci_low", "ci_high", "n"])


def ice_rse_rows(
    models: Sequence[str],
    matrix: np.ndarray,
    attribution: Mapping[str, Any] | None,
    ice: Mapping[str, Any] | None,
    level: str = "strict",
) -> list[dict[str, Any]]:
    """Per model: its RSE degree toward its top candidate (from the attribution
    when given, else the row maximum of the matrix) and its ICE rate."""
    rows = []
    stud = (attribution or {}).get("students", {}) if attribution else {}
    for i, model in enumerate(models):
        row: dict[str, Any] = {"model": model}
        top = (stud.get(model) or [None])[0] if stud else None
        if top is not None:
            row.update(
                rse_candidate=top.get("candidate"),
                rse_degree=top.get("degree"),
                rse_ci_low=top.get("ci_low"),
                rse_ci_high=top.get("ci_high"),
            )
        else:
            r = np.array(matrix[i], dtype=np.float64)
            r[i] = np.nan
            j = int(np.nanargmax(r)) if np.isfinite(r).any() else None
            row.update(
                rse_candidate=models[j] if j is not None else None,
                rse_degree=float(r[j]) if j is not None else None,
                rse_ci_low=None,
                rse_ci_high=None,
            )
        d = ((ice or {}).get(model) or {}).get(level) or {}
        row.update(ice_level=level, ice_rate=d.get("rate"), ice_ci_low=d.get("ci_low"), ice_ci_high=d.get("ci_high"))
        rows.append(row)
    return rows
