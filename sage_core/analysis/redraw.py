"""Draw a figure only when what it shows has changed.

``sage evaluate`` and ``sage compare`` would otherwise redraw the same PNGs every time they
run, and rendering them was most of a warm evaluation's time. A figure function wrapped in
:func:`only_when_changed` hashes its arguments (plain numbers, strings, arrays) together
with the source of the module that draws it and matplotlib's version, stores that digest in
the PNG's text chunk and, next time, returns the existing file untouched when the digest
matches. Any change to the data, the figure code or matplotlib draws it anew, and so does a
missing, damaged or foreign file; inputs it cannot hash are drawn every time.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np

#: The PNG text key holding the digest of what a figure shows.
DIGEST_KEY = "sage:inputs"
#: The digest of the figure being drawn, for ``figures._save`` to write into the PNG.
current_digest: ContextVar[str | None] = ContextVar("current_digest", default=None)

Draw = TypeVar("Draw", bound=Callable[..., Path])


def _feed(digest: Any, value: Any) -> None:
    """Hash ``value`` by content and structure (type tags keep ``[1]`` and ``"1"`` apart)."""
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest.update(f"nd{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(f"dc{type(value).__qualname__}".encode())
        _feed(digest, dataclasses.asdict(value))
    elif isinstance(value, Mapping):
        digest.update(f"map{len(value)}".encode())
        for key in sorted(value, key=repr):
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str, np.generic, Path)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif hasattr(value, "__array__"):  # e.g. a tensor a plugin's to_image returned
        _feed(digest, np.asarray(value))
    else:
        raise TypeError(f"no digest for a {type(value).__name__}")


@functools.cache
def _source_digest(filename: str | None) -> bytes:
    """SHA-256 of a module's source file, read once per process."""
    return hashlib.sha256(Path(filename).read_bytes() if filename else b"").digest()


def inputs_digest(draw: Callable[..., Any], arguments: Mapping[str, Any]) -> str:
    """SHA-256 over ``draw``'s module source, matplotlib's version and ``arguments``."""
    digest = hashlib.sha256()
    module = inspect.getmodule(draw)
    digest.update(_source_digest(module.__file__ if module is not None else None))
    digest.update(f"{matplotlib.__version__}|{draw.__qualname__}".encode())
    _feed(digest, dict(arguments))
    return digest.hexdigest()


def stored_digest(path: Path) -> str | None:
    """The digest written into ``path`` when it was drawn; None when absent or unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            found = getattr(image, "text", {}).get(DIGEST_KEY)  # reads the whole file: truncation raises
        with Image.open(path) as image:
            image.verify()  # every chunk's checksum
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return None
    return found if isinstance(found, str) else None


def only_when_changed(draw: Draw) -> Draw:
    """Wrap a figure function ``draw(..., path, ...) -> path``: skip it when ``path`` already
    shows the same arguments, drawn by the same code."""
    signature = inspect.signature(draw)

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Path:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        path = Path(bound.arguments["path"])
        try:
            digest: str | None = inputs_digest(draw, {k: v for k, v in bound.arguments.items() if k != "path"})
        except TypeError:  # inputs it cannot hash: always drawn
            digest = None
        if digest is not None and path.is_file() and stored_digest(path) == digest:
            return path
        token = current_digest.set(digest)
        try:
            return draw(*args, **kwargs)
        finally:
            current_digest.reset(token)

    return wrapper  # type: ignore[return-value]
