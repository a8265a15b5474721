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
      figures/heatmap.png       model x model degree, rows/columns in dendrogram order
      figures/dendrogram.png    average linkage on 1 - similarity
      figures/ice_rse.png       ICE rate against RSE degree, with intervals
      index.html                tables + figures (all text HTML-escaped)
      summary.md                the same in Markdown

Figures are drawn only from the files under ``data/`` by :func:`redraw`, so
anyone can regenerate (or restyle) them from a report folder alone.
matplotlib is imported lazily and used through its object API with the Agg
canvas (no pyplot, no global backend switch).

The tables themselves (and their ``json``/``csv``/``markdown`` rendering for
the CLI's ``--format``) live in :mod:`distillscope.analysis.tables`; the
clustering in :mod:`distillscope.analysis.cluster`.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .._io import dump_json
from .cluster import average_linkage, leaf_order, similarity_to_distance
from .tables import (
    ATTR_COLUMNS,
    BEST_COLUMNS,
    ICE_LEVELS,
    attribution_rows,
    best_rows,
    check_attribution,
    check_matrix,
    format_value,
    ice_rows,
    ice_rse_rows,
    markdown_text,
    render_attribution,
    render_ice,
    render_matrix,
    render_table,
)

__all__ = ["write_report", "redraw"]

_REPORT_VERSION = "1"


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
) -> dict[str, Path]:
    """Write the report folder and return ``{name: path}`` of what was written.

    models: row/column names of every matrix.
    matrices: ``{name: (m, m) array}``; ``primary`` (default ``"degree"`` if
        present, else the first) feeds the heatmap, dendrogram and scatter.
    attribution: output of :func:`distillscope.analysis.attribution.attribute`.
    ice: ``{model: {"loose"|"strict"|"hard": {"rate", "ci_low", "ci_high"}}}``.
    signatures: ``{metric: signature}``; the attribution's calibration
        signature and metric signatures are added automatically.
    simulated: say on every page that the data are simulated.
    tables: extra ``{title: [flat row dicts]}`` (e.g. judge agreement, ICE per
        category and language); each is saved as ``data/table_<k>.json/.csv``
        and shown in the HTML and Markdown after the built-in tables.
    figures: draw the PNGs (needs matplotlib, the ``plot`` extra).
    """
    models = [str(x) for x in models]
    mats, primary = _check_matrices(models, matrices, primary)
    _check_extras(attribution, ice, tables, ice_level)

    root = Path(folder)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    from .._version import __version__

    meta = {"title": str(title), "models": models, "primary": primary, "simulated": bool(simulated),
            "ice_level": ice_level, "notes": [str(n) for n in notes], "report_version": _REPORT_VERSION,
            "distillscope_version": __version__}
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
    dump_json(meta, data / "meta.json")
    written["signatures"] = data / "signatures.json"

    figs = redraw(root) if figures else {}
    written.update(figs)
    (root / "summary.md").write_text(_markdown(root, figs), encoding="utf-8")
    (root / "index.html").write_text(_html(root, figs), encoding="utf-8")
    written.update(summary=root / "summary.md", index=root / "index.html")
    return written


def _check_matrices(
    models: list[str], matrices: Any, primary: str | None
) -> tuple[dict[str, np.ndarray], str]:
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
        if isinstance(t_rows, (str, bytes)) or not isinstance(t_rows, Sequence) or not all(
            isinstance(r, Mapping) for r in t_rows
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
    (data / "attribution.csv").write_text(render_attribution(attribution, "csv", granularities=True),
                                          encoding="utf-8")
    (data / "best_vs_runner_up.csv").write_text(render_table(best_rows(attribution), "csv", BEST_COLUMNS),
                                                encoding="utf-8")
    written.update(attribution=data / "attribution.json", attribution_csv=data / "attribution.csv",
                   best_vs_runner_up=data / "best_vs_runner_up.csv")
    if attribution.get("signature"):
        sigs.setdefault("calibration", str(attribution["signature"]))
    for k, v in (attribution.get("metric_signatures") or {}).items():
        sigs.setdefault(str(k), str(v))


def _write_dendrogram(data: Path, models: list[str], matrix: np.ndarray, primary: str, written: dict[str, Path]) -> None:
    dist = similarity_to_distance(matrix)
    link = average_linkage(dist)
    order = leaf_order(link, len(models))
    dump_json({"method": "average", "distance": f"1 - symmetrised {primary}", "models": models,
                "linkage": link, "leaf_order": order}, data / "dendrogram.json")
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


def _load(root: Path, name: str) -> Any:
    p = root / "data" / name
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def redraw(folder: str | Path) -> dict[str, Path]:
    """(Re)draw every figure of a report folder from its ``data/`` files only.

    Returns ``{"heatmap": path, "dendrogram": path, "ice_rse": path}`` (the
    scatter only when ICE rates are present). Needs matplotlib.
    """
    try:
        from matplotlib import colormaps as matplotlib_colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install 'distillscope[plot]'") from exc

    root = Path(folder)
    meta = _load(root, "meta.json")
    mats = _load(root, "matrices.json")
    dend = _load(root, "dendrogram.json")
    if meta is None or mats is None or dend is None:
        raise FileNotFoundError(f"{root} is not a report folder (data/meta.json, matrices.json, dendrogram.json)")
    figdir = root / "figures"
    figdir.mkdir(exist_ok=True)
    models = mats["models"]
    primary = meta["primary"]
    mat = np.array([[_nan(v) for v in row] for row in mats["matrices"][primary]], dtype=np.float64)
    order = dend["leaf_order"]
    out: dict[str, Path] = {}
    save_kw = {"dpi": 110, "metadata": {"Software": None}}  # no version stamp: same data, same bytes

    def save(fig: Any, name: str) -> None:
        FigureCanvasAgg(fig)
        p = figdir / f"{name}.png"
        fig.savefig(p, format="png", **save_kw)
        out[name] = p

    labels = [models[i] for i in order]
    save(_heatmap(Figure, matplotlib_colormaps, meta, mat, order, labels), "heatmap")
    save(_dendrogram(Figure, meta, dend, order, labels), "dendrogram")
    rows = _load(root, "ice_rse.json") or []
    pts = [r for r in rows if r.get("ice_rate") is not None and r.get("rse_degree") is not None]
    if pts:
        save(_ice_rse_scatter(Figure, meta, pts), "ice_rse")
    return out


def _title_suffix(meta: Mapping[str, Any]) -> str:
    return " (simulated)" if meta.get("simulated") else ""


def _heatmap(
    Figure: Callable[..., Any], colormaps: Any, meta: Mapping[str, Any], mat: np.ndarray, order: list[int],
    labels: list[str],
) -> Any:
    """Model x model heatmap of the primary matrix, in dendrogram order."""
    primary = meta["primary"]
    m = len(order)
    size = max(4.0, 0.55 * m + 2.5)
    fig = Figure(figsize=(size + 1.2, size))
    ax = fig.add_subplot()
    shown = mat[np.ix_(order, order)].copy()
    np.fill_diagonal(shown, np.nan)  # a model against itself says nothing; grey
    # scale to the off-diagonal range: real degrees are often small, and a fixed
    # 0..1 scale would paint them all the same colour
    finite = shown[np.isfinite(shown)]
    vmin = min(0.0, float(finite.min())) if finite.size else 0.0
    vmax = max(float(finite.max()), vmin + 1e-6) if finite.size else 1.0
    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(m), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(m), labels, fontsize=8)
    ax.set_xlabel("candidate (teacher)")
    ax.set_ylabel("student")
    if m <= 16:
        for i in range(m):
            for j in range(m):
                v = shown[i, j]
                if math.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if v < (vmin + vmax) / 2 else "black")
    fig.colorbar(im, ax=ax, label=primary)
    ax.set_title(f"{meta['title']}: {primary}" + _title_suffix(meta), fontsize=10)
    fig.tight_layout()
    return fig


def _dendrogram(
    Figure: Callable[..., Any], meta: Mapping[str, Any], dend: Mapping[str, Any], order: list[int], labels: list[str]
) -> Any:
    """The average-linkage tree drawn from ``dendrogram.json``."""
    m = len(order)
    link = np.array(dend["linkage"], dtype=np.float64).reshape(-1, 4)
    fig = Figure(figsize=(max(5.0, 0.5 * m + 3), 4.5))
    ax = fig.add_subplot()
    xpos = {leaf: float(i) for i, leaf in enumerate(order)}
    height = {leaf: 0.0 for leaf in range(m)}
    for k, (a, b, dist, _) in enumerate(link):
        a, b = int(a), int(b)
        xa, xb = xpos[a], xpos[b]
        ha, hb = height[a], height[b]
        ax.plot([xa, xa, xb, xb], [ha, dist, dist, hb], color="tab:blue", linewidth=1.2)
        xpos[m + k] = (xa + xb) / 2
        height[m + k] = float(dist)
    ax.set_xticks(range(m), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"1 - {meta['primary']} (average linkage)")
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(bottom=0.0)
    ax.set_title("model clustering" + _title_suffix(meta), fontsize=10)
    fig.tight_layout()
    return fig


def _ice_rse_scatter(Figure: Callable[..., Any], meta: Mapping[str, Any], pts: list[dict[str, Any]]) -> Any:
    """ICE rate against RSE degree, one point per model, with intervals."""
    fig = Figure(figsize=(6.0, 4.8))
    ax = fig.add_subplot()
    for r in pts:
        x, y = float(r["rse_degree"]), float(r["ice_rate"])
        xerr = None
        if r.get("rse_ci_low") is not None and r.get("rse_ci_high") is not None:
            xerr = [[max(0.0, x - r["rse_ci_low"])], [max(0.0, r["rse_ci_high"] - x)]]
        yerr = None
        if r.get("ice_ci_low") is not None and r.get("ice_ci_high") is not None:
            yerr = [[max(0.0, y - r["ice_ci_low"])], [max(0.0, r["ice_ci_high"] - y)]]
        ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", capsize=3, markersize=5)
        ax.annotate(f"{r['model']} \u2192 {r.get('rse_candidate') or '?'}", (x, y), textcoords="offset points",
                    xytext=(5, 4), fontsize=7)
    ax.set_xlabel("RSE: distillation degree toward top candidate")
    ax.set_ylabel(f"ICE: {meta.get('ice_level', 'strict')} contradiction rate")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("identity consistency vs response similarity" + _title_suffix(meta), fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- summaries
def _tables(root: Path) -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    """(title, rows, columns) of every table shown in the summaries, from data/."""
    mats = _load(root, "matrices.json")
    meta = _load(root, "meta.json")
    models = mats["models"]
    out: list[tuple[str, list[dict[str, Any]], list[str]]] = []
    attr = _load(root, "attribution.json")
    if attr is not None:
        top = [r for r in attribution_rows(attr) if (r.get("rank") or 99) <= 3]
        out.append(("Teacher attribution (top 3 candidates per student)", top, list(ATTR_COLUMNS)))
        out.append(("Does the best candidate beat the runner-up? (paired bootstrap)", best_rows(attr),
                    list(BEST_COLUMNS)))
    ice = _load(root, "ice.json")
    if ice is not None:
        out.append(("Identity consistency (ICE) rates", ice_rows(ice),
                    ["model", "level", "rate", "ci_low", "ci_high", "n"]))
    scatter = _load(root, "ice_rse.json") or []
    if scatter:
        out.append(("RSE and ICE per model", scatter, list(scatter[0].keys())))
    for name, m in mats["matrices"].items():
        rows = [{"model": a, **{b: m[i][j] for j, b in enumerate(models)}} for i, a in enumerate(models)]
        label = f"Matrix: {name}" + (" (primary)" if name == meta["primary"] else "")
        out.append((label, rows, ["model", *models]))
    for name in meta.get("extra_tables") or []:
        t = _load(root, f"{name}.json")
        if t and t.get("rows"):
            cols: dict[str, None] = {}
            for r in t["rows"]:
                for c in r:
                    cols.setdefault(c, None)
            out.append((t["title"], t["rows"], list(cols)))
    sigs = _load(root, "signatures.json") or {}
    if sigs:
        out.append(("Signatures", [{"metric": k, "signature": v} for k, v in sigs.items()], ["metric", "signature"]))
    return out


_FIG_CAPTIONS = {
    "heatmap": "Model x model matrix (rows: students, columns: candidates), in clustering order; "
               "colours span the off-diagonal range.",
    "dendrogram": "Average-linkage clustering on 1 - similarity.",
    "ice_rse": "Identity-consistency contradiction rate against distillation degree.",
}


def _markdown(root: Path, figs: Mapping[str, Path]) -> str:
    meta = _load(root, "meta.json")
    parts = [f"# {markdown_text(meta['title'])}", ""]
    if meta.get("simulated"):
        parts += ["> **Simulated data.** These models and answers were generated by distillscope's simulator; "
                  "the numbers show what the method recovers, not facts about real models.", ""]
    parts += [f"Models: {markdown_text(', '.join(meta['models']))}", ""]
    for n in meta.get("notes") or []:
        parts += [f"- {markdown_text(n)}"]
    if meta.get("notes"):
        parts.append("")
    for name in figs:
        parts += [f"![{_FIG_CAPTIONS.get(name, name)}](figures/{name}.png)", ""]
    for title, rows, cols in _tables(root):
        parts += [f"## {markdown_text(title)}", "", render_table(rows, "markdown", cols)]
    parts.append(f"_distillscope {meta.get('distillscope_version')}, report format v{meta.get('report_version')}_\n")
    return "\n".join(parts)


def _html(root: Path, figs: Mapping[str, Path]) -> str:
    meta = _load(root, "meta.json")
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(meta['title'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.85em}"
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
        ".sim{background:#fff3cd;border:1px solid #e0c36a;padding:0.6em 1em}"
        "figure{display:inline-block;margin:0.5em}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{e(meta['title'])}</h1>",
    ]
    if meta.get("simulated"):
        parts.append('<p class="sim"><strong>Simulated data.</strong> These models and answers were generated by '
                     "distillscope's simulator; the numbers show what the method recovers, not facts about real "
                     "models.</p>")
    parts.append(f"<p>Models: {e(', '.join(meta['models']))}</p>")
    if meta.get("notes"):
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in meta["notes"]) + "</ul>")
    for name in figs:
        cap = _FIG_CAPTIONS.get(name, name)
        parts.append(f'<figure><img src="figures/{e(name)}.png" alt="{e(cap)}"><figcaption>{e(cap)}'
                     "</figcaption></figure>")
    for title, rows, cols in _tables(root):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(_html_table(rows, cols))
    parts.append(f"<p><small>distillscope {e(str(meta.get('distillscope_version')))}, report format "
                 f"v{e(str(meta.get('report_version')))}; data files in <code>data/</code>, figures redrawn from "
                 "them by <code>distillscope.report.redraw</code>.</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_table(rows: Iterable[Mapping[str, Any]], cols: Sequence[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{e(format_value(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
