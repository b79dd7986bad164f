"""What a WAV file's RIFF header promises, to catch a file cut short.

libsndfile reads a WAV whose data chunk ends early without complaint and returns fewer
frames, so a recording cut in half would silently encode as half the windows. This
walks the chunk headers (a few bytes each, never the audio) and compares the data
chunk's declared size with the bytes the file really holds. RIFF (little-endian), RIFX
(big-endian) and RF64 (sizes in the ``ds64`` chunk) are understood; other formats and
streaming placeholders (a data size of 0 or 0xFFFFFFFF, "length unknown") are not judged.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

#: Chunks to walk before giving up (real files have a handful; this bounds a hostile one).
MAX_CHUNKS = 1024
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True)
class Truncation:
    """A data chunk shorter than its header says: sizes in bytes, rate from the ``fmt `` chunk."""

    declared_bytes: int
    present_bytes: int
    bytes_per_second: int  # 0 when the fmt chunk is missing or says 0

    @property
    def missing_bytes(self) -> int:
        return self.declared_bytes - self.present_bytes

    def describe(self) -> str:
        """One line: how much the header promises, how much is there, how much is missing."""
        if self.bytes_per_second > 0:
            seconds = [n / self.bytes_per_second for n in (self.declared_bytes, self.present_bytes, self.missing_bytes)]
            return (
                f"WAV data cut short: the header declares {seconds[0]:.3f} s of audio, the file holds "
                f"{seconds[1]:.3f} s ({seconds[2]:.3f} s, {self.missing_bytes} bytes missing)"
            )
        return (
            f"WAV data cut short: the header declares {self.declared_bytes} data bytes, the file holds "
            f"{self.present_bytes} ({self.missing_bytes} bytes missing)"
        )


def find_truncation(path: str | Path) -> Truncation | None:
    """The data chunk's shortfall when ``path`` is a WAV cut short, else None (also for non-WAV files)."""
    try:
        with open(path, "rb") as handle:
            file_size = os.fstat(handle.fileno()).st_size
            return _walk(handle, file_size)
    except (OSError, struct.error):
        return None


def _walk(handle, file_size: int) -> Truncation | None:  # handle: a binary file
    head = handle.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
        return None
    endian = ">" if head[:4] == b"RIFX" else "<"
    position, byte_rate, ds64_data_size = 12, 0, None
    for _ in range(MAX_CHUNKS):
        handle.seek(position)
        chunk = handle.read(8)
        if len(chunk) < 8:
            return None
        chunk_id, (size,) = chunk[:4], struct.unpack(endian + "I", chunk[4:])
        body = position + 8
        if chunk_id == b"fmt " and size >= 16:
            fmt = handle.read(16)
            if len(fmt) == 16:
                byte_rate = struct.unpack(endian + "HHIIHH", fmt)[3]
        elif chunk_id == b"ds64" and size >= 16:
            sizes = handle.read(16)
            if len(sizes) == 16:
                ds64_data_size = struct.unpack("<QQ", sizes)[1]
        elif chunk_id == b"data":
            if head[:4] == b"RF64" and size == 0xFFFFFFFF and ds64_data_size is not None:
                size = ds64_data_size
            elif size in _UNKNOWN_SIZES:
                return None
            present = file_size - body
            return Truncation(size, present, byte_rate) if size > present else None
        position = body + size + (size & 1)  # chunks are padded to an even length
    return None
