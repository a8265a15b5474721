"""Progress of a run: a bar with rate and ETA on a terminal, log lines otherwise."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

PROGRESS_MODES = ("auto", "bar", "log", "none")


def _fmt_s(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class Progress:
    """A bar with rate and ETA on a terminal, plain log lines otherwise."""

    def __init__(
        self, total: int, *, mode: str = "auto", stream: TextIO | None = None, log_every_s: float = 10.0
    ) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress must be one of {PROGRESS_MODES}, got {mode!r}")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", lambda: False)
            mode = "bar" if isatty() else "log"
        self.mode = mode
        self.total = total
        self.done = 0
        self.ok = 0
        self.failed = 0
        self.retries = 0
        self.t0 = time.monotonic()
        self._last = 0.0
        self.log_every_s = log_every_s
        self._interval = 0.1 if mode == "bar" else log_every_s

    def update(self, ok: bool) -> None:
        self.done += 1
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        now = time.monotonic()
        if self.mode != "none" and now - self._last >= self._interval:
            self._last = now
            self._emit(final=False)

    def line(self) -> str:
        el = time.monotonic() - self.t0
        rate = self.done / el if el > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"{self.done}/{self.total} ({pct:.0f}%) ok={self.ok} failed={self.failed} "
            f"retries={self.retries} {rate:.1f} req/s elapsed {_fmt_s(el)} ETA {_fmt_s(eta)}"
        )

    def _emit(self, final: bool) -> None:
        if self.mode == "bar":
            width = 28
            frac = self.done / self.total if self.total else 1.0
            fill = int(round(width * frac))
            self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {self.line()}\x1b[K")
            if final:
                self.stream.write("\n")
        else:
            self.stream.write(f"gather: {self.line()}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.mode != "none" and self.total:
            self._emit(final=True)


__all__ = ["PROGRESS_MODES", "Progress"]
