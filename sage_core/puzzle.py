"""The puzzle: a 30x30 grid of codes 0-9, the one format every modality shares.

A :class:`Puzzle` holds one grid ``(30, 30)`` or a batch ``(N, 30, 30)`` of ``uint8``
codes plus metadata saying where it came from and what its axes mean. It is saved as
``.npz`` with two arrays, ``codes`` (uint8) and ``meta`` (a JSON string), and loaded
with ``allow_pickle=False``: lossless, portable and safe to open from anyone.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sage_core.errors import InputError
from sage_core.grid import GRID_SIZE, NUM_CODES

FORMAT_VERSION = 1
#: Most puzzles one file may hold: 2**21 (24 days of 1 s audio windows, 1.9 GB of codes), so a
#: header declaring more is refused before anything is allocated.
MAX_PUZZLES = 2**21
#: Most characters of JSON metadata (sources and times of MAX_PUZZLES puzzles fit; 512 MB as UTF-32).
MAX_META_CHARS = 2**27

#: Fixed palette for PNG rendering: a sequential ramp (dark = 0, bright = 9), since the
#: built-in compressors order their codes by intensity. Colours are RGB.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (13, 8, 135),
    (65, 4, 157),
    (106, 0, 168),
    (143, 13, 164),
    (177, 42, 144),
    (204, 71, 120),
    (225, 100, 98),
    (242, 132, 75),
    (252, 166, 54),
    (240, 249, 33),
)


@dataclass(frozen=True)
class PuzzleMeta:
    """Where puzzles came from and how to read them.

    ``rows``/``cols`` say what the axes mean (audio: row 0 = lowest mel band,
    columns = time). ``sources`` optionally names the observation behind each puzzle;
    ``times`` optionally gives each puzzle's ``(start, end)`` in seconds on ``clock``:
    ``"source"`` (from the start of its source file) or ``"unix"`` (seconds since the Unix
    epoch, as a live stream stamps its windows, so puzzles of two sensors pair by time).
    """

    modality: str
    compressor_id: str
    compressor_version: str
    rows: str = ""
    cols: str = ""
    sources: tuple[str, ...] = ()
    times: tuple[tuple[float, float], ...] = ()
    clock: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["sources"] = list(self.sources)
        data["times"] = [list(pair) for pair in self.times]
        data["format_version"] = FORMAT_VERSION
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PuzzleMeta:
        """Parse and check metadata written by :meth:`to_json`; ``ValueError`` says what is wrong."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {_json_kind(data)}")
        data.pop("format_version", None)
        unknown = sorted(set(data) - _META_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}")
        missing = [name for name in ("modality", "compressor_id", "compressor_version") if name not in data]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(map(repr, missing))}")
        for name in ("modality", "compressor_id", "compressor_version", "rows", "cols", "clock"):
            if name in data and not isinstance(data[name], str):
                raise ValueError(f"{name!r} must be a string, got {_json_kind(data[name])}")
        sources = data.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise ValueError("'sources' must be a list of strings")
        data["sources"] = tuple(sources)
        data["times"] = _parse_times(data.get("times", []))
        if not isinstance(data.get("extra", {}), dict):
            raise ValueError(f"'extra' must be an object, got {_json_kind(data['extra'])}")
        return cls(**data)

    def select(self, indices: list[int]) -> PuzzleMeta:
        """The metadata of the puzzles at ``indices`` (per-puzzle fields sliced, the rest kept)."""
        sources = tuple(self.sources[i] for i in indices) if self.sources else ()
        times = tuple(self.times[i] for i in indices) if self.times else ()
        return replace(self, sources=sources, times=times)


_META_FIELDS = frozenset(PuzzleMeta.__dataclass_fields__)


def _json_kind(value: Any) -> str:
    """A JSON value's type in JSON's words, for messages."""
    for kind, name in ((bool, "a boolean"), (dict, "an object"), (list, "a list"), (str, "a string"),
                       ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return "null"


def _parse_times(times: Any) -> tuple[tuple[float, float], ...]:
    """``[[start, end], ...]`` of finite numbers with start <= end -> tuple of float pairs."""
    if not isinstance(times, list):
        raise ValueError(f"'times' must be a list of [start, end] pairs, got {_json_kind(times)}")
    pairs = []
    for index, pair in enumerate(times):
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in pair)
        ):
            raise ValueError(f"'times'[{index}] must be a [start, end] pair of numbers")
        start, end = float(pair[0]), float(pair[1])
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise ValueError(f"'times'[{index}] must be finite with start <= end, got [{pair[0]}, {pair[1]}]")
        pairs.append((start, end))
    return tuple(pairs)


def validate_codes(codes: Any, where: str = "puzzle") -> np.ndarray:
    """Return ``codes`` as a uint8 array of shape (30, 30) or (N, 30, 30), or raise.

    Accepts any integer or float array whose values are whole numbers in 0-9.
    """
    array = np.asarray(codes)
    if array.ndim not in (2, 3) or array.shape[-2:] != (GRID_SIZE, GRID_SIZE):
        raise InputError(where, f"expected shape (30, 30) or (N, 30, 30), got {tuple(array.shape)}")
    if array.dtype.kind == "f":
        if np.isnan(array).any():
            raise InputError(where, "contains NaN")
        if not np.all(array == np.round(array)):
            raise InputError(where, "codes must be whole numbers 0-9, got fractional values")
    elif array.dtype.kind not in "iub":
        raise InputError(where, f"codes must be integers 0-9, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= NUM_CODES):
        raise InputError(where, f"codes must be in 0-9, got range {array.min()}..{array.max()}")
    return array.astype(np.uint8, copy=False)


class Puzzle:
    """One puzzle or a batch of puzzles with their metadata."""

    def __init__(self, codes: Any, meta: PuzzleMeta) -> None:
        self.codes = validate_codes(codes)
        self.meta = meta
        if meta.sources and len(meta.sources) != len(self):
            raise InputError("puzzle", f"{len(meta.sources)} sources for {len(self)} puzzles")
        if meta.times and len(meta.times) != len(self):
            raise InputError("puzzle", f"{len(meta.times)} times for {len(self)} puzzles")

    @property
    def batched(self) -> bool:
        return self.codes.ndim == 3

    def __len__(self) -> int:
        return self.codes.shape[0] if self.batched else 1

    def __getitem__(self, index: int) -> Puzzle:
        batch = self.codes if self.batched else self.codes[None]
        index = range(len(batch))[index]  # negative indices; IndexError when out of range
        return Puzzle(batch[index], self.meta.select([index]))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Puzzle)
            and self.meta == other.meta
            and np.array_equal(self.codes, other.codes)
        )

    def __repr__(self) -> str:
        return f"Puzzle(n={len(self)}, modality={self.meta.modality!r}, compressor={self.meta.compressor_id!r})"

    def as_batch(self) -> np.ndarray:
        """Codes as ``(N, 30, 30)`` uint8."""
        return self.codes if self.batched else self.codes[None]

    def save(self, path: str | Path) -> Path:
        """Write ``.npz`` atomically; the file round-trips exactly through :meth:`load`."""
        from sage_core.atomic import write_bytes_atomic

        buffer = io.BytesIO()
        np.savez_compressed(buffer, codes=self.codes, meta=np.array(self.meta.to_json()))
        return write_bytes_atomic(Path(path), buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Puzzle:
        """Read a file written by :meth:`save`, without pickle, validating everything.

        Array headers are checked before anything is allocated: ``codes`` must declare
        1 to :data:`MAX_PUZZLES` grids of 30x30 numbers, ``meta`` a JSON string of at most
        :data:`MAX_META_CHARS` characters, each no more than the file can physically hold.
        """
        from sage_core.npz import NpzArchive, NpzError

        path = Path(path)
        try:
            with NpzArchive(path) as npz:
                if "codes" not in npz or "meta" not in npz:
                    raise InputError(path, "not a puzzle file: needs arrays 'codes' and 'meta'")
                _check_codes_header(npz.header("codes"), path)
                meta_header = npz.header("meta")
                if meta_header.shape != () or meta_header.dtype.kind != "U":
                    raise InputError(path, f"not a puzzle file: 'meta' must be a JSON string, got "
                                           f"{meta_header.dtype} shape {meta_header.shape}")
                codes = npz.read("codes", MAX_PUZZLES * GRID_SIZE * GRID_SIZE)
                meta_text = str(npz.read("meta", MAX_META_CHARS * 4)[()])
        except FileNotFoundError:
            raise InputError(path, "no such file") from None
        except NpzError as exc:
            raise InputError(path, f"not a readable puzzle .npz file: {exc}") from None
        try:
            meta = PuzzleMeta.from_json(meta_text)
        except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            raise InputError(path, f"invalid puzzle metadata: {' '.join(str(exc).split())}") from None
        try:
            return cls(validate_codes(codes, where=str(path)), meta)
        except InputError as exc:
            raise InputError(path, exc.problem) from None

    def to_text(self) -> str:
        """Digits, one grid row per line; batches are separated by a blank line."""
        return "\n\n".join(
            "\n".join("".join(str(int(v)) for v in row) for row in grid) for grid in self.as_batch()
        )

    def to_rgb(self, cell: int = 8) -> np.ndarray:
        """An RGB image ``(N, 30*cell, 30*cell, 3)`` uint8 using the fixed palette."""
        palette = np.array(PALETTE, dtype=np.uint8)
        image = palette[self.as_batch()]
        return image.repeat(cell, axis=1).repeat(cell, axis=2)

    def save_png(self, path: str | Path, cell: int = 8) -> list[Path]:
        """Render each puzzle to a PNG; a batch writes ``stem-0000.png``, ``stem-0001.png``..."""
        from PIL import Image

        from sage_core.atomic import write_bytes_atomic

        images = self.to_rgb(cell)
        targets = png_paths(path, len(images))
        for image, target in zip(images, targets):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            write_bytes_atomic(target, buffer.getvalue())
        return targets


def png_paths(path: str | Path, count: int) -> list[Path]:
    """Where :meth:`Puzzle.save_png` writes ``count`` puzzles: ``path``, or ``stem-0000.png``... for several."""
    path = Path(path)
    if count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i:04d}{path.suffix or '.png'}") for i in range(count)]


def _check_codes_header(header: Any, path: Path) -> None:
    """Refuse a ``codes`` array by its declared shape and dtype, before it is read."""
    shape = header.shape
    if len(shape) not in (2, 3) or shape[-2:] != (GRID_SIZE, GRID_SIZE):
        raise InputError(path, f"not a puzzle file: 'codes' must have shape (30, 30) or (N, 30, 30), got {shape}")
    if header.dtype.kind not in "biuf" or header.dtype.itemsize > 8:
        raise InputError(path, f"not a puzzle file: 'codes' must hold numbers, got dtype {header.dtype}")
    count = shape[0] if len(shape) == 3 else 1
    if count == 0:
        raise InputError(path, "holds no puzzles (0 grids)")
    if count > MAX_PUZZLES:
        raise InputError(path, f"declares {count} puzzles, more than the {MAX_PUZZLES} one file may hold")


def concatenate(puzzles: list[Puzzle]) -> Puzzle:
    """Join puzzles from the same compressor into one batch, keeping their sources and times."""
    if not puzzles:
        raise ValueError("nothing to concatenate")
    first = puzzles[0].meta
    for puzzle in puzzles[1:]:
        if (puzzle.meta.compressor_id, puzzle.meta.compressor_version) != (
            first.compressor_id,
            first.compressor_version,
        ):
            raise ValueError("cannot concatenate puzzles from different compressors")
    sources: tuple[str, ...] = ()
    if all(p.meta.sources for p in puzzles):
        sources = tuple(s for p in puzzles for s in p.meta.sources)
    times: tuple[tuple[float, float], ...] = ()
    if all(p.meta.times for p in puzzles) and len({p.meta.clock for p in puzzles}) == 1:
        times = tuple(t for p in puzzles for t in p.meta.times)
    codes = np.concatenate([p.as_batch() for p in puzzles])
    return Puzzle(codes, replace(first, sources=sources, times=times, clock=first.clock if times else ""))
