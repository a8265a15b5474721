"""Reports: data files, figures drawn from them, an HTML page and a Markdown summary.

:func:`write_report` writes a self-contained folder::

    <folder>/
      data/meta.json            title, models, primary matrix, simulated flag, version
      data/matrices.json        every model x model matrix (NaN -> null)
      data/matrix_<name>.csv    the same, one CSV per matrix
      data/attribution.json     analysis.attribution.attribute(...) output, as is
      data/attribution.csv      one row per (student, candidate)
      data/best_vs_runner_up.csv
      data/ice.json, ice.csv    identity-consistency rates per model and level
      data/ice_rse.json, .csv   per model: RSE degree toward its top candidate and ICE rate
      data/dendrogram.json      average-linkage merges (SciPy linkage layout) and leaf order
      data/signatures.json      signature of every metric and of the calibration
      data/audit.json           what was audited (prompts, join, samples, encoder) and the warnings
      data/evidence.json        per student: the prompts contributing most, both answers, shared spans
      figures/heatmap.svg/.png  student x candidate degree, dendrogram order, centred on 0
      figures/heatmap_degree_<g>.svg/.png   the same per granularity (when given as degree_<g>)
      figures/dendrogram.svg/.png           average linkage, distances spread over [0, 1]
      figures/ice_rse.svg/.png  ICE rate against RSE degree, with intervals (with ICE input only)
      index.html                the page (all text HTML-escaped; sortable tables by a small inline
                                script; readable without it; no network)
      summary.md                Markdown summary for a paper draft: key table, definitions

Figures are drawn only from the files under ``data/`` by :func:`redraw`, so
anyone can regenerate (or restyle) them from a report folder alone.
matplotlib is imported lazily and used through its object API with the Agg
canvas (no pyplot, no global backend switch); without it the report is
written all the same, with a note where the figures would be. The page is
rendered by :mod:`distillscope.analysis.report_html`; the evidence is built by
:mod:`distillscope.analysis.evidence`.

The tables themselves (and their ``json``/``csv``/``markdown`` rendering for
the CLI's ``--format``) live in :mod:`distillscope.analysis.tables`; the
clustering in :mod:`distillscope.analysis.cluster`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import dump_json
from .cluster import average_linkage, leaf_order, spread_distance
from .report_html import (
    audit_facts,
    figure_caption,
    interval_text,
    load_data,
    merge_intervals,
    non_empty_columns,
    page_html,
    significance_text,
    summary_tables,
)
from .tables import (
    BEST_COLUMNS,
    DEGREE_DEFINITION,
    GLOSSARY,
    ICE_LEVELS,
    best_rows,
    check_attribution,
    check_matrix,
    ice_rows,
    ice_rse_rows,
    key_rows,
    markdown_text,
    render_attribution,
    render_ice,
    render_matrix,
    render_table,
)

__all__ = ["write_report", "redraw", "audit_warnings", "markdown_summary"]

_REPORT_VERSION = "2"
FEW_PROMPTS = 100  # below this many prompts the header warns that intervals are wide
CLONE_DEGREE = 0.5  # both directions at least this: the pair looks like versions of one model


# --------------------------------------------------------------------------- report writing
def write_report(
    folder: str | Path,
    *,
    models: Sequence[str],
    matrices: Mapping[str, Any],
    attribution: Mapping[str, Any] | None = None,
    ice: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    signatures: Mapping[str, str] | None = None,
    title: str = "distillscope report",
    primary: str | None = None,
    ice_level: str = "strict",
    simulated: bool = False,
    notes: Sequence[str] = (),
    tables: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    figures: bool = True,
    audit: Mapping[str, Any] | None = None,
    evidence: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Path]:
    """Write the report folder and return ``{name: path}`` of what was written.

    models: row/column names of every matrix.
    matrices: ``{name: (m, m) array}``, rows students, columns candidates;
        ``primary`` (default ``"degree"`` if present, else the first) feeds the
        heatmap, dendrogram and scatter; every ``degree_<granularity>`` matrix
        gets its own heatmap beside it; the others are shown as tables.
    attribution: output of :func:`distillscope.analysis.attribution.attribute`.
    ice: ``{model: {"loose"|"strict"|"hard": {"rate", "ci_low", "ci_high"}}}``.
    signatures: ``{metric: signature}``; the attribution's calibration
        signature and metric signatures are added automatically.
    simulated: say on every page that the data are simulated.
    tables: extra ``{title: [flat row dicts]}`` (e.g. judge agreement, ICE per
        category and language); each is saved as ``data/table_<k>.json/.csv``
        and shown in the HTML and Markdown after the built-in tables.
    figures: draw SVG + PNG figures (needs matplotlib, the ``plot`` extra;
        without it the page says so where the figures would be).
    audit: what was audited, for the header: ``n_prompts``, ``join`` (how the
        inputs were joined), ``samples_per_prompt`` (``{"min", "max"}``),
        ``granularities``, ``encoder``, ``bootstrap`` (any may be missing).
    evidence: :func:`distillscope.analysis.evidence.build_evidence` output.
    """
    models = [str(x) for x in models]
    mats, primary = _check_matrices(models, matrices, primary)
    _check_extras(attribution, ice, tables, ice_level)
    if evidence is not None and (
        isinstance(evidence, (str, bytes))
        or not all(isinstance(e, Mapping) and "student" in e and "prompts" in e for e in evidence)
    ):
        raise ValueError("evidence must be the list returned by analysis.evidence.build_evidence(...)")

    root = Path(folder)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    from .._version import __version__

    meta = {
        "title": str(title),
        "models": models,
        "primary": primary,
        "simulated": bool(simulated),
        "ice_level": ice_level,
        "notes": [str(n) for n in notes],
        "report_version": _REPORT_VERSION,
        "distillscope_version": __version__,
    }
    dump_json(meta, data / "meta.json")
    written["meta"] = data / "meta.json"
    _write_matrices(data, models, mats, written)
    sigs: dict[str, str] = dict(signatures or {})
    if attribution is not None:
        _write_attribution(data, attribution, sigs, written)
    if ice is not None:
        dump_json(ice, data / "ice.json")
        (data / "ice.csv").write_text(render_ice(ice, "csv"), encoding="utf-8")
        written.update(ice=data / "ice.json", ice_csv=data / "ice.csv")
    scatter = ice_rse_rows(models, mats[primary], attribution, ice, ice_level)
    dump_json(scatter, data / "ice_rse.json")
    (data / "ice_rse.csv").write_text(render_table(scatter, "csv"), encoding="utf-8")
    written.update(ice_rse=data / "ice_rse.json", ice_rse_csv=data / "ice_rse.csv")
    _write_dendrogram(data, models, mats[primary], primary, written)
    dump_json(sigs, data / "signatures.json")
    meta["extra_tables"] = _write_extra_tables(data, tables or {}, written)
    aud = dict(audit or {})
    aud["warnings"] = audit_warnings(aud, models, mats[primary] if primary.startswith("degree") else None)
    dump_json(aud, data / "audit.json")
    written["audit"] = data / "audit.json"
    if evidence:
        dump_json(list(evidence), data / "evidence.json")
        written["evidence"] = data / "evidence.json"
    figs: dict[str, Path] = {}
    meta["figure_note"] = None
    if figures:
        try:
            figs = redraw(root)
        except ImportError as exc:  # no matplotlib: tables and evidence still make a report
            meta["figure_note"] = str(exc)
    else:
        meta["figure_note"] = "figures were not drawn (--no-figures); redraw them with distillscope.report.redraw"
    meta["figures"] = [k for k in figs if not k.endswith("_svg")]
    dump_json(meta, data / "meta.json")
    written["signatures"] = data / "signatures.json"
    written.update(figs)
    (root / "summary.md").write_text(markdown_summary(root), encoding="utf-8")
    (root / "index.html").write_text(page_html(root), encoding="utf-8")
    written.update(summary=root / "summary.md", index=root / "index.html")
    return written


def _check_matrices(models: list[str], matrices: Any, primary: str | None) -> tuple[dict[str, np.ndarray], str]:
    """The checked ``{name: (m, m) array}`` and the primary matrix's name."""
    if len(models) < 1 or len(set(models)) != len(models):
        raise ValueError("models must be a non-empty list of unique names")
    if not isinstance(matrices, Mapping) or not matrices:
        raise ValueError("matrices must be a non-empty {name: (m, m) array} mapping")
    mats = {str(k): check_matrix(models, v, f"matrices[{k!r}]") for k, v in matrices.items()}
    for k in mats:
        if not k or any(ch in k for ch in "/\\") or k.startswith("."):
            raise ValueError(f"matrix name {k!r} must be a plain file-name-safe word")
    if primary is None:
        primary = "degree" if "degree" in mats else next(iter(mats))
    if primary not in mats:
        raise ValueError(f"primary={primary!r} is not among the matrices {list(mats)}")
    return mats, primary


def _check_extras(
    attribution: Mapping[str, Any] | None,
    ice: Mapping[str, Any] | None,
    tables: Mapping[str, Any] | None,
    ice_level: str,
) -> None:
    if attribution is not None:
        check_attribution(attribution)
    if ice is not None:
        ice_rows(ice)
    for t_title, t_rows in (tables or {}).items():
        if (
            isinstance(t_rows, (str, bytes))
            or not isinstance(t_rows, Sequence)
            or not all(isinstance(r, Mapping) for r in t_rows)
        ):
            raise ValueError(f"tables[{t_title!r}] must be a list of flat dicts (one per row)")
    if ice_level not in ICE_LEVELS:
        raise ValueError(f"ice_level must be one of {ICE_LEVELS}, got {ice_level!r}")


def _write_matrices(data: Path, models: list[str], mats: Mapping[str, np.ndarray], written: dict[str, Path]) -> None:
    dump_json({"models": models, "matrices": mats}, data / "matrices.json")
    written["matrices"] = data / "matrices.json"
    for name, m in mats.items():
        p = data / f"matrix_{name}.csv"
        p.write_text(render_matrix(models, m, "csv"), encoding="utf-8")
        written[f"matrix_{name}"] = p


def _write_attribution(
    data: Path, attribution: Mapping[str, Any], sigs: dict[str, str], written: dict[str, Path]
) -> None:
    """Attribution JSON and CSVs; its signatures join ``sigs`` (given ones win)."""
    dump_json(attribution, data / "attribution.json")
    (data / "attribution.csv").write_text(render_attribution(attribution, "csv", granularities=True), encoding="utf-8")
    (data / "best_vs_runner_up.csv").write_text(
        render_table(best_rows(attribution), "csv", BEST_COLUMNS), encoding="utf-8"
    )
    written.update(
        attribution=data / "attribution.json",
        attribution_csv=data / "attribution.csv",
        best_vs_runner_up=data / "best_vs_runner_up.csv",
    )
    if attribution.get("signature"):
        sigs.setdefault("calibration", str(attribution["signature"]))
    for k, v in (attribution.get("metric_signatures") or {}).items():
        sigs.setdefault(str(k), str(v))


def _write_dendrogram(
    data: Path, models: list[str], matrix: np.ndarray, primary: str, written: dict[str, Path]
) -> None:
    dist = spread_distance(matrix)
    link = average_linkage(dist)
    order = leaf_order(link, len(models))
    dump_json(
        {
            "method": "average",
            "distance": f"(max - s) / (max - min) of the symmetrised {primary} s over model pairs: "
            "0 = the most similar pair, 1 = the least similar",
            "models": models,
            "linkage": link,
            "leaf_order": order,
        },
        data / "dendrogram.json",
    )
    written["dendrogram"] = data / "dendrogram.json"


def _write_extra_tables(
    data: Path, tables: Mapping[str, Sequence[Mapping[str, Any]]], written: dict[str, Path]
) -> list[str]:
    """Save each extra table as ``data/table_<k>.json/.csv``; their names."""
    extra = []
    for pos, (t_title, t_rows) in enumerate(tables.items(), start=1):
        name = f"table_{pos}"
        dump_json({"title": str(t_title), "rows": [dict(r) for r in t_rows]}, data / f"{name}.json")
        (data / f"{name}.csv").write_text(render_table(t_rows, "csv"), encoding="utf-8")
        written.update({name: data / f"{name}.json", f"{name}_csv": data / f"{name}.csv"})
        extra.append(name)
    return extra


def audit_warnings(audit: Mapping[str, Any], models: Sequence[str], degree: np.ndarray | None) -> list[str]:
    """Warnings that change how to read the numbers: one sample per prompt (no
    ceiling), near-clones in the population, few prompts."""
    out = []
    spp = audit.get("samples_per_prompt") or {}
    if spp.get("max") is not None and int(spp["max"]) < 2:
        out.append(
            "One sample per model and prompt: the self-similarity ceiling cannot be measured and falls "
            "back to the maximum score. It is context only: the degree (a share of derived answers) "
            "does not use it."
        )
    if degree is not None:
        m = np.asarray(degree, dtype=np.float64)
        for i in range(len(models)):
            for j in range(i + 1, len(models)):
                if m[i, j] >= CLONE_DEGREE and m[j, i] >= CLONE_DEGREE:
                    out.append(
                        f"{models[i]} and {models[j]} look like versions of one model (degree "
                        f"{m[i, j]:.2f} / {m[j, i]:.2f} both ways): each is part of the other's population "
                        "baseline, so degrees of other students toward either of them are understated."
                    )
    n = audit.get("n_prompts")
    if n is not None and int(n) < FEW_PROMPTS:
        out.append(
            f"Only {int(n)} prompts: intervals are wide; read a difference between two degrees as evidence "
            "only where the best-vs-runner-up test says so."
        )
    return out


def redraw(folder: str | Path) -> dict[str, Path]:
    """(Re)draw every figure of a report folder from its ``data/`` files only.

    Returns ``{name: png path, name + "_svg": svg path}`` for ``heatmap``,
    ``heatmap_degree_<g>`` (per granularity), ``dendrogram`` and ``ice_rse``
    (only when ICE rates are present). Needs matplotlib (ImportError naming
    the fix otherwise).
    """
    from . import figures as F

    root = Path(folder)
    meta = load_data(root, "meta.json")
    mats = load_data(root, "matrices.json")
    dend = load_data(root, "dendrogram.json")
    if meta is None or mats is None or dend is None:
        raise FileNotFoundError(f"{root} is not a report folder (data/meta.json, matrices.json, dendrogram.json)")
    mpl = F.load_matplotlib()
    figdir = root / "figures"
    figdir.mkdir(exist_ok=True)
    models = mats["models"]
    order = dend["leaf_order"]
    labels = [models[i] for i in order]
    sim = " (simulated)" if meta.get("simulated") else ""
    out: dict[str, Path] = {}

    def save(fig: Any, name: str) -> None:
        svg, png = F.save_figure(mpl, fig, figdir / name)
        out[name], out[f"{name}_svg"] = png, svg

    heatmaps = {"heatmap": meta["primary"]}
    heatmaps.update({f"heatmap_{k}": k for k in mats["matrices"] if k.startswith("degree_") and k != meta["primary"]})
    # one colour scale for every degree heatmap, so the granularities compare by eye
    deg = [
        np.array([[_nan(v) for v in row] for row in mats["matrices"][k]], dtype=np.float64)
        for k in heatmaps.values()
        if k.startswith("degree")
    ]
    off = np.concatenate([d[~np.eye(len(d), dtype=bool)] for d in deg]) if deg else np.empty(0)
    off = off[np.isfinite(off)]
    shared_limit = max(0.05, float(np.abs(off).max())) if off.size else 1.0
    for name, key in heatmaps.items():
        mat = np.array([[_nan(v) for v in row] for row in mats["matrices"][key]], dtype=np.float64)
        gran = "combined" if name == "heatmap" else key[len("degree_") :] if key.startswith("degree_") else key
        limit = shared_limit if key.startswith("degree") else None
        save(
            F.heatmap(
                mpl,
                mat[np.ix_(order, order)],
                labels,
                title=f"degree: {gran}{sim}" if key.startswith("degree") else f"{key}{sim}",
                colorbar="degree (0 = as the population predicts)" if key.startswith("degree") else key,
                limit=limit,
            ),
            name,
        )
    save(
        F.dendrogram(
            mpl,
            np.array(dend["linkage"]),
            order,
            labels,
            title="clustering of the models" + sim,
            ylabel="relative distance\n(0 = closest pair, 1 = farthest)",
        ),
        "dendrogram",
    )
    rows = load_data(root, "ice_rse.json") or []
    pts = [r for r in rows if r.get("ice_rate") is not None and r.get("rse_degree") is not None]
    if pts:
        save(
            F.ice_rse_scatter(
                mpl,
                pts,
                title="identity consistency vs response similarity" + sim,
                ylabel=f"ICE: {meta.get('ice_level', 'strict')} contradiction rate",
            ),
            "ice_rse",
        )
    return out


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


# --------------------------------------------------------------------------- Markdown summary
def markdown_summary(folder: str | Path) -> str:
    """A summary that pastes into a paper draft or an issue: what was audited,
    the one-sentence definitions, the key table with intervals, the warnings."""
    root = Path(folder)
    meta = load_data(root, "meta.json")
    aud = load_data(root, "audit.json") or {}
    t = markdown_text
    parts = [f"# {t(meta['title'])}", ""]
    if meta.get("simulated"):
        parts += [
            "> **Simulated data.** These models and answers were generated by distillscope's simulator; "
            "the numbers show what the method recovers, not facts about real models.",
            "",
        ]
    parts += [f"**Models ({len(meta['models'])}):** {t(', '.join(meta['models']))}", ""]
    facts = audit_facts(aud)
    if facts:
        parts += [f"- {t(k)}: {t(v)}" for k, v in facts] + [""]
    parts += [f"**Distillation degree.** {t(DEGREE_DEFINITION)}", ""]
    parts += [f"- *{t(k)}*: {t(v)}" for k, v in GLOSSARY] + [""]
    for w in aud.get("warnings") or []:
        parts += [f"> **Warning.** {t(w)}", ""]
    for n in meta.get("notes") or []:
        parts += [f"- {t(n)}"]
    if meta.get("notes"):
        parts.append("")
    attr = load_data(root, "attribution.json")
    if attr is not None:
        rows = []
        for r in key_rows(attr):
            rows.append(
                {
                    "student": r["student"],
                    "top candidate": r["top_candidate"],
                    "degree [95% CI]": interval_text(r["degree"], r["ci_low"], r["ci_high"]),
                    "runner-up": r["runner_up"],
                    "runner-up degree": r["runner_up_degree"],
                    "beats runner-up": significance_text(r),
                    "prompts": r["n_prompts"],
                }
            )
        parts += [
            "## Key result: closest candidate teacher per student",
            "",
            render_table(rows, "markdown", non_empty_columns(rows)),
        ]
    for name in meta.get("figures") or []:
        parts += [f"![{name}](figures/{name}.png)", "", f"*{t(figure_caption(name))}*", ""]
    for title, rows, cols in summary_tables(root, markdown=True):
        cells, names = merge_intervals(rows, cols)
        text_rows = [{n: c[n][0] for n in names} for c in cells]
        parts += [f"## {t(title)}", "", render_table(text_rows, "markdown", names)]
    parts.append(f"_distillscope {meta.get('distillscope_version')}, report format v{meta.get('report_version')}_\n")
    return "\n".join(parts)
