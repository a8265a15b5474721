"""Judge scores next to the judge-free ones: the calibration ScoreTable export, the agreement report and the
markdown/json/csv renderings of results and agreement."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .pairs import STATUSES, JudgeResult
from .parse import ASPECTS

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis.table import ScoreTable

AGREEMENT_GRANULARITIES = ("lexical", "semantic", "structural", "style", "combined")
# judge aspect -> judge-free granularities it is compared with (first present wins)
ASPECT_PEERS = {"style": ("style",), "structure": ("structural",), "content": ("semantic", "lexical")}


def to_score_table(
    result: JudgeResult,
    models: Sequence[str] | None = None,
    *,
    granularity: str = "judge",
    aspects: bool = False,
) -> ScoreTable:
    """Judge scores as a :class:`~distillscope.calibrate.ScoreTable`.

    One array per judged pair over ``result.prompt_index`` (NaN where the
    pair was not judged or the item is not ``ok``), scaled to [0, 1] as
    ``(score - 1) / 4``; the judge is symmetric by design (randomised
    order), so ``(b, a)`` mirrors ``(a, b)``. Null items become the table's
    shuffled-prompt null arrays (same derangement as the judge-free
    scores). ``aspects=True`` adds ``<granularity>_style``, ``_structure``
    and ``_content`` granularities.
    """
    from ..analysis.table import ScoreTable

    if not isinstance(result, JudgeResult):
        raise TypeError(f"result must be a JudgeResult, got {type(result).__name__}")
    names = list(dict.fromkeys([*result.model_a.tolist(), *result.model_b.tolist()]))
    if models is not None:
        extra = [m for m in names if m not in models]
        if extra:
            raise ValueError(f"models must include every judged model; missing {extra}")
        names = list(models)
    pos = {p: i for i, p in enumerate(result.prompt_index)}
    P = len(pos)
    fields = {granularity: "overall"}
    if aspects:
        fields.update({f"{granularity}_{a}": a for a in ASPECTS})
    scores: dict[str, dict[tuple[str, str], np.ndarray]] = {g: {} for g in fields}
    null: dict[str, dict[tuple[str, str], np.ndarray]] = {g: {} for g in fields}
    for i in range(len(result)):
        a, b = result.model_a[i], result.model_b[i]
        target = scores if result.kind[i] == "raw" else null
        for g, f in fields.items():
            arr = target[g].setdefault((a, b), np.full(P, np.nan))
            v = getattr(result, f)[i]
            if result.status[i] == "ok" and np.isfinite(v):
                arr[pos[result.prompt_id[i]]] = (v - 1.0) / 4.0
    scores = {g: d for g, d in scores.items() if d and any(np.isfinite(v).any() for v in d.values())}
    if not scores:
        raise ValueError("no judged item parsed; nothing to export (see result.problems())")
    null = {g: d for g, d in null.items() if g in scores and d}
    sigs = {g: f"{result.signature}|field={f}|scale=(s-1)/4" for g, f in fields.items() if g in scores}
    if null:
        sigs["null"] = f"shuffled-prompt derangement seed={result.config.null_seed}"
    return ScoreTable(
        models=tuple(names), scores=scores, null=null, prompt_ids=result.prompt_index, signatures=sigs, mirror=True
    )


def _combined_series(table: ScoreTable) -> np.ndarray | None:
    from ..analysis.degree import DEFAULT_WEIGHTS

    grans = [g for g in DEFAULT_WEIGHTS if g in table.scores]
    if not grans:
        return None
    num = den = None
    for g in grans:
        t = np.asarray(table.tensor(g))
        w = float(DEFAULT_WEIGHTS[g])
        ok = np.isfinite(t)
        contrib = np.where(ok, t, 0.0) * w
        weight = ok * w
        num = contrib if num is None else num + contrib
        den = weight if den is None else den + weight
    assert num is not None and den is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _matched_items(result: JudgeResult, scores: ScoreTable) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """The judged items (raw, ``ok``) that ``scores`` covers, with their model A, model B and prompt indices."""
    ppos = {p: i for i, p in enumerate(scores.prompt_ids or ())}
    mpos = {m: i for i, m in enumerate(scores.models)}
    sel = [
        i
        for i in range(len(result))
        if result.kind[i] == "raw"
        and result.status[i] == "ok"
        and result.model_a[i] in mpos
        and result.model_b[i] in mpos
        and result.prompt_id[i] in ppos
    ]
    ia = np.array([mpos[result.model_a[i]] for i in sel], dtype=np.int64)
    ib = np.array([mpos[result.model_b[i]] for i in sel], dtype=np.int64)
    ip = np.array([ppos[result.prompt_id[i]] for i in sel], dtype=np.int64)
    return sel, ia, ib, ip


def _judge_free(scores: ScoreTable, g: str, ia: np.ndarray, ib: np.ndarray, ip: np.ndarray) -> np.ndarray | None:
    """The judge-free score of granularity ``g`` for the matched items (None when ``scores`` lacks it)."""
    if g == "combined":
        t = _combined_series(scores)
    elif g in scores.scores:
        t = np.asarray(scores.tensor(g))
    else:
        return None
    if t is None:
        return None
    # the judge is symmetric; a judge-free metric need not be: average both directions
    x, y = t[ia, ib, ip], t[ib, ia, ip]
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(x) & np.isfinite(y), 0.5 * (x + y), np.where(np.isfinite(x), x, y))


def agreement_report(
    result: JudgeResult,
    scores: ScoreTable,
    *,
    granularities: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """How the judge's overall score agrees with the judge-free scores.

    For each granularity present in ``scores`` (default: lexical, semantic,
    structural, style and their weighted ``combined`` mean, with the
    calibration's default weights renormalised per prompt) the judged items
    (raw, ``ok``) are matched to the judge-free per-prompt score of the
    same pair and :func:`distillscope.calibrate.judge_agreement` gives
    Spearman's rho with a bootstrap interval and the judge-free mean per
    judge score bucket. ``aspects`` compares each judge aspect with its
    judge-free counterpart (style ↔ style, structure ↔ structural,
    content ↔ semantic, else lexical).
    """
    from ..analysis.agreement import judge_agreement
    from ..analysis.table import ScoreTable

    if not isinstance(result, JudgeResult):
        raise TypeError(f"result must be a JudgeResult, got {type(result).__name__}")
    if not isinstance(scores, ScoreTable):
        raise TypeError(
            f"scores must be a ScoreTable (distillscope.similarity.response_similarity), got {type(scores).__name__}"
        )
    if scores.prompt_ids is None:
        raise ValueError("scores has no prompt_ids; build it with response_similarity() so items can be matched")
    sel, ia, ib, ip = _matched_items(result, scores)
    rows = np.array(sel, dtype=np.int64)

    def free(g: str) -> np.ndarray | None:
        return _judge_free(scores, g, ia, ib, ip)

    wanted = list(AGREEMENT_GRANULARITIES if granularities is None else granularities)
    out: dict[str, Any] = {
        "judge": result.judge,
        "signature": result.signature,
        "n_items": len(sel),
        "n_boot": n_boot,
        "seed": seed,
        "granularities": {},
        "aspects": {},
    }
    judge_overall = result.overall[rows] if len(rows) else np.zeros(0)
    for g in wanted:
        f = free(g)
        if f is None:
            continue
        out["granularities"][g] = judge_agreement(judge_overall, f, n_boot=n_boot, seed=seed, confidence=confidence)
        out["granularities"][g]["signature"] = scores.signatures.get(g, "combined(lexical,semantic,structural,style)")
    for aspect, peers in ASPECT_PEERS.items():
        peer = next((p for p in peers if p in scores.scores), None)
        if peer is None or not len(rows):
            continue
        f = free(peer)
        assert f is not None
        a = getattr(result, aspect)[rows]
        rep = judge_agreement(a, f, n_boot=n_boot, seed=seed, confidence=confidence)
        rep["judge_free"] = peer
        out["aspects"][aspect] = rep
    return out


def _fmt(x: Any, d: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{d}f}"


def render_agreement(report: Mapping[str, Any], fmt: str = "markdown") -> str:
    """The agreement report as ``json`` or a ``markdown`` section."""
    from .._io import clean_json

    if fmt == "json":
        return json.dumps(clean_json(report), indent=2, ensure_ascii=False, allow_nan=False)
    if fmt != "markdown":
        raise ValueError(f"format must be 'json' or 'markdown', got {fmt!r}")
    lines = [
        f"### Judge vs judge-free agreement ({report['judge']}, {report['n_items']} judged items)",
        "",
        "| judge-free | n | Spearman | CI low | CI high | mean @1 | mean @2 | mean @3 | mean @4 | mean @5 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rep in [
        *report["granularities"].items(),
        *((f"judge {a} ~ {r['judge_free']}", r) for a, r in report["aspects"].items()),
    ]:
        b = {x["judge"]: x for x in rep["buckets"]}
        means = [(_fmt(b[k]["mean"]) + f" (n={b[k]['n']})") if b[k]["n"] else "" for k in range(1, 6)]
        lines.append(
            f"| {name} | {rep['n']} | {_fmt(rep['spearman'])} | {_fmt(rep['ci_low'])} | "
            f"{_fmt(rep['ci_high'])} | " + " | ".join(means) + " |"
        )
    lines += [
        "",
        (
            "Spearman's rho between the judge's overall (or aspect) score and the judge-free similarity "
            "of the same pair on the same prompt, with a percentile bootstrap interval over items; "
            "'mean @k' is the mean judge-free score of the items the judge scored k (rounded)."
        ),
        "",
    ]
    return "\n".join(lines)


def render_summary(result: JudgeResult, fmt: str = "markdown", *, items: bool = False) -> str:
    """Per-pair summary (or, with ``items``, every item) as json, csv or markdown."""
    from .._io import clean_json
    from ..analysis.tables import render_table

    if fmt == "json":
        return json.dumps(clean_json(result.to_dict(items=items)), indent=2, ensure_ascii=False, allow_nan=False)
    if items:
        return render_table(result.rows(kind=None), fmt)
    body = render_table(result.summary(), fmt)
    if fmt == "csv":
        return body
    st = {s: int((result.status == s).sum()) for s in STATUSES}
    head = (
        f"### LLM judge: {result.judge}\n\n{len(result)} items ({st['ok']} ok, {st['unparsed']} unparsed, "
        f"{st['failed']} failed); {result.requested} requests sent, {result.already_done} already in the store. "
        f"Scores 1-5.\n\n"
    )
    probs = result.problems()
    tail = "" if not probs else "\nNot scored:\n\n" + "\n".join(f"- {k}: {v}" for k, v in probs.items()) + "\n"
    return head + body + tail + f"\nsignature: `{result.signature}`\n"


__all__ = [
    "AGREEMENT_GRANULARITIES",
    "ASPECT_PEERS",
    "agreement_report",
    "render_agreement",
    "render_summary",
    "to_score_table",
]
