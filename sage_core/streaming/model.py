"""Where a stream meets a compressor: its modality prepares windows, the model encodes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sage_core.streaming.observations import Window
from sage_core.streaming.windows import FrameWindower, Windower

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.contract import PuzzleCompressor
    from sage_core.puzzle import Puzzle


def modality_name(compressor: PuzzleCompressor) -> str:
    """``"audio"``, ``"vision"``...: which sensors can feed this compressor."""
    return compressor.modality.name


def windower_for(compressor: PuzzleCompressor, hop: float, every: int = 1, max_fps: float | None = None) -> Windower:
    """The modality's own windower for sample streams (``stream_windower(hop)``), else one window per frame."""
    windower = compressor.modality.stream_windower(hop)
    return windower if windower is not None else FrameWindower(every=every, max_fps=max_fps)


def encode_window(compressor: PuzzleCompressor, window: Window, source: str, clock: str) -> Puzzle:
    """One window -> a one-puzzle ``Puzzle`` named ``SOURCE#INDEX`` with its (start, end) on ``clock``.

    The same ``prepare`` and ``encode`` as ``sage encode``, one window at a time, so the
    puzzle is bit-identical to the file path's for the same samples.
    """
    x = compressor.modality.prepare(window.data)
    return compressor.encode(x, (f"{source}#{window.index}",), ((window.start, window.end),), clock)
