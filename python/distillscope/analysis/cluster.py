"""Clustering for the report: average linkage (UPGMA) on 1 - similarity and the
dendrogram's leaf order."""

from __future__ import annotations

import numpy as np

__all__ = ["average_linkage", "leaf_order", "similarity_to_distance", "spread_distance"]


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


def similarity_to_distance(matrix: np.ndarray) -> np.ndarray:
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


def spread_distance(matrix: np.ndarray) -> np.ndarray:
    """Distance rescaled to the observed range: 0 for the most similar pair of
    models, 1 for the least similar (and for undefined pairs); diagonal 0.

    ``1 - similarity`` of calibrated degrees (mostly near 0) squeezes every
    merge of a dendrogram into a sliver near 1. Average linkage commutes with
    an increasing affine map of the distances (an average of ``a*d + b`` is
    ``a*mean(d) + b``), so this changes only the heights, never the tree or
    its leaf order, and the merges use the full height of the figure.
    """
    d = similarity_to_distance(matrix)
    m = len(d)
    if m < 2:
        return d
    off = d[~np.eye(m, dtype=bool)]
    lo, hi = float(off.min()), float(off.max())
    if hi - lo <= 1e-12:
        out = np.where(np.eye(m, dtype=bool), 0.0, 1.0)
        return out
    out = (d - lo) / (hi - lo)
    np.fill_diagonal(out, 0.0)
    return out
