"""Append-only JSONL response store.

One line per (model, prompt, sample) result. The file is the only state a
gather run keeps, so a run killed at any instant resumes from it.

Crash-safety policy
-------------------
* Each record is serialised to a single ``bytes`` line and written with one
  ``os.write`` on an ``O_APPEND`` descriptor (looped only if the kernel
  reports a short write). No user-space buffer exists, so when ``append``
  returns the line is in the kernel's page cache: a SIGKILL, an uncaught
  exception or ``os._exit`` after that point loses nothing.
* A process can die *inside* the write only on power loss, a full disk or
  an OS crash; then the last line may be cut short. :meth:`ResponseStore.open`
  (and :func:`repair_store`) detect a last line without its ``\\n`` -- or a
  final line that is not valid JSON -- and truncate it. The lost record was
  never acknowledged, so resume simply re-requests it: nothing is duplicated.
* ``fsync`` protects against power loss / OS crashes only. The default
  policy ``"interval"`` fsyncs at most once per ``fsync_interval_s`` (1 s)
  and on close: an fsync per record would cap throughput at the disk's
  flush rate (~100-1000/s on ordinary disks) to save at most one second of
  responses that resume re-requests anyway. ``"always"`` and ``"never"`` are
  available.
* An exclusive ``flock`` guards the file while a writer has it open, so two
  runs cannot interleave into one store; the OS drops the lock when a
  process dies, so a killed run never leaves a stale lock behind.

Reading
-------
:func:`read_records` yields the raw dicts; :func:`latest_records` keeps the
last record per key (a later record -- e.g. a retried failure -- supersedes
an earlier one); :func:`distillscope.store.table.load_table` turns a store
into numpy columns.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

log = logging.getLogger("distillscope.store")

Key = tuple[str, str, int]

# The largest sample index a record may carry: tables hold samples as int32.
MAX_SAMPLE = 2**31 - 1

# Record fields, in the order they are written. Only the first five are
# required; the rest default to None.
RECORD_FIELDS = (
    "model",
    "prompt_id",
    "sample",
    "response",
    "error",
    "error_kind",
    "finish_reason",
    "usage",
    "params_hash",
    "api_model",
    "attempts",
    "started_at",
    "finished_at",
    "latency_s",
    "source",
    "prompt",
    "meta",
)

_FSYNC_POLICIES = ("always", "interval", "never")


def record_key(rec: Mapping[str, Any]) -> Key:
    s = rec["sample"]
    try:
        if isinstance(s, (bool, float)):
            raise ValueError
        sample = int(s)
    except (TypeError, ValueError):
        raise ValueError(
            f"record (model={str(rec['model'])[:40]!r}, prompt_id={str(rec['prompt_id'])[:40]!r}): "
            f"sample must be an integer >= 0, got {s!r}; fix the record"
        ) from None
    return (str(rec["model"]), str(rec["prompt_id"]), sample)


def make_record(
    model: str,
    prompt_id: str,
    sample: int,
    response: str | None,
    error: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a record dict with every field present (missing ones None)."""
    if response is None and error is None:
        raise ValueError("a record needs a response or an error (both are None)")
    rec: dict[str, Any] = {f: None for f in RECORD_FIELDS}
    rec.update(model=str(model), prompt_id=str(prompt_id), sample=int(sample), response=response, error=error)
    unknown = set(extra) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"unknown record fields {sorted(unknown)}; put free-form data under meta={{...}}")
    rec.update(extra)
    rec["v"] = SCHEMA_VERSION
    return rec


def _encode(rec: Mapping[str, Any]) -> bytes:
    # ensure_ascii=False keeps non-Latin text readable; json escapes "\n"
    # inside strings so one record is always exactly one line.
    line = json.dumps(rec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return line.encode("utf-8") + b"\n"


def is_record_line(raw: bytes) -> bool:
    """Whether one line (without its newline) is a complete store record."""
    try:
        rec = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return isinstance(rec, dict) and {"model", "prompt_id", "sample"} <= rec.keys()


def check_store_file(path: str | os.PathLike[str]) -> None:
    """Refuse a path that exists but is not a response store, before anything
    writes to it (a store is only ever appended to, so writing into another
    file would destroy it).

    A store is an empty file, a file whose first line is a record, or a file
    that is a single torn first record (a crash during the very first write:
    starts with ``{``, no newline yet).
    """
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder; give a store file path such as {p / 'responses.jsonl'}")
    if not p.exists():
        return
    if not p.is_file():
        raise ValueError(f"{p} is not a regular file; give a store file path such as responses.jsonl")
    with open(p, "rb") as f:
        first = b""
        while b"\n" not in first:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            first += chunk
    if not first.strip():
        return
    line, nl, _ = first.partition(b"\n")
    if not nl:  # a single unfinished line: a torn first record, or not a store at all
        if line.lstrip().startswith(b"{"):
            return
    elif is_record_line(line.strip()) or not line.strip():
        return
    raise ValueError(
        f"{p} exists and is not a response store (its first line is not a record with model, prompt_id, "
        "sample); it is left untouched: choose a new store path (e.g. responses.jsonl)"
    )


def repair_store(path: str | os.PathLike[str]) -> int:
    """Repair the end of a store after a crash. Returns the number of bytes removed.

    * A last line that is a complete record but lacks its newline (e.g. a
      hand-edited file, or a crash between the record and its newline) is
      kept: the newline is added, nothing is removed.
    * A last line that is not a complete record (a torn write: cut short,
      with or without a newline) is truncated, and the byte range removed is
      logged as a warning.

    Earlier lines are never touched: corruption there is not a crash artefact
    and :func:`read_records` reports it with its line number.
    """
    p = Path(path)
    if not p.exists():
        return 0
    check_store_file(p)
    with open(p, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        f.seek(size - 1)
        complete = f.read(1) == b"\n"
        search_end = size - 1 if complete else size
        start = _last_newline_before(f, search_end) + 1
        f.seek(start)
        last = f.read(search_end - start)
        if not last.strip():
            return 0
        if is_record_line(last):
            if complete:
                return 0
            f.seek(0, os.SEEK_END)
            f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())
            log.warning("store %s: the last record lacked its newline; added it (record kept)", p)
            return 0
        f.truncate(start)
        f.flush()
        os.fsync(f.fileno())
        log.warning(
            "store %s: removed a half-written last line, bytes %d-%d (%d bytes); its request is asked again",
            p,
            start,
            size,
            size - start,
        )
        return size - start


def _last_newline_before(f: Any, pos: int) -> int:
    """Offset of the last b'\\n' strictly before ``pos``, or -1."""
    block = 1 << 16
    while pos > 0:
        lo = max(0, pos - block)
        f.seek(lo)
        chunk = f.read(pos - lo)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return lo + i
        pos = lo
    return -1


class StoreLockedError(ValueError):
    """Another process is writing this store (a usage error: two runs were
    pointed at one store; the CLI reports it and exits 2)."""


class ResponseStore:
    """Append-only writer (and reader) of one JSONL response file.

    >>> with ResponseStore("responses.jsonl") as st:      # doctest: +SKIP
    ...     st.append(make_record("m", "p1", 0, "hello"))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: str = "interval",
        fsync_interval_s: float = 1.0,
    ) -> None:
        if fsync not in _FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {_FSYNC_POLICIES}, got {fsync!r}")
        if fsync_interval_s < 0:
            raise ValueError(f"fsync_interval_s must be >= 0, got {fsync_interval_s}")
        self.path = Path(path)
        self.fsync = fsync
        self.fsync_interval_s = float(fsync_interval_s)
        self._fd: int | None = None
        self._last_sync = 0.0
        self._dirty = False
        self.repaired_bytes = 0
        self.appended = 0

    def __repr__(self) -> str:
        state = "open" if self._fd is not None else "closed"
        return f"ResponseStore({str(self.path)!r}, fsync={self.fsync!r}, {state})"

    # -- writing -----------------------------------------------------------
    def open(self) -> ResponseStore:
        if self._fd is not None:
            return self
        check_store_file(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _lock(fd, self.path)
        except BaseException:
            os.close(fd)
            raise
        # Repair only once we hold the lock: a live writer's last line may be
        # legitimately in flight.
        self.repaired_bytes = repair_store(self.path)
        self._fd = fd
        self._last_sync = time.monotonic()
        return self

    def append(self, rec: Mapping[str, Any]) -> None:
        """Write one record durably enough to survive a process kill."""
        if self._fd is None:
            raise ValueError("store is not open; use `with ResponseStore(path) as st:` or call .open()")
        for f in ("model", "prompt_id", "sample"):
            if f not in rec:
                raise ValueError(f"record lacks required field {f!r}")
        data = _encode(rec)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.appended += 1
        self._dirty = True
        if self.fsync == "always":
            self.sync()
        elif self.fsync == "interval" and time.monotonic() - self._last_sync >= self.fsync_interval_s:
            self.sync()

    def append_many(self, recs: Iterable[Mapping[str, Any]]) -> int:
        n = 0
        for r in recs:
            self.append(r)
            n += 1
        return n

    def sync(self) -> None:
        if self._fd is not None and self._dirty and self.fsync != "never":
            os.fsync(self._fd)
        self._dirty = False
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            self.sync()
        finally:
            os.close(self._fd)  # also releases the flock
            self._fd = None

    def __enter__(self) -> ResponseStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------
    def records(self) -> Iterator[dict[str, Any]]:
        return read_records(self.path)

    def latest(self) -> dict[Key, dict[str, Any]]:
        return latest_records(self.path)


def _lock(fd: int, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreLockedError(
            f"{path} is being written by another process; wait for it to finish or use another store path"
        ) from None


def read_records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield every record of a store, oldest first.

    A half-written last line (crash artefact) is skipped silently; an invalid
    line anywhere else raises ValueError with its line number.
    """
    p = Path(path)
    if not p.exists():
        return
    check_store_file(p)
    with open(p, "rb") as f:
        lines = f.read().split(b"\n")
    # The text after the final "\n" is empty, a record that lacks its
    # newline (kept), or a torn line (skipped; repair_store removes it).
    tail = lines.pop()
    if tail.strip() and is_record_line(tail):
        lines.append(tail)
        tail = b""
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            if i == len(lines) and not tail:
                # last complete-looking line is torn: same as a missing newline
                continue
            msg = exc if isinstance(exc, ValueError) else "nested too deeply"
            raise ValueError(f"{p}:{i}: corrupt store line ({msg}); fix or delete that line") from None
        if not isinstance(rec, dict) or not {"model", "prompt_id", "sample"} <= rec.keys():
            raise ValueError(f"{p}:{i}: not a response record (needs model, prompt_id, sample)")
        yield rec


def latest_records(path: str | os.PathLike[str]) -> dict[Key, dict[str, Any]]:
    """The last record written for each (model, prompt_id, sample)."""
    out: dict[Key, dict[str, Any]] = {}
    for rec in read_records(path):
        out[record_key(rec)] = rec
    return out


__all__ = [
    "Key",
    "MAX_SAMPLE",
    "RECORD_FIELDS",
    "ResponseStore",
    "SCHEMA_VERSION",
    "StoreLockedError",
    "check_store_file",
    "is_record_line",
    "latest_records",
    "make_record",
    "read_records",
    "record_key",
    "repair_store",
]
