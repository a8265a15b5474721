"""Teacher attribution: candidates ranked by calibrated degree for each student,
with the paired best-vs-runner-up test, and the all-pairs degree matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .degree import COMBINED, DegreeConfig, DegreeResult, compute_degrees
from .table import ScoreTable

__all__ = ["attribute", "degree_matrix"]


def attribute(
    table: ScoreTable,
    students: Sequence[str] | None = None,
    candidates: Sequence[str] | None = None,
    config: DegreeConfig | None = None,
    *,
    result: DegreeResult | None = None,
) -> dict[str, Any]:
    """Teacher attribution as a JSON-ready dict (the CLI ``attribute`` contract)::

        {"students": {student: [{"candidate", "rank", "degree", "ci_low", "ci_high",
                                  "raw", "baseline", "population", "null", "ceiling",
                                  "n_prompts", "granularities": {g: {...}}}, ...]},
         "best_vs_runner_up": {student: {"best", "runner_up", "difference", "ci_low",
                                         "ci_high", "p_value", "significant", ...} | None},
         "signature": str, "metric_signatures": {...}, "weights": {...},
         "n_prompts": int, "simulated": false}

    Candidates are ranked by combined degree, highest first. A student is
    never its own candidate. NaN becomes ``None``. Pass ``result`` to reuse
    degrees already computed by :func:`compute_degrees`.
    """
    res = result if result is not None else compute_degrees(table, students, candidates, config)
    out_students: dict[str, list[dict[str, Any]]] = {}
    best: dict[str, Any] = {}
    grans = res.levels[:-1]
    for s in res.students:
        rows = []
        order = res.ranking(s)
        for rank, c in enumerate(order, start=1):
            li, si, cj = res.levels.index(COMBINED), res.students.index(s), res.candidates.index(c)
            row: dict[str, Any] = {"candidate": c, "rank": rank}
            row.update(res.get(s, c, COMBINED))
            row["n_prompts"] = int(res.n_prompts[li, si, cj])
            row["granularities"] = {g: res.get(s, c, g) for g in grans}
            rows.append(row)
        out_students[s] = rows
        if len(order) >= 2 and rows[0]["degree"] is not None and rows[1]["degree"] is not None:
            best[s] = res.paired_difference(s, order[0], order[1])
        else:
            best[s] = None
    return {
        "students": out_students,
        "best_vs_runner_up": best,
        "signature": res.signature,
        "metric_signatures": dict(res.metric_signatures),
        "weights": dict(res.weights),
        "n_prompts": int(table.n_prompts),
    }


def degree_matrix(
    table: ScoreTable, config: DegreeConfig | None = None, level: str = COMBINED
) -> tuple[tuple[str, ...], np.ndarray]:
    """(models, M) with ``M[i, j]`` = degree of model i (student) toward model j
    (candidate); the diagonal is 1 (a model is its own perfect copy)."""
    res = compute_degrees(table, None, None, config)
    m = res.matrix(level)
    np.fill_diagonal(m, 1.0)
    return res.students, m
