"""The one place a stream touches a compressor's observation methods.

Everything about observations (``prepare``, the optional ``stream_windower``, the modality
name) is read through :func:`modality_of`, so when those methods move from the compressor
to its ``Modality`` only that function changes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sage_core.streaming.observations import Window
from sage_core.streaming.windows import FrameWindower, Windower

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.contract import PuzzleCompressor
    from sage_core.puzzle import Puzzle


def modality_of(compressor: PuzzleCompressor) -> Any:
    """The object holding ``prepare`` and ``stream_windower`` (today the compressor itself)."""
    return compressor


def modality_name(compressor: PuzzleCompressor) -> str:
    """``"audio"``, ``"vision"``...: which sensors can feed this compressor."""
    return str(compressor.puzzle_meta().modality)


def windower_for(compressor: PuzzleCompressor, hop: float, every: int = 1, max_fps: float | None = None) -> Windower:
    """The modality's own windower for sample streams (``stream_windower(hop)``), else one window per frame."""
    make = getattr(modality_of(compressor), "stream_windower", None)
    if make is not None:
        return make(hop)
    return FrameWindower(every=every, max_fps=max_fps)


def encode_window(compressor: PuzzleCompressor, window: Window, source: str, clock: str) -> Puzzle:
    """One window -> a one-puzzle ``Puzzle`` named ``SOURCE#INDEX`` with its (start, end) on ``clock``.

    The same ``prepare`` and ``encode`` as ``sage encode``, one window at a time, so the
    puzzle is bit-identical to the file path's for the same samples.
    """
    x = modality_of(compressor).prepare(window.data)
    puzzle = compressor.encode(x, (f"{source}#{window.index}",))
    meta = dataclasses.replace(puzzle.meta, times=((window.start, window.end),), clock=clock)
    return type(puzzle)(puzzle.codes, meta)
