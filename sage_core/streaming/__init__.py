"""Live sensors in, puzzles out while they run (see docs/streaming.md).

``from sage_core.streaming import stream``; ``for puzzle in stream(model, "mic", hop=0.25)``.
Importing this package is cheap: names are resolved on first use, and torch loads with a model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sage_core.lazy import lazy_names

_LAZY: dict[str, str] = {
    "StreamOptions": "sage_core.streaming.api",
    "astream": "sage_core.streaming.api",
    "open_stream": "sage_core.streaming.api",
    "stream": "sage_core.streaming.api",
    "SourceStats": "sage_core.streaming.engine",
    "StreamItem": "sage_core.streaming.engine",
    "StreamSession": "sage_core.streaming.engine",
    "AudioBlock": "sage_core.streaming.observations",
    "Observation": "sage_core.streaming.observations",
    "VideoFrame": "sage_core.streaming.observations",
    "Window": "sage_core.streaming.observations",
    "Emit": "sage_core.streaming.sensor",
    "ReplaySensor": "sage_core.streaming.sensor",
    "Sensor": "sage_core.streaming.sensor",
    "SensorOptions": "sage_core.streaming.sensor",
    "FrameWindower": "sage_core.streaming.windows",
    "SampleWindower": "sage_core.streaming.windows",
    "Windower": "sage_core.streaming.windows",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover
    from sage_core.streaming.api import StreamOptions, astream, open_stream, stream
    from sage_core.streaming.engine import SourceStats, StreamItem, StreamSession
    from sage_core.streaming.observations import AudioBlock, Observation, VideoFrame, Window
    from sage_core.streaming.sensor import Emit, ReplaySensor, Sensor, SensorOptions
    from sage_core.streaming.windows import FrameWindower, SampleWindower, Windower
