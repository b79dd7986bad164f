"""Read arrays from an ``.npz`` archive without pickle and without trusting its headers.

``np.load`` allocates whatever shape an ``.npy`` header declares before it reads a byte
of data, so a 1 KB file can ask for 80 GB. :class:`NpzArchive` parses each member's
header first and hands it to the caller to judge (:meth:`NpzArchive.header`); only then
does :meth:`NpzArchive.read` read exactly the declared bytes, and only when they fit both
a caller's cap and what the file can physically hold: a member is stored or deflated,
and deflate cannot expand data more than about 1032:1, so an archive of ``S`` bytes
cannot hold more than ``1032 * S`` bytes of array data.
"""

from __future__ import annotations

import io
import lzma
import struct
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

#: Deflate's best case is 258 bytes from 2 bits (about 1032:1); no stored or deflated member can expand more.
MAX_EXPANSION = 1032
#: numpy's own limit on the length of an ``.npy`` header (its ``max_header_size`` default).
MAX_HEADER_CHARS = 10_000
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,  # encrypted members
    NotImplementedError,  # unsupported compression methods
    zlib.error,
    lzma.LZMAError,
    struct.error,
    OverflowError,
)


class NpzError(ValueError):
    """The archive or one of its members is not what it should be; ``str()`` says what."""


@dataclass(frozen=True)
class ArrayHeader:
    """What an ``.npy`` member declares, before anything is allocated."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool

    @property
    def nbytes(self) -> int:
        """Bytes the data would take, as an exact Python int (no overflow)."""
        count = 1
        for size in self.shape:
            count *= size
        return count * self.dtype.itemsize


class NpzArchive:
    """An open ``.npz`` file: ``with NpzArchive(path) as npz: npz.header("codes") ...``.

    Raises ``FileNotFoundError`` when there is no file, ``NpzError`` for everything else.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise NpzError("a directory")
        try:
            self.file_size = self.path.stat().st_size
            if self.file_size == 0:
                raise NpzError("empty (0 bytes)")
            with open(self.path, "rb") as handle:
                start = handle.read(len(_NPY_MAGIC))
            if start == _NPY_MAGIC:
                raise NpzError("a single .npy array, not an .npz archive of arrays")
            self._zip = zipfile.ZipFile(self.path)
        except (FileNotFoundError, NpzError):
            raise
        except _ZIP_ERRORS as exc:
            raise NpzError(f"not a zip archive ({_describe(exc)})") from None
        self._members = {info.filename: info for info in self._zip.infolist()}

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def __contains__(self, name: str) -> bool:
        return self._member_name(name) is not None

    def _member_name(self, name: str) -> str | None:
        for candidate in (f"{name}.npy", name):  # np.savez writes NAME.npy; np.load accepts both
            if candidate in self._members:
                return candidate
        return None

    def _open(self, name: str):  # -> zipfile.ZipExtFile
        member = self._member_name(name)
        if member is None:
            raise NpzError(f"has no array {name!r}")
        info = self._members[member]
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise NpzError(f"array {name!r} uses zip compression method {info.compress_type}, not stored or deflate")
        return self._zip.open(info)

    def header(self, name: str) -> ArrayHeader:
        """Parse member ``name``'s ``.npy`` header (versions 1.0 and 2.0) without reading its data."""
        try:
            with self._open(name) as stream:
                return _read_header(name, stream)
        except NpzError:
            raise
        except _ZIP_ERRORS as exc:
            raise NpzError(f"array {name!r} is unreadable ({_describe(exc)})") from None

    def read(self, name: str, max_bytes: int) -> np.ndarray:
        """Member ``name`` as an array, refused before allocation when it declares more than
        ``max_bytes`` or more than this file can hold."""
        try:
            with self._open(name) as stream:
                header = _read_header(name, stream)
                if header.dtype.hasobject:
                    raise NpzError(f"array {name!r} holds Python objects (pickle), which are never loaded")
                limit = min(max_bytes, MAX_EXPANSION * self.file_size)
                if header.nbytes > limit:
                    raise NpzError(
                        f"array {name!r} declares shape {header.shape} of {header.dtype} ({_size(header.nbytes)}), "
                        f"more than the {_size(limit)} a file of {_size(self.file_size)} may hold here"
                    )
                data = stream.read(header.nbytes)
                if len(data) != header.nbytes:
                    raise NpzError(f"array {name!r} is truncated: {len(data)} of {header.nbytes} data bytes")
                if stream.read(1):
                    raise NpzError(f"array {name!r} holds more data than its header declares")
        except NpzError:
            raise
        except _ZIP_ERRORS as exc:
            raise NpzError(f"array {name!r} is unreadable ({_describe(exc)})") from None
        flat = np.frombuffer(data, dtype=header.dtype).copy()  # writable, like np.load's arrays
        if header.fortran_order:
            return flat.reshape(header.shape[::-1]).transpose()
        return flat.reshape(header.shape)


def _read_header(name: str, stream: io.RawIOBase | io.BufferedIOBase) -> ArrayHeader:
    """Read the magic and header of one ``.npy`` stream, checking the header's length first."""
    from numpy.lib import format as npy

    magic = stream.read(len(_NPY_MAGIC) + 2)
    if len(magic) < len(_NPY_MAGIC) + 2 or not magic.startswith(_NPY_MAGIC):
        raise NpzError(f"array {name!r} is not an .npy array")
    version = (magic[-2], magic[-1])
    length_format = {(1, 0): "<H", (2, 0): "<I"}.get(version)
    if length_format is None:
        raise NpzError(f"array {name!r} has .npy format version {version[0]}.{version[1]}, expected 1.0 or 2.0")
    length_bytes = stream.read(struct.calcsize(length_format))
    if len(length_bytes) != struct.calcsize(length_format):
        raise NpzError(f"array {name!r} is truncated in its header")
    (length,) = struct.unpack(length_format, length_bytes)
    if length > MAX_HEADER_CHARS + 64:  # the header is padded to 64 bytes
        raise NpzError(f"array {name!r} has a {length}-byte header, longer than numpy's limit {MAX_HEADER_CHARS}")
    text = stream.read(length)
    if len(text) != length:
        raise NpzError(f"array {name!r} is truncated in its header")
    parse = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    try:
        shape, fortran_order, dtype = parse(io.BytesIO(length_bytes + text), max_header_size=MAX_HEADER_CHARS)
    except (ValueError, TypeError, KeyError, SyntaxError, tokenize.TokenError, RecursionError, MemoryError,
            OverflowError) as exc:  # numpy parses the header as a Python literal
        raise NpzError(f"array {name!r} has an invalid .npy header ({_describe(exc)})") from None
    if any(size < 0 for size in shape):
        raise NpzError(f"array {name!r} declares a negative shape {shape}")
    return ArrayHeader(name, tuple(shape), dtype, fortran_order)


def _describe(exc: BaseException) -> str:
    """An exception as one short line (library messages may span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes} bytes"
