"""Column form of a response store for analysis.

:func:`load_table` returns a :class:`ResponseTable` of numpy columns (the
latest record per key) with integer codes for models and prompts, ready for
grouped numeric work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from .store import latest_records, record_key


@dataclass(frozen=True)
class ResponseTable:
    """A store as numpy columns (one row per latest record).

    ``model_code`` / ``prompt_code`` index ``models`` / ``prompt_ids`` so
    grouping is integer work (``np.bincount``, ``np.lexsort``). Text columns
    are object arrays; missing numbers are -1 (tokens) or NaN (times).
    """

    models: np.ndarray  # (M,) object, sorted
    prompt_ids: np.ndarray  # (P,) object, sorted
    model_code: np.ndarray  # (N,) int32
    prompt_code: np.ndarray  # (N,) int32
    sample: np.ndarray  # (N,) int32
    response: np.ndarray  # (N,) object (str or None)
    error: np.ndarray  # (N,) object (str or None)
    ok: np.ndarray  # (N,) bool
    finish_reason: np.ndarray  # (N,) object
    prompt_tokens: np.ndarray  # (N,) int64, -1 unknown
    completion_tokens: np.ndarray  # (N,) int64, -1 unknown
    latency_s: np.ndarray  # (N,) float64, NaN unknown
    prompt: np.ndarray  # (N,) object: prompt text where recorded
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.model_code.shape[0])

    @property
    def model(self) -> np.ndarray:
        return self.models[self.model_code]

    @property
    def prompt_id(self) -> np.ndarray:
        return self.prompt_ids[self.prompt_code]

    def select(self, mask: np.ndarray) -> "ResponseTable":
        mask = np.asarray(mask)
        cols = {
            n: getattr(self, n)[mask]
            for n in (
                "model_code",
                "prompt_code",
                "sample",
                "response",
                "error",
                "ok",
                "finish_reason",
                "prompt_tokens",
                "completion_tokens",
                "latency_s",
                "prompt",
            )
        }
        return ResponseTable(
            models=self.models, prompt_ids=self.prompt_ids, extra={k: v[mask] for k, v in self.extra.items()}, **cols
        )

    def aligned(
        self, models: Iterable[str] | None = None, *, sample: int = 0
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Responses of several models on the prompts all of them answered.

        Returns ``(prompt_ids, {model: responses})`` where every array has
        the same length and row ``i`` of each is the answer to
        ``prompt_ids[i]`` (sample ``sample``, successful records only).
        """
        names = list(self.models) if models is None else list(models)
        code_of = {m: i for i, m in enumerate(self.models)}
        missing = [m for m in names if m not in code_of]
        if missing:
            raise ValueError(f"models {missing} are not in the store; it has {list(self.models)}")
        P = len(self.prompt_ids)
        keep = self.ok & (self.sample == sample)
        grid = np.full((len(names), P), -1, dtype=np.int64)
        rows = np.nonzero(keep)[0]
        for j, m in enumerate(names):
            r = rows[self.model_code[rows] == code_of[m]]
            grid[j, self.prompt_code[r]] = r
        common = np.nonzero((grid >= 0).all(axis=0))[0]
        out = {m: self.response[grid[j, common]] for j, m in enumerate(names)}
        return self.prompt_ids[common], out

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for i, m in enumerate(self.models):
            sel = self.model_code == i
            out[str(m)] = {"records": int(sel.sum()), "ok": int((sel & self.ok).sum())}
        return out


def load_table(
    path: str | os.PathLike[str] | Iterable[Mapping[str, Any]], *, extra_fields: Iterable[str] = ()
) -> ResponseTable:
    """Load a store (path or iterable of records) into :class:`ResponseTable`."""
    recs: list[Mapping[str, Any]]
    if isinstance(path, (str, os.PathLike)):
        recs = list(latest_records(path).values())
    else:
        recs = list({record_key(r): r for r in path}.values())
    n = len(recs)
    model = np.array([str(r["model"]) for r in recs], dtype=object)
    pid = np.array([str(r["prompt_id"]) for r in recs], dtype=object)
    models, mcode = np.unique(model, return_inverse=True) if n else (np.array([], dtype=object), np.zeros(0, int))
    pids, pcode = np.unique(pid, return_inverse=True) if n else (np.array([], dtype=object), np.zeros(0, int))

    def col(name: str) -> np.ndarray:
        a = np.empty(n, dtype=object)
        a[:] = [r.get(name) for r in recs]
        return a

    def usage(name: str) -> np.ndarray:
        vals = []
        for r in recs:
            u = r.get("usage") or {}
            v = u.get(name)
            vals.append(-1 if v is None else int(v))
        return np.asarray(vals, dtype=np.int64)

    response = col("response")
    error = col("error")
    ok = np.array([r.get("response") is not None and r.get("error") is None for r in recs], dtype=bool)
    lat = np.array([np.nan if r.get("latency_s") is None else float(r["latency_s"]) for r in recs], dtype=np.float64)
    return ResponseTable(
        models=np.asarray(models, dtype=object),
        prompt_ids=np.asarray(pids, dtype=object),
        model_code=np.asarray(mcode, dtype=np.int32).reshape(-1),
        prompt_code=np.asarray(pcode, dtype=np.int32).reshape(-1),
        sample=np.array([int(r["sample"]) for r in recs], dtype=np.int32),
        response=response,
        error=error,
        ok=ok,
        finish_reason=col("finish_reason"),
        prompt_tokens=usage("prompt_tokens"),
        completion_tokens=usage("completion_tokens"),
        latency_s=lat,
        prompt=col("prompt"),
        extra={f: col(f) for f in extra_fields},
    )


__all__ = ["ResponseTable", "load_table"]
