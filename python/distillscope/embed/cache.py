"""The on-disk embedding cache: SQLite in WAL mode, keyed by (model id, text hash)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .models import home

__all__ = ["EmbeddingCache", "default_cache_path"]


def default_cache_path() -> Path:
    return home() / "cache" / "embeddings.sqlite3"


class EmbeddingCache:
    """Embeddings on disk, keyed by (model id, text hash); many processes may share it.

    SQLite in WAL mode: readers never block, writers queue behind a busy
    timeout, each ``put`` is one transaction (``INSERT OR IGNORE``: the first
    writer of a key wins, later identical work is dropped). A connection is
    opened per process (after ``fork`` a fresh one is made).
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 120.0) -> None:
        self._setup(path, timeout)

    def _setup(self, path: str | os.PathLike, timeout: float) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=self.timeout, check_same_thread=False, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS emb (model TEXT NOT NULL, key BLOB NOT NULL, vec BLOB NOT NULL, "
            "PRIMARY KEY (model, key)) WITHOUT ROWID"
        )
        self._conn, self._pid = conn, os.getpid()
        return conn

    def get(self, model: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        out: dict[bytes, np.ndarray] = {}
        if not keys:
            return out
        with self._lock:
            conn = self._connect()
            for lo in range(0, len(keys), 500):
                chunk = list(keys[lo : lo + 500])
                q = f"SELECT key, vec FROM emb WHERE model = ? AND key IN ({','.join('?' * len(chunk))})"
                for k, v in conn.execute(q, [model, *chunk]):
                    vec = np.frombuffer(v, dtype=np.float32)
                    if vec.size == dim:
                        out[bytes(k)] = vec
        return out

    def get_matrices(self, model: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """Like :meth:`get` for entries holding several vectors: float32 [rows, dim] each."""
        out: dict[bytes, np.ndarray] = {}
        if not keys or dim < 1:
            return out
        with self._lock:
            conn = self._connect()
            for lo in range(0, len(keys), 500):
                chunk = list(keys[lo : lo + 500])
                q = f"SELECT key, vec FROM emb WHERE model = ? AND key IN ({','.join('?' * len(chunk))})"
                for k, v in conn.execute(q, [model, *chunk]):
                    vec = np.frombuffer(v, dtype=np.float32)
                    if vec.size and vec.size % dim == 0:
                        out[bytes(k)] = vec.reshape(-1, dim)
        return out

    def put(self, model: str, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        rows = [(model, k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items]
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO emb (model, key, vec) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def count(self, model: str | None = None) -> int:
        with self._lock:
            conn = self._connect()
            if model is None:
                return int(conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0])
            return int(conn.execute("SELECT COUNT(*) FROM emb WHERE model = ?", (model,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict) -> None:
        self._setup(state["path"], state["timeout"])
