"""A folder of files replaced as a whole, so that a kill -9 at any point leaves the old or the new one.

The files are written (or, for a file already on disk, moved) and fsynced in a sibling staging folder
``.<name>.tmp-*``, then swapped in by two renames: the old folder to ``.<name>.old``, the staging folder to ``<name>``. What each kill leaves:

* while staging: the old folder untouched, and a staging folder that nothing reads;
* between the renames: no ``<name>``, the old folder complete at ``.<name>.old``; :func:`restore`
  (or the next :func:`replace`) renames it back;
* after the second rename: the new folder; the old copy is removed then or by the next replace.

Saves into one parent folder hold an exclusive lock on it, so under the lock every staging folder
is a dead save's and is removed, and two processes never interleave their renames.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def replace(folder: Path, files: dict[str, bytes | Path], complete: Callable[[Path], bool],
            check: Callable[[Path], None]) -> None:
    """Make ``folder`` hold exactly ``files``: each name's bytes, or the file at a Path, moved in by a
    rename (on the same file system as ``folder``, so a file of any size is never held in memory).
    ``complete(path)`` says whether a folder is a finished one (which lets a left-over old copy go);
    ``check(folder)``, called under the lock once a killed replace is recovered, raises to refuse the
    target. Raises OSError when the disk refuses."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent):
        _recover(folder, complete)
        check(folder)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        try:
            staging.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary folder
            for name, data in files.items():
                _put(staging / name, data)
            _fsync(staging)  # the files' names too, before a rename makes them the folder
            if folder.exists():
                os.rename(folder, backup_path(folder))
            os.rename(staging, folder)
            _fsync(folder.parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        shutil.rmtree(backup_path(folder), ignore_errors=True)


def _put(target: Path, data: bytes | Path) -> None:
    """``data`` written to ``target``, or the file at ``data`` fsynced and renamed to it."""
    if isinstance(data, Path):
        with open(data, "rb") as handle:
            os.fsync(handle.fileno())
        os.rename(data, target)
        return
    with open(target, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def restore(folder: Path, complete: Callable[[Path], bool]) -> Path:
    """Where ``folder``'s latest complete version is: put back from ``.<name>.old`` if a replace was
    killed between its renames, or read there when the parent may not be written."""
    if folder.exists() or not backup_path(folder).is_dir():
        return folder
    try:
        with _locked(folder.parent):
            _recover(folder, complete)
        return folder
    except OSError:
        return backup_path(folder)


def writable_parent(folder: Path) -> None:
    """Raise OSError unless a folder can be made where ``folder`` would go (checked by making one in
    its nearest existing ancestor), so a long job learns it before it starts, not after."""
    base = folder.parent
    while not base.exists():
        base = base.parent
    os.rmdir(tempfile.mkdtemp(prefix=".explorer-probe-", dir=base))


def backup_path(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.old"


def _recover(folder: Path, complete: Callable[[Path], bool]) -> None:
    backup = backup_path(folder)
    if backup.is_dir() and not backup.is_symlink():
        if not folder.exists():
            os.rename(backup, folder)
        elif complete(folder):
            shutil.rmtree(backup)
    for stale in folder.parent.glob(f".{glob.escape(folder.name)}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def _locked(directory: Path):
    """An exclusive lock on ``directory``; the kernel drops it when its process dies, so a killed save
    never leaves it held."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _fsync(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
