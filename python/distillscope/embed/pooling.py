"""Late chunking: response, sentence and paragraph vectors from one forward pass.

A response is encoded once, as a whole; each segment's vector is the mean of
the contextual token states inside its character span, L2-normalized. The
segment vectors thus come from the same pass as the response vector instead
of a second pass over every sentence as an isolated text, and each sentence
is read in the context of its answer.

Responses longer than the model's length are cut into overlapping windows of
``width`` content tokens (each wrapped in the model's special tokens, as a
single text would be). Consecutive windows overlap by ``2 * margin`` tokens,
and every token takes its state from the window whose centre is nearest, so
it sees at least ``margin`` tokens of context on each side (except at the
ends of the text). A text that fits in one window gets exactly the input
``Encoder.encode`` gives it, hence the same response vector.

The functions here are numpy only (no model): :func:`plan_windows` places
the windows, :func:`owned_tokens` decides which window each token's state
comes from, :func:`span_token_index` maps character spans to token runs and
:func:`pool_runs` averages them. ``Encoder.encode_with_segments`` runs the
model.
"""

from __future__ import annotations

import numpy as np

__all__ = ["default_margin", "owned_tokens", "plan_windows", "pool_runs", "span_token_index"]


def default_margin(width: int) -> int:
    """Context kept on each side of a window's owned tokens: width / 8, at most 32."""
    return max(0, min(32, width // 8))


def plan_windows(n: int, width: int, margin: int) -> np.ndarray:
    """Start of each window over ``n`` content tokens, int64[K] (K ≥ 1).

    Windows are ``width`` tokens long (the last may be shifted left so it
    ends at ``n``); the stride is ``width - 2 * margin``. ``n <= width``
    gives one window at 0.
    """
    if width < 1:
        raise ValueError(f"window width must be >= 1, got {width}")
    if margin < 0 or 2 * margin >= width:
        raise ValueError(f"margin must be in [0, width/2), got {margin} for width {width}")
    if n <= width:
        return np.zeros(1, dtype=np.int64)
    stride = width - 2 * margin
    k = -(-(n - width) // stride) + 1  # ceil
    starts = np.minimum(np.arange(k, dtype=np.int64) * stride, n - width)
    return starts


def owned_tokens(n: int, starts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """For each content token: its window and its position inside it (int64[n] each).

    A token belongs to the window whose centre is nearest to the token's
    centre (ties go to the earlier window), which keeps it as far from a
    window edge as possible.
    """
    t = np.arange(n, dtype=np.int64)
    if len(starts) == 1:
        return np.zeros(n, dtype=np.int64), t - starts[0]
    # token t occupies [t, t + 1), window k [s_k, s_k + width): compare centres in doubled units
    # (2t + 1 against the midpoint s_k + s_k+1 + width of two window centres), ties to the earlier window
    bounds2 = starts[:-1] + starts[1:] + width
    win = np.searchsorted(bounds2, 2 * t + 1, side="left").astype(np.int64)
    pos = t - starts[win]
    if n and ((pos < 0) | (pos >= width)).any():  # pragma: no cover - guaranteed by plan_windows
        raise AssertionError("a token fell outside its window")
    return win, pos


def span_token_index(tok_start: np.ndarray, tok_end: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Span of each token (int64[n], -1 where none) from character offsets.

    ``spans`` int64 (m, 2) are sorted, non-overlapping ``[start, end)``
    character ranges; a token belongs to the span holding its first
    character, or if none does (a token that starts in the white space just
    before a span) the span holding its last one.
    """
    n = len(tok_start)
    if n == 0 or len(spans) == 0:
        return np.full(n, -1, dtype=np.int64)
    a, b = spans[:, 0], spans[:, 1]
    j = np.searchsorted(a, tok_start, side="right") - 1
    ok = (j >= 0) & (tok_start < b[np.maximum(j, 0)])
    last = np.maximum(tok_end - 1, tok_start)
    j2 = np.searchsorted(a, last, side="right") - 1
    ok2 = (j2 >= 0) & (last < b[np.maximum(j2, 0)])
    return np.where(ok, j, np.where(ok2, j2, -1)).astype(np.int64)


def pool_runs(states: np.ndarray, seg: np.ndarray, n_segments: int) -> np.ndarray:
    """L2-normalized mean of ``states`` rows per segment id (float32[n_segments, D]).

    ``seg`` int64[n] gives each row's segment (-1: none). Sums run in
    float64. A segment without tokens gets the zero vector (the alignment
    kernels score it 0 against everything).
    """
    dim = states.shape[1]
    out = np.zeros((n_segments, dim), dtype=np.float64)
    keep = seg >= 0
    ids = seg[keep]
    cnt = np.bincount(ids, minlength=n_segments).astype(np.float64)
    if len(ids):
        rows = states[keep].astype(np.float64)
        if (np.diff(ids) >= 0).all():  # text order: each segment is one run of rows
            first = np.r_[0, np.nonzero(np.diff(ids))[0] + 1]
            out[ids[first]] = np.add.reduceat(rows, first, axis=0)
        else:
            np.add.at(out, ids, rows)
    out /= np.maximum(cnt, 1.0)[:, None]
    norm = np.sqrt((out * out).sum(axis=1, keepdims=True))
    return (out / np.maximum(norm, 1e-12)).astype(np.float32)
