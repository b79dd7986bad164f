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


def save_atomic(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(path)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


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
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
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
