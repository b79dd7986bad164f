"""Cut a stream of observations into model windows as they arrive.

A modality whose observations are sample streams (audio) provides ``stream_windower(hop)``
returning a :class:`Windower`; :class:`SampleWindower` is the ring buffer such windowers
build on. Modalities without one get :class:`FrameWindower`: every observation (a frame)
is one window, optionally thinned to every k-th or at most F per second.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import numpy as np

from sage_core.streaming.observations import VideoFrame, Window


class Windower(Protocol):
    """Turns one source's observations into windows; one instance per source."""

    def push(self, observation: Any) -> list[Window]:
        """The windows completed by ``observation`` (often none)."""

    def flush(self) -> list[Window]:
        """At the end of the source: the windows still owed (e.g. a zero-padded last one)."""


class SampleWindower:
    """Mono samples at ``rate`` Hz -> windows of ``size`` samples every ``hop`` samples.

    A ring buffer of ``2 * size`` float32 samples: memory stays fixed however long the
    stream runs. Each pushed block carries the capture time of its first sample; a window
    starts at the time of its first sample reckoned from the block that holds it, so a live
    device's timestamps follow the system clock instead of drifting with the sample count.
    At the end of the source (``flush``) the samples after the last full window become one
    zero-padded window, as ``sage encode`` pads the end of a file.
    """

    def __init__(self, rate: int, size: int, hop: int) -> None:
        if size < 1 or hop < 1:
            raise ValueError(f"window size and hop must be >= 1 sample, got {size} and {hop}")
        self.rate, self.size, self.hop = rate, size, hop
        self._buffer = np.zeros(2 * size, dtype=np.float32)
        self._base = 0  # stream index of _buffer[0]
        self._length = 0  # samples held
        self._next = 0  # stream index where the next window starts
        self._covered = 0  # stream index where the last window cut ended
        self._index = 0
        self._anchors: deque[tuple[int, float]] = deque()  # (stream index, time) of each block start

    @property
    def samples_seen(self) -> int:
        return self._base + self._length

    def push_samples(self, samples: np.ndarray, time: float) -> list[Window]:
        """Add ``(T,)`` float32 samples whose first was captured at ``time``; return completed windows."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            return []
        self._anchors.append((self.samples_seen, float(time)))
        done: list[Window] = []
        position = 0
        while position < samples.size:
            if self._length == self._buffer.size:
                self._compact()
            take = min(self._buffer.size - self._length, samples.size - position)
            self._buffer[self._length : self._length + take] = samples[position : position + take]
            self._length += take
            position += take
            done.extend(self._cut())
        return done

    def flush(self) -> list[Window]:
        """The zero-padded last window, if samples after the last full window remain."""
        end = self.samples_seen
        if end <= self._covered or self._next >= end:
            return []
        start = self._next - self._base
        data = np.zeros(self.size, dtype=np.float32)
        held = self._buffer[start : self._length]
        data[: held.size] = held
        window = self._window(data, self._next, ready=self._time_of(end - 1) + 1.0 / self.rate)
        self._covered = self._next + self.size
        self._next += self.hop
        return [window]

    def _cut(self) -> list[Window]:
        done = []
        while self._next + self.size <= self.samples_seen:
            start = self._next - self._base
            window = self._window(self._buffer[start : start + self.size].copy(), self._next)
            done.append(window)
            self._covered = self._next + self.size
            self._next += self.hop
        return done

    def _window(self, data: np.ndarray, first: int, ready: float | None = None) -> Window:
        start = self._time_of(first)
        end = start + self.size / self.rate
        window = Window(data=(data, self.rate), start=start, end=end, index=self._index,
                        ready=end if ready is None else ready)
        self._index += 1
        return window

    def _compact(self) -> None:
        """Forget the samples before the next window (all of them when hop > size skips some)."""
        drop = min(max(self._next - self._base, 0), self._length)
        self._buffer[: self._length - drop] = self._buffer[drop : self._length]
        self._base += drop
        self._length -= drop
        while len(self._anchors) > 1 and self._anchors[1][0] <= self._base:
            self._anchors.popleft()

    def _time_of(self, index: int) -> float:
        """Capture time of the sample at stream ``index``, from the block that holds it."""
        anchor_index, anchor_time = self._anchors[0]
        for candidate_index, candidate_time in self._anchors:
            if candidate_index > index:
                break
            anchor_index, anchor_time = candidate_index, candidate_time
        return anchor_time + (index - anchor_index) / self.rate


class FrameWindower:
    """Each frame is one window; keep every ``every``-th frame and at most ``max_fps`` per second.

    The index of a window is the frame's number in its source, so thinned and dropped
    frames both leave gaps.
    """

    def __init__(self, every: int = 1, max_fps: float | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if max_fps is not None and max_fps <= 0:
            raise ValueError(f"max_fps must be > 0, got {max_fps}")
        self.every, self.max_fps = every, max_fps
        self._frames = 0
        self._last: float | None = None

    def push(self, observation: Any) -> list[Window]:
        if not isinstance(observation, VideoFrame):
            raise TypeError(f"expected a VideoFrame, got {type(observation).__name__}")
        number = self._frames
        self._frames += 1
        if number % self.every:
            return []
        if self.max_fps is not None and self._last is not None:
            # A small tolerance keeps a 30 fps camera at --fps 30 from losing frames to jitter.
            if observation.time - self._last < 0.9 / self.max_fps:
                return []
        self._last = observation.time
        return [Window(data=observation.image, start=observation.time, end=observation.time + observation.duration,
                       index=number, ready=observation.time)]

    def flush(self) -> list[Window]:
        return []
