"""Reports: data files, figures drawn from them, an HTML page and a Markdown summary.

:func:`write_report` writes a self-contained folder::

    <folder>/
      data/meta.json            title, models, primary matrix, simulated flag, version
      data/matrices.json        every model x model matrix (NaN -> null)
      data/matrix_<name>.csv    the same, one CSV per matrix
      data/attribution.json     calibrate.attribute(...) output, as is
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

:func:`render_table`, :func:`render_attribution`, :func:`render_matrix` and
:func:`render_ice` turn the same tables into ``json``, ``csv`` or
``markdown`` text for the CLI's ``--format``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .._io import clean_json, dump_json

__all__ = [
    "FORMATS",
    "write_report",
    "redraw",
    "render_table",
    "render_attribution",
    "render_matrix",
    "render_ice",
    "attribution_rows",
    "best_rows",
    "ice_rows",
    "ice_rse_rows",
    "average_linkage",
    "leaf_order",
]

FORMATS = ("json", "csv", "markdown")
ICE_LEVELS = ("loose", "strict", "hard")
_REPORT_VERSION = "1"


# --------------------------------------------------------------------------- JSON / values
def _md(text: str) -> str:
    """Text safe inside Markdown: HTML special characters as entities (so a
    name like ``<script>`` stays text when the Markdown is rendered), backslashes
    doubled, newlines folded."""
    return html.escape(str(text), quote=False).replace("\\", "\\\\").replace("\n", " ")


def _fmt(v: Any, digits: int = 3) -> str:
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
        return json.dumps(clean_json([{c: r.get(c) for c in columns} for r in rows]), indent=2,
                          ensure_ascii=False, allow_nan=False)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if (v := clean_json(r.get(c))) is None else v for c in columns])
        return buf.getvalue()

    def cell(v: Any) -> str:
        return _md(_fmt(v)).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(cell(r.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


_ATTR_COLUMNS = ("student", "rank", "candidate", "degree", "ci_low", "ci_high", "raw", "baseline",
                 "population", "null", "ceiling", "n_prompts")
_BEST_COLUMNS = ("student", "best", "runner_up", "difference", "ci_low", "ci_high", "p_value", "significant")


def attribution_rows(attribution: Mapping[str, Any], *, granularities: bool = False) -> list[dict[str, Any]]:
    """Flatten ``calibrate.attribute`` output: one row per (student, candidate);
    with ``granularities=True`` add ``<granularity>_degree`` columns."""
    _check_attribution(attribution)
    rows = []
    for student, cands in attribution["students"].items():
        for r in cands:
            row = {"student": student}
            row.update({k: r.get(k) for k in _ATTR_COLUMNS if k != "student"})
            if granularities:
                for g, d in (r.get("granularities") or {}).items():
                    row[f"{g}_degree"] = d.get("degree")
            rows.append(row)
    return rows


def best_rows(attribution: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per student: does the best candidate beat the runner-up?"""
    _check_attribution(attribution)
    rows = []
    for student, b in (attribution.get("best_vs_runner_up") or {}).items():
        row = {"student": student}
        row.update({k: (b or {}).get(k) for k in _BEST_COLUMNS if k != "student"})
        rows.append(row)
    return rows


def _check_attribution(a: Any) -> None:
    if not isinstance(a, Mapping) or not isinstance(a.get("students"), Mapping):
        raise ValueError("attribution must be the dict returned by calibrate.attribute(...) (needs 'students')")


def render_attribution(attribution: Mapping[str, Any], fmt: str, *, granularities: bool = False) -> str:
    """``json``: the full ``attribute`` contract; ``csv``/``markdown``: the ranked
    rows, followed (markdown only) by the best-vs-runner-up table."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "json":
        _check_attribution(attribution)
        return json.dumps(clean_json(attribution), indent=2, ensure_ascii=False, allow_nan=False)
    rows = attribution_rows(attribution, granularities=granularities)
    out = render_table(rows, fmt)
    if fmt == "markdown":
        out += "\n" + render_table(best_rows(attribution), fmt, _BEST_COLUMNS)
    return out


def _check_matrix(models: Sequence[str], matrix: Any, name: str = "matrix") -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape != (len(models), len(models)):
        raise ValueError(f"{name} must be ({len(models)}, {len(models)}) for {len(models)} models, got {m.shape}")
    return m


def render_matrix(models: Sequence[str], matrix: Any, fmt: str) -> str:
    """A model x model matrix: ``json`` ``{"models", "matrix"}``, or a table whose
    first column is the row model."""
    models = [str(x) for x in models]
    m = _check_matrix(models, matrix)
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
            rows.append({"model": model, "level": level, "rate": d.get("rate"), "ci_low": d.get("ci_low"),
                         "ci_high": d.get("ci_high"), "n": d.get("n")})
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
            row.update(rse_candidate=top.get("candidate"), rse_degree=top.get("degree"),
                       rse_ci_low=top.get("ci_low"), rse_ci_high=top.get("ci_high"))
        else:
            r = np.array(matrix[i], dtype=np.float64)
            r[i] = np.nan
            j = int(np.nanargmax(r)) if np.isfinite(r).any() else None
            row.update(rse_candidate=models[j] if j is not None else None,
                       rse_degree=float(r[j]) if j is not None else None, rse_ci_low=None, rse_ci_high=None)
        d = ((ice or {}).get(model) or {}).get(level) or {}
        row.update(ice_level=level, ice_rate=d.get("rate"), ice_ci_low=d.get("ci_low"), ice_ci_high=d.get("ci_high"))
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- clustering
def average_linkage(distance: np.ndarray) -> np.ndarray:
    """UPGMA (average-linkage) agglomerative clustering of a symmetric distance matrix.

    Returns a (m-1, 4) array in SciPy's ``linkage`` layout: the two merged
    cluster ids (leaves 0..m-1, merge k creates id m+k; smaller id first),
    the merge distance and the new cluster's size. Ties merge the pair with
    the smallest ids first, so the result is deterministic. O(m^3), fine for
    the tens of models a report shows.
    """
    d = np.array(distance, dtype=np.float64)
    m = d.shape[0]
    if d.ndim != 2 or d.shape != (m, m):
        raise ValueError(f"distance must be a square matrix, got shape {d.shape}")
    if m < 2:
        return np.empty((0, 4))
    if not np.all(np.isfinite(d)):
        raise ValueError("distance has NaN/inf; fill undefined pairs first (report uses the largest distance)")
    if not np.allclose(d, d.T, atol=1e-12):
        raise ValueError("distance must be symmetric; pass (D + D.T) / 2")
    active = list(range(m))
    ids = list(range(m))
    sizes = [1] * m
    big = np.inf
    work = d.copy()
    np.fill_diagonal(work, big)
    out = np.empty((m - 1, 4))
    for k in range(m - 1):
        sub = work[np.ix_(active, active)]
        flat = int(np.argmin(sub))  # first minimum in row-major order: lowest positions on ties
        a_pos, b_pos = divmod(flat, len(active))
        if a_pos > b_pos:
            a_pos, b_pos = b_pos, a_pos
        a, b = active[a_pos], active[b_pos]
        dist = float(work[a, b])
        na, nb = sizes[a], sizes[b]
        ia, ib = sorted((ids[a], ids[b]))
        out[k] = (ia, ib, dist, na + nb)
        # the merged cluster lives in slot a; slot b retires
        new = (na * work[a] + nb * work[b]) / (na + nb)
        work[a, :] = new
        work[:, a] = new
        work[a, a] = big
        work[b, :] = big
        work[:, b] = big
        sizes[a] = na + nb
        ids[a] = m + k
        active.remove(b)
    return out


def leaf_order(linkage: np.ndarray, m: int) -> list[int]:
    """Left-to-right leaf order of a linkage (the order a dendrogram draws)."""
    if m == 1:
        return [0]
    children = {m + k: (int(r[0]), int(r[1])) for k, r in enumerate(linkage)}
    order: list[int] = []
    stack = [m + len(linkage) - 1]
    while stack:
        node = stack.pop()
        if node < m:
            order.append(node)
        else:
            left, right = children[node]
            stack.append(right)
            stack.append(left)
    return order


def _similarity_to_distance(matrix: np.ndarray) -> np.ndarray:
    """1 - symmetrised similarity; diagonal 0; undefined pairs get the largest distance."""
    s = np.array(matrix, dtype=np.float64)
    st = s.T
    fs, ft = np.isfinite(s), np.isfinite(st)
    sym = np.where(fs & ft, (s + st) / 2, np.where(fs, s, np.where(ft, st, np.nan)))
    d = 1.0 - sym
    np.fill_diagonal(d, 0.0)
    off = d[~np.eye(len(d), dtype=bool)]
    fill = float(np.nanmax(off)) if np.isfinite(off).any() else 1.0
    d = np.where(np.isfinite(d), d, fill)
    return np.maximum(d, 0.0)


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
    attribution: output of :func:`distillscope.calibrate.attribute`.
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
    if len(models) < 1 or len(set(models)) != len(models):
        raise ValueError("models must be a non-empty list of unique names")
    if not isinstance(matrices, Mapping) or not matrices:
        raise ValueError("matrices must be a non-empty {name: (m, m) array} mapping")
    mats = {str(k): _check_matrix(models, v, f"matrices[{k!r}]") for k, v in matrices.items()}
    for k in mats:
        if not k or any(ch in k for ch in "/\\") or k.startswith("."):
            raise ValueError(f"matrix name {k!r} must be a plain file-name-safe word")
    if primary is None:
        primary = "degree" if "degree" in mats else next(iter(mats))
    if primary not in mats:
        raise ValueError(f"primary={primary!r} is not among the matrices {list(mats)}")
    if attribution is not None:
        _check_attribution(attribution)
    if ice is not None:
        ice_rows(ice)
    for t_title, t_rows in (tables or {}).items():
        if isinstance(t_rows, (str, bytes)) or not isinstance(t_rows, Sequence) or not all(
            isinstance(r, Mapping) for r in t_rows
        ):
            raise ValueError(f"tables[{t_title!r}] must be a list of flat dicts (one per row)")
    if ice_level not in ICE_LEVELS:
        raise ValueError(f"ice_level must be one of {ICE_LEVELS}, got {ice_level!r}")

    root = Path(folder)
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    from .. import __version__

    meta = {"title": str(title), "models": models, "primary": primary, "simulated": bool(simulated),
            "ice_level": ice_level, "notes": [str(n) for n in notes], "report_version": _REPORT_VERSION,
            "distillscope_version": __version__}
    dump_json(meta, data / "meta.json")
    written["meta"] = data / "meta.json"
    dump_json({"models": models, "matrices": mats}, data / "matrices.json")
    written["matrices"] = data / "matrices.json"
    for name, m in mats.items():
        p = data / f"matrix_{name}.csv"
        p.write_text(render_matrix(models, m, "csv"), encoding="utf-8")
        written[f"matrix_{name}"] = p

    sigs: dict[str, str] = dict(signatures or {})
    if attribution is not None:
        dump_json(attribution, data / "attribution.json")
        (data / "attribution.csv").write_text(render_attribution(attribution, "csv", granularities=True),
                                              encoding="utf-8")
        (data / "best_vs_runner_up.csv").write_text(render_table(best_rows(attribution), "csv", _BEST_COLUMNS),
                                                    encoding="utf-8")
        written.update(attribution=data / "attribution.json", attribution_csv=data / "attribution.csv",
                       best_vs_runner_up=data / "best_vs_runner_up.csv")
        if attribution.get("signature"):
            sigs.setdefault("calibration", str(attribution["signature"]))
        for k, v in (attribution.get("metric_signatures") or {}).items():
            sigs.setdefault(str(k), str(v))
    if ice is not None:
        dump_json(ice, data / "ice.json")
        (data / "ice.csv").write_text(render_ice(ice, "csv"), encoding="utf-8")
        written.update(ice=data / "ice.json", ice_csv=data / "ice.csv")
    scatter = ice_rse_rows(models, mats[primary], attribution, ice, ice_level)
    dump_json(scatter, data / "ice_rse.json")
    (data / "ice_rse.csv").write_text(render_table(scatter, "csv"), encoding="utf-8")
    written.update(ice_rse=data / "ice_rse.json", ice_rse_csv=data / "ice_rse.csv")

    dist = _similarity_to_distance(mats[primary])
    link = average_linkage(dist)
    order = leaf_order(link, len(models))
    dump_json({"method": "average", "distance": f"1 - symmetrised {primary}", "models": models,
                "linkage": link, "leaf_order": order}, data / "dendrogram.json")
    written["dendrogram"] = data / "dendrogram.json"
    dump_json(sigs, data / "signatures.json")
    extra = []
    for pos, (t_title, t_rows) in enumerate((tables or {}).items(), start=1):
        name = f"table_{pos}"
        dump_json({"title": str(t_title), "rows": [dict(r) for r in t_rows]}, data / f"{name}.json")
        (data / f"{name}.csv").write_text(render_table(t_rows, "csv"), encoding="utf-8")
        written.update({name: data / f"{name}.json", f"{name}_csv": data / f"{name}.csv"})
        extra.append(name)
    meta["extra_tables"] = extra
    dump_json(meta, data / "meta.json")
    written["signatures"] = data / "signatures.json"

    figs = redraw(root) if figures else {}
    written.update(figs)
    (root / "summary.md").write_text(_markdown(root, figs), encoding="utf-8")
    (root / "index.html").write_text(_html(root, figs), encoding="utf-8")
    written.update(summary=root / "summary.md", index=root / "index.html")
    return written


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
    m = len(models)
    out: dict[str, Path] = {}
    save_kw = {"dpi": 110, "metadata": {"Software": None}}  # no version stamp: same data, same bytes

    def save(fig: Any, name: str) -> None:
        FigureCanvasAgg(fig)
        p = figdir / f"{name}.png"
        fig.savefig(p, format="png", **save_kw)
        out[name] = p

    # heatmap, in dendrogram order
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
    cmap = matplotlib_colormaps["viridis"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=vmin, vmax=vmax)
    labels = [models[i] for i in order]
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
    ax.set_title(f"{meta['title']}: {primary}" + (" (simulated)" if meta.get("simulated") else ""), fontsize=10)
    fig.tight_layout()
    save(fig, "heatmap")

    # dendrogram
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
    ax.set_ylabel(f"1 - {primary} (average linkage)")
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(bottom=0.0)
    ax.set_title("model clustering" + (" (simulated)" if meta.get("simulated") else ""), fontsize=10)
    fig.tight_layout()
    save(fig, "dendrogram")

    # ICE x RSE scatter
    rows = _load(root, "ice_rse.json") or []
    pts = [r for r in rows if r.get("ice_rate") is not None and r.get("rse_degree") is not None]
    if pts:
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
        ax.set_title("identity consistency vs response similarity"
                     + (" (simulated)" if meta.get("simulated") else ""), fontsize=10)
        fig.tight_layout()
        save(fig, "ice_rse")
    return out


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
        out.append(("Teacher attribution (top 3 candidates per student)", top, list(_ATTR_COLUMNS)))
        out.append(("Does the best candidate beat the runner-up? (paired bootstrap)", best_rows(attr),
                    list(_BEST_COLUMNS)))
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
    parts = [f"# {_md(meta['title'])}", ""]
    if meta.get("simulated"):
        parts += ["> **Simulated data.** These models and answers were generated by distillscope's simulator; "
                  "the numbers show what the method recovers, not facts about real models.", ""]
    parts += [f"Models: {_md(', '.join(meta['models']))}", ""]
    for n in meta.get("notes") or []:
        parts += [f"- {_md(n)}"]
    if meta.get("notes"):
        parts.append("")
    for name in figs:
        parts += [f"![{_FIG_CAPTIONS.get(name, name)}](figures/{name}.png)", ""]
    for title, rows, cols in _tables(root):
        parts += [f"## {_md(title)}", "", render_table(rows, "markdown", cols)]
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
    body = "".join("<tr>" + "".join(f"<td>{e(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
