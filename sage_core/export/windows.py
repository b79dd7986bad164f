"""Puzzles as windows of streams: which source each puzzle came from and where in it.

A *window* is one puzzle plus its place: its stream (the source it was cut from, by one
compressor), its ``#INDEX`` in that source when the source name carries one
(``talk.wav#3``), and its ``(start, end)`` seconds when the puzzle file has times. Export
tasks pair windows: the next window of a stream, or another modality's window at the
same time.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sage_core.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from sage_core.puzzle import Puzzle, PuzzleMeta

_INDEX_SUFFIX = re.compile(r"^(?P<base>.*)#(?P<index>\d+)$")


@dataclass(frozen=True)
class Window:
    """One puzzle and its place in its stream. ``codes``: (30, 30) uint8."""

    file: Path
    position: int
    meta: PuzzleMeta  # of the whole file; this window's per-puzzle fields are at ``position``
    base: str
    index: int | None
    time: tuple[float, float] | None
    codes: np.ndarray

    @property
    def source(self) -> str:
        return self.meta.sources[self.position] if self.meta.sources else ""

    @property
    def modality(self) -> str:
        return self.meta.modality

    @property
    def clock(self) -> str:
        return self.meta.clock

    @property
    def stream(self) -> tuple[str, str, str]:
        """Windows of one source made by one model: (compressor id, version, base source)."""
        return (self.meta.compressor_id, str(self.meta.compressor_version), self.base)

    @property
    def start(self) -> float:
        assert self.time is not None
        return self.time[0]

    @property
    def midpoint(self) -> float:
        assert self.time is not None
        return (self.time[0] + self.time[1]) / 2

    def describe(self) -> str:
        return f"{self.file}: puzzle {self.position} ({self.source or 'no source'})"


def split_source(source: str) -> tuple[str, int | None]:
    """``"talk.wav#3"`` -> ``("talk.wav", 3)``; a source without ``#INDEX`` -> ``(source, None)``."""
    match = _INDEX_SUFFIX.match(source)
    if match is None:
        return source, None
    return match["base"], int(match["index"])


def windows_of(path: Path, puzzle: Puzzle) -> list[Window]:
    """Every puzzle of a loaded file as a window. Without sources, the file is the stream."""
    batch = puzzle.as_batch()
    meta = puzzle.meta
    windows = []
    for position in range(len(batch)):
        if meta.sources:
            base, index = split_source(meta.sources[position])
        else:
            base, index = str(path), None
        time = meta.times[position] if meta.times else None
        windows.append(Window(path, position, meta, base, index, time, batch[position]))
    return windows


def order_stream(windows: list[Window]) -> tuple[list[Window], str]:
    """Windows of one stream in time order, and what ordered them (``"time"`` or ``"index"``).

    By start time when every window has times, else by the ``#INDEX`` of its source.
    Two windows at the same place would make "the next window" ambiguous: refused.
    """
    first = windows[0]
    if all(w.time is not None for w in windows):
        key, by = (lambda w: w.start), "time"
    elif all(w.index is not None for w in windows):
        key, by = (lambda w: w.index), "index"
    else:
        lacking = next(w for w in windows if w.index is None)
        raise InputError(
            lacking.file,
            f"cannot order the windows of source {first.base!r}: puzzle {lacking.position} has no #INDEX "
            "source suffix (e.g. talk.wav#3) and not every window has times",
        )
    ordered = sorted(windows, key=lambda w: (key(w), str(w.file), w.position))
    for before, after in zip(ordered, ordered[1:]):
        if key(before) == key(after):
            place = f"start {key(before)} s" if by == "time" else f"index {key(before)}"
            raise InputError(
                after.file,
                f"two windows of source {first.base!r} at {place} ({before.describe()} and puzzle "
                f"{after.position}): the next window is ambiguous",
            )
    return ordered, by


def consecutive(before: Window, after: Window, typical_hop: float | None) -> bool:
    """Whether ``after`` directly follows ``before`` (no window lost between them).

    By index when both have one; else by time: a start gap above 1.5 typical hops is a gap.
    """
    if before.index is not None and after.index is not None:
        return after.index == before.index + 1
    if typical_hop is None or before.time is None or after.time is None:
        return True
    return after.start - before.start <= 1.5 * typical_hop


def typical_hop(ordered: list[Window]) -> float | None:
    """The median start-to-start step of a time-ordered stream (seconds), if it has times."""
    import numpy as np

    if len(ordered) < 2 or any(w.time is None for w in ordered):
        return None
    return float(np.median(np.diff([w.start for w in ordered])))


def group_streams(windows: list[Window]) -> dict[tuple[str, str, str], list[Window]]:
    streams: dict[tuple[str, str, str], list[Window]] = defaultdict(list)
    for window in windows:
        streams[window.stream].append(window)
    return dict(streams)
