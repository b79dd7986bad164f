"""Text <-> fixed windows of byte symbols, with an explicit end symbol.

Text is handled as UTF-8 bytes, so any text (and any byte string) maps to windows and
back. A window shorter than the capacity is filled with ``END`` (symbol 256), which is
not a byte value: spaces and punctuation are ordinary symbols, and "hello world" stays
"hello world".
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from sage_core import InputError

#: The end/padding symbol; byte values are 0-255.
END = 256
#: Byte values plus ``END``.
VOCAB = 257


def windows_from_bytes(data: bytes, window: int) -> Tensor:
    """``data`` -> ``(W, window)`` int64 symbols; the last window is padded with ``END``.

    Empty data gives one window of ``END`` only (it decodes to empty text).
    """
    count = max(1, -(-len(data) // window))
    symbols = torch.full((count * window,), END, dtype=torch.int64)
    if data:
        symbols[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    return symbols.reshape(count, window)


def text_lengths(x: Tensor) -> Tensor:
    """``(N, L)`` symbols -> ``(N,)`` bytes of text before the first ``END`` (L if none)."""
    is_end = x >= END
    positions = torch.arange(x.shape[1], device=x.device).expand_as(x)
    return torch.where(is_end, positions, x.shape[1]).min(dim=1).values


def bytes_from_windows(x: Tensor) -> bytes:
    """``(W, L)`` symbols -> the bytes of each window up to its first ``END``, concatenated."""
    lengths = text_lengths(x).tolist()
    rows = x.detach().cpu().to(torch.int64).tolist()
    return b"".join(bytes(row[:length]) for row, length in zip(rows, lengths))


def read_text_bytes(path: Path) -> bytes:
    """A text file's bytes; raises ``InputError`` when it is missing or not UTF-8 text."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read the file ({exc.strerror or exc})") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    return data
