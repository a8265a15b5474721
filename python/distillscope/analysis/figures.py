"""The report's figures, drawn with matplotlib's object API (no pyplot, no global
backend switch) from plain arrays, and the label placement of the scatter.

matplotlib is imported lazily by :func:`load_matplotlib`; every drawing
function takes the ``Figure`` class it returns. :func:`repel_labels` is pure
numpy (tested without matplotlib).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["load_matplotlib", "save_figure", "heatmap", "dendrogram", "ice_rse_scatter", "repel_labels"]


def load_matplotlib() -> Any:
    """``(Figure, colormaps, FigureCanvasAgg, rc_context)``, or ImportError naming the fix."""
    try:
        from matplotlib import colormaps, rc_context
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("figures need matplotlib: pip install 'distillscope[plot]'") from exc
    return Figure, colormaps, FigureCanvasAgg, rc_context


def save_figure(mpl: Any, fig: Any, stem: Any) -> list[Any]:
    """Write ``stem.svg`` and ``stem.png``; same data, same bytes (no dates, fixed ids)."""
    _, _, canvas, rc_context = mpl
    canvas(fig)
    paths = []
    with rc_context({"svg.hashsalt": "distillscope", "svg.fonttype": "none"}):
        for ext, meta in (("svg", {"Date": None, "Creator": None}), ("png", {"Software": None})):
            p = stem.with_suffix(f".{ext}")
            fig.savefig(p, format=ext, dpi=110, metadata=meta)
            paths.append(p)
    return paths


# --------------------------------------------------------------------------- heatmap
def heatmap(
    mpl: Any,
    mat: np.ndarray,
    labels: Sequence[str],
    *,
    title: str,
    colorbar: str,
    limit: float | None = None,
) -> Any:
    """Students (rows) x candidates (columns), diverging colours centred on 0,
    values written in the cells, the diagonal grey."""
    Figure, colormaps, _, _ = mpl
    m = len(labels)
    size = max(3.6, 0.5 * m + 2.2)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.add_subplot()
    shown = np.array(mat, dtype=np.float64)
    np.fill_diagonal(shown, np.nan)
    finite = shown[np.isfinite(shown)]
    lim = limit if limit is not None else max(0.05, float(np.abs(finite).max()) if finite.size else 1.0)
    cmap = colormaps["RdBu_r"].with_extremes(bad="#e4e4e4")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=-lim, vmax=lim)
    ax.set_xticks(range(m), labels, rotation=50, ha="right", fontsize=8)
    ax.set_yticks(range(m), labels, fontsize=8)
    ax.set_xlabel("candidate teacher (T)", fontsize=9)
    ax.set_ylabel("student (S)", fontsize=9)
    if m <= 20:
        for i in range(m):
            for j in range(m):
                v = shown[i, j]
                if math.isfinite(v):
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7 if m <= 12 else 5.5,
                        color="white" if abs(v) > 0.6 * lim else "black",
                    )
    fig.colorbar(im, ax=ax, label=colorbar, shrink=0.8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- dendrogram
def dendrogram(
    mpl: Any, link: np.ndarray, order: Sequence[int], labels: Sequence[str], *, title: str, ylabel: str
) -> Any:
    """The average-linkage tree, leaves in ``order``, merge heights as given."""
    Figure = mpl[0]
    m = len(order)
    fig = Figure(figsize=(max(5.0, 0.5 * m + 3), 4.2))
    ax = fig.add_subplot()
    xpos = {leaf: float(i) for i, leaf in enumerate(order)}
    height = {leaf: 0.0 for leaf in range(m)}
    for k, (a, b, dist, _) in enumerate(np.asarray(link, dtype=np.float64).reshape(-1, 4)):
        a, b = int(a), int(b)
        xa, xb = xpos[a], xpos[b]
        ax.plot([xa, xa, xb, xb], [height[a], dist, dist, height[b]], color="#33658a", linewidth=1.4)
        xpos[m + k] = (xa + xb) / 2
        height[m + k] = float(dist)
    ax.set_xticks(range(m), labels, rotation=50, ha="right", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(-0.02, 1.05)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- scatter
def repel_labels(
    anchors: np.ndarray,
    sizes: np.ndarray,
    *,
    start: tuple[float, float] = (5.0, 4.0),
    iterations: int = 400,
    pad: float = 2.0,
    marker: float = 5.0,
) -> np.ndarray:
    """Lower-left corners of label boxes that neither overlap each other nor
    cover any anchor point.

    ``anchors``: (k, 2) point positions; ``sizes``: (k, 2) label widths and
    heights, in the same units (display points). Every label starts at its
    anchor + ``start``; each iteration pushes every overlapping pair of boxes
    (and every box covering another label's point, a ``marker``-sized square)
    apart along the axis where they overlap least, half each, plus a weak pull
    back toward the anchor. Deterministic; O(iterations * k^2).
    """
    pts = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
    wh = np.asarray(sizes, dtype=np.float64).reshape(-1, 2) + pad
    pos = pts + np.asarray(start, dtype=np.float64)
    k = len(pts)
    for _ in range(iterations):
        moved = False
        for i in range(k):
            for j in range(i + 1, k):
                dx = min(pos[i, 0] + wh[i, 0], pos[j, 0] + wh[j, 0]) - max(pos[i, 0], pos[j, 0])
                dy = min(pos[i, 1] + wh[i, 1], pos[j, 1] + wh[j, 1]) - max(pos[i, 1], pos[j, 1])
                if dx > 0 and dy > 0:
                    moved = True
                    if dy <= dx:  # vertical separation is the shorter way out
                        sgn = 1.0 if (pos[i, 1], i) >= (pos[j, 1], j) else -1.0
                        pos[i, 1] += sgn * dy / 2 + sgn * 0.01
                        pos[j, 1] -= sgn * dy / 2 + sgn * 0.01
                    else:
                        sgn = 1.0 if (pos[i, 0], i) >= (pos[j, 0], j) else -1.0
                        pos[i, 0] += sgn * dx / 2 + sgn * 0.01
                        pos[j, 0] -= sgn * dx / 2 + sgn * 0.01
            for j in range(k):  # a label must not hide any point
                half = marker / 2
                dx = min(pos[i, 0] + wh[i, 0], pts[j, 0] + half) - max(pos[i, 0], pts[j, 0] - half)
                dy = min(pos[i, 1] + wh[i, 1], pts[j, 1] + half) - max(pos[i, 1], pts[j, 1] - half)
                if dx > 0 and dy > 0:
                    moved = True
                    if dy <= dx:
                        pos[i, 1] += dy + 0.01 if pos[i, 1] + wh[i, 1] / 2 >= pts[j, 1] else -(dy + 0.01)
                    else:
                        pos[i, 0] += dx + 0.01 if pos[i, 0] + wh[i, 0] / 2 >= pts[j, 0] else -(dx + 0.01)
        if not moved:
            break
    return pos


def ice_rse_scatter(mpl: Any, pts: Sequence[Mapping[str, Any]], *, title: str, ylabel: str) -> Any:
    """ICE rate against RSE degree, one point per model with both intervals,
    labels placed by :func:`repel_labels` with a leader line when moved."""
    Figure = mpl[0]
    fig = Figure(figsize=(6.4, 5.0))
    ax = fig.add_subplot()
    xs = np.array([float(r["rse_degree"]) for r in pts])
    ys = np.array([float(r["ice_rate"]) for r in pts])
    for r, x, y in zip(pts, xs, ys):
        xerr = yerr = None
        if r.get("rse_ci_low") is not None and r.get("rse_ci_high") is not None:
            xerr = [[max(0.0, x - r["rse_ci_low"])], [max(0.0, r["rse_ci_high"] - x)]]
        if r.get("ice_ci_low") is not None and r.get("ice_ci_high") is not None:
            yerr = [[max(0.0, y - r["ice_ci_low"])], [max(0.0, r["ice_ci_high"] - y)]]
        ax.errorbar([x], [y], xerr=xerr, yerr=yerr, fmt="o", capsize=3, markersize=5, color="#33658a", ecolor="#9bb7cc")
    lo_x = min(-0.05, float(xs.min()) - 0.05)
    hi_x = max(float(xs.max()) + 0.25, 0.3)
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(-0.03, max(1.03, float(ys.max()) + 0.1))
    ax.axvline(0.0, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel("RSE: distillation degree toward the top candidate", fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    texts = [f"{r['model']} \u2192 {r.get('rse_candidate') or '?'}" for r in pts]
    fontsize = 7.0
    to_pt = 72.0 / fig.dpi
    anchors = ax.transData.transform(np.column_stack([xs, ys])) * to_pt
    sizes = np.array([[0.58 * fontsize * len(t), 1.25 * fontsize] for t in texts])
    boxes = repel_labels(anchors, sizes)
    for t, x, y, (ax_pt, ay_pt), (bx, by) in zip(texts, xs, ys, anchors, boxes):
        off = (bx - ax_pt, by - ay_pt)
        far = math.hypot(*off) > 14
        ax.annotate(
            t,
            (x, y),
            xycoords="data",
            xytext=off,
            textcoords="offset points",
            fontsize=fontsize,
            ha="left",
            va="bottom",
            annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": "#888888", "linewidth": 0.6} if far else None,
        )
    return fig
