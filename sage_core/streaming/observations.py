"""What sensors yield and what a stream encodes: timestamped audio blocks, video frames, windows.

Times are seconds on the stream's clock: the Unix epoch for a stream with a live source
(sensors stamp ``time.time()`` at capture, corrected by the device's own timing where it has
one), or source time for a plain file replay (seconds from the start of the file). A replay
that shares a stream with other sources adds the stream's start time, so every source of one
stream is on one clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


@dataclass(frozen=True)
class AudioBlock:
    """Consecutive samples of one source: ``samples`` ``(T,)`` or ``(T, channels)`` float32 in [-1, 1].

    ``rate`` is in Hz; ``time`` is the capture time of the first sample (stream clock, seconds).
    """

    samples: np.ndarray
    rate: int
    time: float


@dataclass(frozen=True)
class VideoFrame:
    """One picture: ``image`` ``(H, W, 3)`` uint8 RGB, captured at ``time`` (stream clock, seconds).

    ``duration`` is the time the frame stands for (1/fps) when the source knows it, else 0.
    """

    image: np.ndarray
    time: float
    duration: float = 0.0


Observation = Union[AudioBlock, VideoFrame]


@dataclass(frozen=True)
class Window:
    """One model window cut from a stream, ready for the modality's ``prepare``.

    ``data``: what ``prepare`` takes (audio: ``(samples (N,) float32, rate)``; vision: the
    ``(H, W, 3)`` uint8 frame). ``start``/``end``: seconds on the stream clock. ``index``:
    the window's number in its source (windows dropped later keep theirs, so gaps show
    drops). ``ready``: when the window's last real sample was captured (its ``end``, or the
    end of the source for a zero-padded last window); latency is measured from there.
    """

    data: Any
    start: float
    end: float
    index: int
    ready: float
