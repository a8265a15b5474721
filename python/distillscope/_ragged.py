"""Ragged arrays: a flat ``values`` array plus int64 CSR ``offsets``.

Row ``i`` is ``values[offsets[i]:offsets[i+1]]``. Every text-shaped thing in
distillscope (token ids, sentence spans, per-sample embeddings) travels as
one of these so that kernels take whole batches in one call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ragged:
    """A batch of variable-length rows stored as ``values`` + ``offsets``."""

    values: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        off = self.offsets
        if not isinstance(off, np.ndarray) or off.dtype != np.int64 or off.ndim != 1:
            raise TypeError("offsets must be a 1-D int64 numpy array")
        if off.size < 1 or off[0] != 0:
            raise ValueError("offsets must start with 0 and have length n_rows + 1")
        if off.size > 1 and np.any(np.diff(off) < 0):
            raise ValueError("offsets must be non-decreasing")
        if int(off[-1]) != len(self.values):
            raise ValueError(f"offsets[-1] ({int(off[-1])}) must equal len(values) ({len(self.values)})")

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[int]] | Sequence[np.ndarray], dtype=np.int64) -> Ragged:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if len(rows) and offsets[-1]:
            values = np.concatenate([np.asarray(r, dtype=dtype).reshape(-1, *np.shape(r)[1:]) for r in rows])
        else:
            values = np.zeros(0, dtype=dtype)
        return cls(values, offsets)

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    def __getitem__(self, i: int) -> np.ndarray:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"row {i} out of range for {n} rows")
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def tolist(self) -> list[list]:
        return [r.tolist() for r in self]
