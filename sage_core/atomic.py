"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Write to a temporary file in the same directory, fsync it, rename it over the target
and fsync the directory, so a crash or SIGKILL at any instant leaves no torn file.
The result has the permissions a plain ``open(path, "w")`` would give it: a new file
gets ``0o666`` less the process umask, a replaced file keeps its mode.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. platforms where directories cannot be opened
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temp(path: Path) -> Path:
    """A new empty file next to ``path``, created as ``open(path, "w")`` would create ``path``.

    ``tempfile.mkstemp`` always makes mode 0o600; creating with 0o666 lets the kernel apply
    the umask, and an existing target's mode is copied so replacing a file keeps it.
    """
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
    except OSError:
        mode = None
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return tmp


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` as the same kind of error about ``path``, not about a temporary file the user never named."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror, str(path))  # OSError(errno, ...) picks the subclass


def save_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically.

    On failure (a full disk, a read-only folder) the temporary file is removed, ``path``
    is as it was, and an ``OSError`` names ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(path)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _naming(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def nearest_existing(path: str | Path) -> Path:
    """``path`` itself if it exists, else its closest ancestor that does."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_folder(folder: str | Path, target: str | Path | None = None) -> None:
    """Refuse, naming ``target`` (default: ``folder``), a folder that cannot be made or written.

    Checked before any work is done, so a command does not compute for minutes and then
    fail to save: the nearest existing ancestor must be a folder where a file can be
    created (permission bits, a read-only mount, a full inode table all show here).
    """
    from sage_core.errors import InputError

    named = Path(target if target is not None else folder)
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise InputError(named, f"cannot be created: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".sage-write-check-", dir=existing)
    except OSError as exc:
        raise InputError(named, f"cannot be written ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    return save_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def staged_directory(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Build a whole folder in a hidden sibling, then move it to ``path`` in one rename.

    Yields the staging folder. A failure (or a kill) before the end leaves ``path`` as it
    was: no half-written folder. An existing non-empty ``path`` is replaced only when
    ``force`` is true, and then only after the new folder is complete.
    """
    from sage_core.errors import InputError

    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise InputError(path, "exists and is not a folder")
        if any(path.iterdir()) and not force:
            raise InputError(path, "exists and is not empty; choose another folder or pass --force to replace it")
    check_writable_folder(path.parent, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise InputError(path, f"cannot be written ({exc.strerror or exc})") from None
    try:
        yield staging
        for folder in sorted({p.parent for p in staging.rglob("*")} | {staging}):
            _fsync_dir(folder)
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, retired / path.name)
            try:
                os.replace(staging, path)
            except BaseException:
                os.replace(retired / path.name, path)
                raise
            finally:
                _fsync_dir(path.parent)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
