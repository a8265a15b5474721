"""Progress of a gather run: the shared stage display (:mod:`distillscope.progress`)
with the request counters in its line.

A bar with rate and ETA on a terminal, a ``gather: ...`` line every
``log_every_s`` seconds otherwise, nothing with ``mode="none"``. Unlike a
quiet analysis stage, a gather run always ends with its summary line (ok,
failed, retries), however short it was.
"""

from __future__ import annotations

from typing import TextIO

from .. import progress as stage

PROGRESS_MODES = ("auto", "bar", "log", "none")


class _RequestLine(stage.Progress):
    """The shared display, counting requests and showing ok / failed / retries."""

    def __init__(self, total: int, owner: Progress, **kw) -> None:
        super().__init__(total, "gather", unit="", **kw)
        self.owner = owner

    def text(self) -> str:
        o = self.owner
        el = max(self.clock() - self.t0, 1e-9)
        rate = self.n / el
        eta = (self.total - self.n) / rate if rate > 0 else float("nan")
        pct = 100.0 * self.n / self.total if self.total else 100.0
        return (
            f"gather: {self.n}/{self.total} ({pct:.0f}%) ok={o.ok} failed={o.failed} retries={o.retries} "
            f"{rate:.1f} req/s elapsed {stage.format_duration(el)} ETA {stage.format_duration(eta)}"
        )


class Progress:
    """Requests done (ok or failed) and retried, for :func:`distillscope.gather.run`."""

    def __init__(
        self, total: int, *, mode: str = "auto", stream: TextIO | None = None, log_every_s: float = 10.0
    ) -> None:
        if mode not in PROGRESS_MODES:
            raise ValueError(f"progress must be one of {PROGRESS_MODES}, got {mode!r}")
        self.ok = 0
        self.failed = 0
        self.retries = 0
        self._line = _RequestLine(
            total,
            self,
            enabled=mode != "none",
            stream=stream,
            tty=None if mode == "auto" else mode == "bar",
            interval=log_every_s,
            min_seconds=0.0,
        )
        self.mode = "none" if mode == "none" else ("bar" if self._line.tty else "log")

    @property
    def done(self) -> int:
        return self._line.n

    @property
    def total(self) -> int:
        return self._line.total

    @total.setter
    def total(self, n: int) -> None:
        # the run sets it once it knows how many requests remain (resume)
        self._line.total = int(n)

    def update(self, ok: bool) -> None:
        """One request finished, successfully or not."""
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        self._line.update(1)

    def line(self) -> str:
        """The current status line."""
        return self._line.text()

    def close(self) -> None:
        """The summary line (always, unless ``mode="none"`` or there was nothing to do)."""
        if self.mode != "none" and self.total:
            self._line.close(always=True)


__all__ = ["PROGRESS_MODES", "Progress"]
