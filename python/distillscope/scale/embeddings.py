"""Memory-mapped ``.npy`` embedding rows for pair scoring: read in row ranges, pages released after use."""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np


class Embeddings:
    """A memory-mapped ``.npy`` matrix read in row ranges, pages released after use.

    ``np.load(mmap_mode="r")`` would map the file too; mapping it here keeps
    the ``mmap`` object so that rows already consumed can be dropped from the
    resident set with ``madvise(MADV_DONTNEED)`` (the pages stay in the page
    cache; only this process's RSS shrinks).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"embedding file {str(self.path)!r} does not exist")
        with open(self.path, "rb") as f:
            try:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            except ValueError as e:
                raise ValueError(f"{str(self.path)!r} is not a .npy file ({e}); save embeddings with np.save") from e
            header = f.tell()
        if len(shape) != 2:
            raise ValueError(f"{str(self.path)!r} must hold a 2-D (pairs x dim) array; got shape {shape}")
        if dtype not in (np.dtype(np.float32), np.dtype(np.float16)):
            raise TypeError(f"{str(self.path)!r} has dtype {dtype}; save it as float32 (x.astype(np.float32))")
        if fortran and shape[1] > 1:
            raise ValueError(f"{str(self.path)!r} is Fortran-ordered; save np.ascontiguousarray(x) instead")
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row_bytes = self.shape[1] * self.dtype.itemsize
        self._header = header
        self._file = open(self.path, "rb")
        size = header + self.shape[0] * self._row_bytes
        if os.fstat(self._file.fileno()).st_size < size:
            self._file.close()
            raise ValueError(f"{str(self.path)!r} is truncated: expected {size} bytes for shape {self.shape}")
        self._mm: mmap.mmap | None = None
        if self.shape[0] and self.shape[1]:
            self._mm = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(mmap, "MADV_SEQUENTIAL"):  # rows are read front to back: read ahead aggressively
                self._mm.madvise(mmap.MADV_SEQUENTIAL)
        self._released = 0

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a read-only view of the mapping (no copy)."""
        if not 0 <= start <= stop <= self.shape[0]:
            raise ValueError(
                f"{str(self.path)!r} has {self.shape[0]} rows but rows {start}..{stop} were asked for; "
                "the embedding file needs one row per pair"
            )
        if self._mm is None:
            return np.zeros((stop - start, self.shape[1]), self.dtype)
        return np.frombuffer(
            self._mm,
            dtype=self.dtype,
            count=(stop - start) * self.shape[1],
            offset=self._header + start * self._row_bytes,
        ).reshape(stop - start, self.shape[1])

    def release(self, stop: int) -> None:
        """Drop the resident pages of rows before ``stop`` (they are not needed again)."""
        if self._mm is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        end = (self._header + stop * self._row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        if end > self._released:
            self._mm.madvise(mmap.MADV_DONTNEED, self._released, end - self._released)
            self._released = end

    def prefetch(self, start: int, stop: int) -> None:
        """Ask the kernel to start reading rows ``start:stop`` from disk now (asynchronously)."""
        if self._mm is None or not hasattr(mmap, "MADV_WILLNEED"):
            return
        stop = min(stop, self.shape[0])
        if start >= stop:
            return
        lo = (self._header + start * self._row_bytes) // mmap.PAGESIZE * mmap.PAGESIZE
        hi = min(len(self._mm), self._header + stop * self._row_bytes)
        self._mm.madvise(mmap.MADV_WILLNEED, lo, hi - lo)

    def signature(self) -> dict[str, Any]:
        st = self.path.stat()
        return {
            "path": str(self.path.resolve()),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "shape": list(self.shape),
        }

    def close(self) -> None:
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # a caller still holds a view; the mapping goes when it does
                pass
            self._mm = None
        self._file.close()

    def __enter__(self) -> Embeddings:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Embeddings"]
