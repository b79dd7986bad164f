"""Load CIFAR-10's Python pickles without letting a pickle run code.

CIFAR-10's "python version" is a set of Python 2 pickles of dicts holding numpy arrays,
lists and strings. A pickle may name any importable callable, so a tampered file could
run anything; this unpickler resolves only the few globals those files need.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """What Python 3 writes for ``bytes`` in protocol-2 pickles (``_codecs.encode(s, 'latin1')``)."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array rebuilder, wherever it lives
_SCALAR = np.float64(0).__reduce__()[0]

_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only plain numpy arrays, dtypes and latin-1 bytes."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}") from None


def load_restricted(data: bytes) -> Any:
    """Unpickle ``data`` (Python 2 or 3 pickles; Python 2 strings stay bytes)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
