"""Progress of long stages: a bar on a terminal, a line every few seconds otherwise.

``Progress(total, "embedding")`` is used as a context manager around a loop
that calls ``update(n)``. On a TTY it redraws one line in place (count,
percentage, rate, ETA) at most ten times a second; on a pipe or a log file it
writes a plain line every ``interval`` seconds (default 5) plus a final line,
so CI logs stay short. ``enabled=False`` (``--quiet``) makes every call a
no-op. Stages that finish within ``min_seconds`` print nothing at all: short
work shows nothing extra. Output goes to stderr, never stdout (stdout carries
JSON / CSV results).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import IO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``75`` → ``'1:15'``, ``3725`` → ``'1:02:05'``; unknown → ``'?'``."""
    if math.isnan(seconds) or seconds < 0 or math.isinf(seconds):
        return "?"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Count / rate / ETA of one stage (see the module doc).

    total: units of work (``0`` or ``None``: unknown, no ETA).
    desc: what is being counted, e.g. ``"embedding windows"``.
    enabled: ``False`` silences it.
    stream: where to write (default ``sys.stderr``); ``tty`` overrides the
        terminal detection (tests).
    interval: seconds between plain lines when not on a terminal.
    min_seconds: nothing is shown before this much time has passed.
    clock: time source (tests pass a fake one).
    work: the cost of the whole stage in any unit (e.g. tokens weighted by
        sequence length), when items differ in cost and arrive in an order
        that makes the count a poor guide (the encoder runs short texts
        first); ``update(n, work=w)`` then reports the cost done, and the
        ETA is the remaining cost over the cost rate. The count and the
        rate shown stay in items. ``None``: the ETA follows the count.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        enabled: bool = True,
        stream: IO[str] | None = None,
        tty: bool | None = None,
        interval: float = 5.0,
        min_seconds: float = 1.0,
        unit: str = "",
        clock: Callable[[], float] = time.monotonic,
        work: float | None = None,
    ) -> None:
        self.total = int(total) if total else 0
        self.work_total = float(work) if work else 0.0
        self.work_done = 0.0
        self.desc = desc
        self.enabled = bool(enabled)
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.interval = float(interval)
        self.min_seconds = float(min_seconds)
        self.unit = unit
        self.clock = clock
        self.n = 0
        self.t0 = clock()
        self._last = -float("inf")
        self._shown = False

    def __enter__(self) -> Progress:  # noqa: PYI034 (no typing_extensions dependency)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def text(self) -> str:
        """The current status line (without bar decoration)."""
        el = max(self.clock() - self.t0, 1e-9)
        rate = self.n / el
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            pct = 100.0 * self.n / self.total
            if self.work_total:
                wrate = self.work_done / el
                eta = (self.work_total - self.work_done) / wrate if wrate > 0 else float("nan")
            else:
                eta = (self.total - self.n) / rate if rate > 0 else float("nan")
            return (
                f"{self.desc}: {self.n:,}/{self.total:,}{unit} ({pct:3.0f}%) "
                f"{rate:,.1f}/s, elapsed {format_duration(el)}, ETA {format_duration(eta)}"
            )
        return f"{self.desc}: {self.n:,}{unit} {rate:,.1f}/s, elapsed {format_duration(el)}"

    def _bar(self) -> str:
        width = 24
        done = int(width * self.n / self.total) if self.total else 0
        return "[" + "#" * done + "-" * (width - done) + "] "

    def set_work(self, work: float | None) -> None:
        """The stage's total cost, once known (see ``work``); ``None`` or 0: follow the count."""
        self.work_total = float(work) if work else 0.0

    def update(self, n: int = 1, *, work: float | None = None) -> None:
        self.n += int(n)
        if work is not None:
            self.work_done += float(work)
        if not self.enabled:
            return
        now = self.clock()
        if now - self.t0 < self.min_seconds:
            return
        if self.tty:
            if now - self._last >= 0.1:
                self.stream.write("\r" + (self._bar() if self.total else "") + self.text() + "\x1b[K")
                self.stream.flush()
                self._last, self._shown = now, True
        elif now - self._last >= self.interval:
            self.stream.write(self.text() + "\n")
            self.stream.flush()
            self._last, self._shown = now, True

    def close(self, *, always: bool = False) -> None:
        """Final state: the finished bar / a last line, only if anything was shown
        (``always=True``: even then, e.g. for a summary the user asked for)."""
        if not self.enabled or not (self._shown or always):
            return
        if self.tty:
            self.stream.write("\r" + (self._bar() if self.total else "") + self.text() + "\x1b[K\n")
        else:
            self.stream.write(self.text() + " done\n")
        self.stream.flush()
        self._shown = False
