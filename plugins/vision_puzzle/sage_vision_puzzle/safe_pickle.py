"""Load CIFAR-10's Python pickles without letting a pickle run code.

CIFAR-10's "python version" is a set of Python 2 pickles of dicts holding numpy arrays,
lists and strings. A pickle may name any importable callable, so a tampered file could
run anything; this unpickler resolves only the few globals those files need.

A pickle can also ask for memory it does not hold: a length field declaring 10 TB of
bytes, a memo slot at index 2**32, an array header of 10**13 pixels. Before anything is
built, every opcode is walked (:func:`check_opcodes`): each declared length must fit in
the data and memo indices must be ones a pickler writes. Arrays may only be numeric, and
their declared shape must match the bytes that come with them before numpy sees them.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import struct
from typing import Any

import numpy as np


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """What Python 3 writes for ``bytes`` in protocol-2 pickles (``_codecs.encode(s, 'latin1')``)."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


_NUMERIC_KINDS = frozenset("biufc")
_TEXT_KINDS = frozenset("SU")


class _CheckedArray(np.ndarray):
    """An array being unpickled: its state is checked before numpy allocates anything."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("malformed numpy array state")
        shape, dtype, _fortran, raw = state[-4:]
        if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.kind not in _NUMERIC_KINDS | _TEXT_KINDS:
            raise pickle.UnpicklingError(f"refusing a numpy array of dtype {dtype!r} (numbers and text only)")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise pickle.UnpicklingError(f"malformed numpy array shape {shape!r}")
        count = 1
        for n in shape:
            count *= n
        if not isinstance(raw, bytes) or len(raw) != count * dtype.itemsize:
            size = len(raw) if isinstance(raw, bytes) else type(raw).__name__
            raise pickle.UnpicklingError(
                f"numpy array declares shape {shape} of {dtype} ({count * dtype.itemsize} bytes) but holds {size}"
            )
        super().__setstate__(state)


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> np.ndarray:
    """numpy's array rebuilder, for what ``ndarray.__reduce__`` writes only: an empty plain array."""
    if subtype is not np.ndarray or tuple(shape) != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError("refusing numpy _reconstruct with unusual arguments")
    return np.ndarray.__new__(_CheckedArray, (0,), np.uint8)


def _dtype(spec: Any, align: Any = False, copy: Any = False) -> np.dtype:
    """``numpy.dtype`` for plain numeric and text type codes only (no objects, no records).

    Always a fresh copy: the pickle goes on to call ``__setstate__`` on it, which must never
    reach numpy's shared built-in ``uint8`` descriptor.
    """
    if not isinstance(spec, (str, bytes)):
        raise pickle.UnpicklingError(f"refusing numpy dtype {spec!r}")
    try:
        dtype = np.dtype(spec.decode("latin1") if isinstance(spec, bytes) else spec, align=False, copy=True)
    except TypeError as exc:
        raise pickle.UnpicklingError(f"unknown numpy dtype {spec!r}") from exc
    if dtype.kind not in _NUMERIC_KINDS | _TEXT_KINDS or dtype.hasobject:
        raise pickle.UnpicklingError(f"refusing numpy dtype {dtype!r} (numbers and text only)")
    return dtype


def _scalar(dtype: Any, data: Any = None) -> Any:
    """A numpy scalar from its dtype and raw bytes (numeric dtypes only)."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS or not isinstance(data, bytes):
        raise pickle.UnpicklingError("refusing numpy scalar of a non-numeric dtype")
    if len(data) != dtype.itemsize:
        raise pickle.UnpicklingError(f"numpy scalar of {dtype} needs {dtype.itemsize} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=dtype)[0]


_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_bytes,
}
_PUT_OPCODES = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
#: What unpickling hostile bytes can raise besides ``UnpicklingError``.
_LOAD_ERRORS = (
    EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, OverflowError, MemoryError,
    RecursionError, struct.error,
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only plain numpy arrays, dtypes and latin-1 bytes."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def check_opcodes(data: bytes) -> None:
    """Walk every opcode without building anything; ``UnpicklingError`` on a declared length
    longer than the data left, a memo index no pickler would write, or a malformed opcode."""
    try:
        for count, (opcode, arg, _position) in enumerate(pickletools.genops(io.BytesIO(data)), 1):
            if opcode.name in _PUT_OPCODES and not 0 <= arg < count:
                raise pickle.UnpicklingError(f"memo index {arg} at opcode {count} (at most {count - 1})")
    except pickle.UnpicklingError:
        raise
    except (ValueError, EOFError, OverflowError, struct.error, RecursionError, MemoryError) as exc:
        raise pickle.UnpicklingError(" ".join(str(exc).split()) or type(exc).__name__) from None


def load_restricted(data: bytes) -> Any:
    """Unpickle ``data`` (Python 2 or 3 pickles; Python 2 strings stay bytes).

    Raises ``pickle.UnpicklingError`` for anything malformed, oversized or not allowed;
    arrays come back as plain ``numpy.ndarray``.
    """
    check_opcodes(data)
    try:
        loaded = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError:
        raise
    except _LOAD_ERRORS as exc:
        raise pickle.UnpicklingError(f"{type(exc).__name__}: {' '.join(str(exc).split())}") from None
    return _plain(loaded)


def _plain(value: Any) -> Any:
    """Checked arrays, at the top or as values of a top-level dict (a CIFAR batch), as plain ``ndarray``.

    Not recursive: a hostile pickle may nest a million lists.
    """
    if isinstance(value, _CheckedArray):
        return value.view(np.ndarray)
    if isinstance(value, dict):
        return {key: item.view(np.ndarray) if isinstance(item, _CheckedArray) else item for key, item in value.items()}
    return value
