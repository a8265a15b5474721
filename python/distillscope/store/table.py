"""Column form of a response store for analysis.

:func:`load_table` returns a :class:`ResponseTable` of numpy columns (the
latest record per key) with integer codes for models and prompts, ready for
grouped numeric work.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .store import MAX_SAMPLE, latest_records, record_key


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

    def select(self, mask: np.ndarray) -> ResponseTable:
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


def _check_record(r: Any) -> None:
    """One-line errors for records other tools wrote wrongly."""
    if not isinstance(r, Mapping) or not {"model", "prompt_id", "sample"} <= r.keys():
        raise ValueError(f"not a response record (needs model, prompt_id, sample): {str(r)[:80]}")
    where = f"record (model={str(r['model'])[:40]!r}, prompt_id={str(r['prompt_id'])[:40]!r})"
    s = r["sample"]
    try:  # "3" is read as 3; the table holds samples as int32
        ok = not isinstance(s, bool) and isinstance(s, (int, str)) and 0 <= int(s) <= MAX_SAMPLE
    except ValueError:  # "x", "-", "²"
        ok = False
    if not ok:
        raise ValueError(f"{where}: sample must be an integer between 0 and {MAX_SAMPLE}, got {s!r}; fix the record")
    for f in ("response", "error", "prompt", "finish_reason"):
        v = r.get(f)
        if v is not None and not isinstance(v, str):
            raise ValueError(f"{where}: {f} must be a string or null, got {type(v).__name__}; fix the record")
    if not isinstance(r["model"], (str, int)) or not isinstance(r["prompt_id"], (str, int)):
        raise ValueError(f"{where}: model and prompt_id must be strings; fix the record")


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
    for r in recs:
        _check_record(r)
    model = np.array([str(r["model"]) for r in recs], dtype=object)
    pid = np.array([str(r["prompt_id"]) for r in recs], dtype=object)
    models, mcode = np.unique(model, return_inverse=True) if n else (np.array([], dtype=object), np.zeros(0, int))
    pids, pcode = np.unique(pid, return_inverse=True) if n else (np.array([], dtype=object), np.zeros(0, int))

    def col(name: str) -> np.ndarray:
        a = np.empty(n, dtype=object)
        a[:] = [r.get(name) for r in recs]
        return a

    def usage(name: str) -> np.ndarray:
        # usage is metadata from the API: anything but an object of counts
        # (a string, a list, a negative or fractional count) reads as unknown
        vals = []
        for r in recs:
            u = r.get("usage")
            v = u.get(name) if isinstance(u, Mapping) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and 0 <= v < 2**62:
                vals.append(int(v))
            else:
                vals.append(-1)
        return np.asarray(vals, dtype=np.int64)

    def latency(r: Mapping[str, Any]) -> float:
        v = r.get("latency_s")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan

    response = col("response")
    error = col("error")
    ok = np.array([r.get("response") is not None and r.get("error") is None for r in recs], dtype=bool)
    lat = np.array([latency(r) for r in recs], dtype=np.float64)
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
