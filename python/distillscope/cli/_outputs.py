"""An output folder that a failed run leaves as it found it.

``bench`` and ``demo`` create their ``--out`` folder before the long part of
the run (an unwritable path fails in a second, not after minutes of work).
A run that then fails or is interrupted must not leave an empty or half
filled folder behind, nor half-overwrite the results of an earlier run:
:func:`undone_on_failure` removes what the run created and puts back what it
may have overwritten. A run that ends (exit 0, or exit 1 for a finding it
reports) keeps everything it wrote.

The copies of what a run may overwrite live inside ``--out`` itself, in a
hidden ``.distillscope-undo-*`` folder (same file system: putting them back
is a rename), not in the system temp folder: a run killed outright
(``kill -9``, a power cut) cannot clean up, and its copies -- the earlier
run's results, the only intact ones if the kill came mid-write -- are then
where the user looks, instead of an anonymous temp folder. The next run on
that folder that ends removes them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .._io import folders_undone_on_failure

UNDO_PREFIX = ".distillscope-undo-"


def _remove(path: Path) -> None:
    """A file, a symlink (not its target) or a folder tree."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def undone_on_failure(folder: Path, writes: Sequence[str]) -> Iterator[None]:
    """Run the block; if it raises (KeyboardInterrupt included), undo what it
    did to ``folder``.

    ``writes`` names the entries (files or folders, directly under
    ``folder``) the run may create or overwrite. A ``folder`` that did not
    exist is removed with every folder made for it (those only while empty).
    A ``folder`` that existed keeps its old content exactly: entries the run
    added are removed, and the entries of ``writes`` that were there are
    copied aside first and put back (an entry that is a symlink: the content
    it points to). Entries outside ``writes`` that existed are never touched,
    except the copies a killed run left (``.distillscope-undo-*``), which a
    run that ends removes.
    """
    folder = Path(folder)
    with folders_undone_on_failure(folder, create=False) as made:
        existed = not made
        before: set[str] = set()
        saved: list[tuple[Path, Path]] = []  # (where it lives, its copy)
        backup: Path | None = None
        folder_times: tuple[int, int] | None = None
        if existed and folder.is_dir():
            st = folder.stat()
            folder_times = (st.st_atime_ns, st.st_mtime_ns)
            before = set(os.listdir(folder))
            try:
                for i, name in enumerate(n for n in writes if n in before):
                    real = (folder / name).resolve()
                    if not real.exists():
                        continue  # a dangling symlink: whatever the run writes through it is new
                    if backup is None:
                        backup = Path(tempfile.mkdtemp(dir=folder, prefix=UNDO_PREFIX))
                    copy = backup / str(i)
                    if real.is_dir():
                        shutil.copytree(real, copy, symlinks=True)
                    else:
                        shutil.copy2(real, copy)
                    saved.append((real, copy))
            except BaseException:  # nothing was run yet: only the copies to take back
                if backup is not None:
                    shutil.rmtree(backup, ignore_errors=True)
                    os.utime(folder, ns=folder_times)
                raise
        try:
            yield
        except BaseException:
            if not existed:
                _remove(made[0])  # the run's own folder, whatever it wrote there; the helper removes its parents
            elif folder.is_dir():
                for name in set(os.listdir(folder)) - before:
                    if backup is None or name != backup.name:
                        _remove(folder / name)
                for real, copy in saved:
                    _remove(real)
                    shutil.move(str(copy), str(real))
                if backup is not None:  # before the folder's times are put back
                    shutil.rmtree(backup, ignore_errors=True)
                if folder_times is not None:
                    os.utime(folder, ns=folder_times)
            raise
        else:
            for name in before:  # copies left by a run killed on this folder: this one ended
                if name.startswith(UNDO_PREFIX):
                    _remove(folder / name)
        finally:
            if backup is not None:
                shutil.rmtree(backup, ignore_errors=True)


__all__ = ["UNDO_PREFIX", "undone_on_failure"]
