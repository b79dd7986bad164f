"""The stream engine: capture threads feed one bounded queue; the caller's thread encodes.

Each source's sensor runs in its own thread and hands observations to its windower there;
finished windows go into a bounded queue with ``put_nowait``. When the encoder falls behind
and the queue is full, the window is dropped and counted, so capture never waits on
encoding and memory stays bounded. The thread that iterates the session prepares, encodes
and yields one puzzle per window, oldest first.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sage_core.errors import SageError
from sage_core.streaming.model import encode_window
from sage_core.streaming.observations import AudioBlock, Observation, Window
from sage_core.streaming.sensor import Sensor
from sage_core.streaming.windows import Windower

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.contract import PuzzleCompressor
    from sage_core.puzzle import Puzzle

#: Windows waiting for the encoder, all sources together (at hop 0.25 s: 2 s of audio).
DEFAULT_QUEUE = 8
_POLL_SECONDS = 0.05


@dataclass
class SourceStats:
    """Counters of one source. ``latencies``: seconds from a window's last sample to its puzzle written."""

    label: str
    windows: int = 0
    encoded: int = 0
    dropped: int = 0
    overruns: int = 0
    latencies: array = field(default_factory=lambda: array("d"))

    def latency_ms(self, percent: float) -> float | None:
        """A latency percentile in milliseconds (nearest rank), None before the first puzzle."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, int(round(percent / 100 * len(ordered) + 0.5)) - 1))
        return 1000.0 * ordered[rank]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.label,
            "windows": self.windows,
            "encoded": self.encoded,
            "dropped": self.dropped,
            "overruns": self.overruns,
            "latency_ms": {f"p{p}": self.latency_ms(p) for p in (50, 90, 99)},
        }

    def summary(self) -> str:
        text = f"{self.label}: {self.windows} window(s), {self.encoded} encoded, {self.dropped} dropped"
        if self.overruns:
            text += f", {self.overruns} lost by the device"
        if self.latencies:
            p50, p90, p99 = (self.latency_ms(p) for p in (50, 90, 99))
            text += f"; latency p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms"
        return text


@dataclass(eq=False)
class StreamSource:
    """One source of a stream: the model that encodes it, its sensor and windower, its counters."""

    compressor: PuzzleCompressor
    sensor: Sensor
    windower: Windower
    label: str
    stats: SourceStats = field(init=False)
    stop: threading.Event = field(default_factory=threading.Event, init=False)
    done: threading.Event = field(default_factory=threading.Event, init=False)
    error: BaseException | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.stats = SourceStats(self.label)


@dataclass(frozen=True)
class StreamItem:
    """One encoded window: which source, the window, and its one-puzzle ``Puzzle``."""

    source: StreamSource
    window: Window
    puzzle: Puzzle


class StreamSession:
    """Several sources on one clock, encoded as their windows complete.

    ``open()`` opens every sensor (failing early and closing the others), ``start()`` starts
    capture, iterating yields :class:`StreamItem` until every source has ended, ``stop()``
    ends capture (windows already queued are still yielded), ``close()`` stops and releases
    everything. As a context manager it opens and starts, and closes on exit.
    """

    def __init__(self, sources: list[StreamSource], clock: str, queue_size: int = DEFAULT_QUEUE,
                 duration: float | None = None, opened: bool = False) -> None:
        if queue_size < 1:
            raise ValueError(f"queue size must be >= 1, got {queue_size}")
        if duration is not None and duration <= 0:
            raise ValueError(f"duration must be > 0 seconds, got {duration}")
        self.sources = sources
        self.clock = clock
        self.duration = duration
        self._queue: queue.Queue[tuple[StreamSource, Window]] = queue.Queue(maxsize=queue_size)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._opened: list[StreamSource] = list(sources) if opened else []
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------

    def open(self) -> None:
        """Open every sensor not opened yet (``open_stream`` opens them before loading models)."""
        for source in self.sources:
            if source in self._opened:
                continue
            try:
                source.sensor.open()
            except BaseException:
                self.close()
                raise
            self._opened.append(source)

    def start(self) -> None:
        """Start every source's clock at the same instant, then its capture thread."""
        now = time.time()
        for source in self.sources:
            source.sensor.start_clock(wall=now, origin=now if self.clock == "unix" else 0.0)
        for source in self.sources:
            thread = threading.Thread(target=self._capture, args=(source,), name=f"sage-capture-{source.label}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (by the user, not by a source ending)."""
        return self._stopping.is_set()

    def stop(self) -> None:
        """End capture now; no padded last window is cut for an interrupted source."""
        self._stopping.set()
        for source in self.sources:
            source.stop.set()

    def close(self) -> None:
        if self._closed:
            return
        self.stop()
        self._closed = True
        for thread in self._threads:
            thread.join(timeout=5.0)
        for source in self._opened:
            try:
                source.sensor.close()
            except Exception:  # noqa: BLE001 - closing must release every other source too
                pass
        self._opened = []

    def __enter__(self) -> StreamSession:
        self.open()
        if not self._threads:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- capture (one thread per source) -----------------------------------------------

    def _capture(self, source: StreamSource) -> None:
        first: list[float] = []

        def emit(observation: Observation) -> None:
            if source.stop.is_set():
                return
            if self.duration is not None:
                observation = self._within_duration(source, observation, first)
                if observation is None:
                    return
            for window in source.windower.push(observation):
                source.stats.windows += 1
                try:
                    self._queue.put_nowait((source, window))
                except queue.Full:
                    source.stats.dropped += 1

        try:
            source.sensor.run(emit, source.stop)
            if not self._stopping.is_set():  # the source ended: the windows it still owes
                for window in source.windower.flush():
                    source.stats.windows += 1
                    self._put_final(source, window)
        except BaseException as exc:  # noqa: BLE001 - reported by the iterating thread
            source.error = exc
        finally:
            source.stats.overruns = source.sensor.overruns
            source.done.set()

    def _within_duration(self, source: StreamSource, observation: Observation, first: list[float]) -> Observation | None:
        """The part of ``observation`` inside the first ``duration`` seconds of its source; stop after."""
        assert self.duration is not None
        if not first:
            first.append(observation.time)
        cut = first[0] + self.duration
        if isinstance(observation, AudioBlock):
            keep = int(round((cut - observation.time) * observation.rate))
            if keep < len(observation.samples):
                source.stop.set()
                if keep <= 0:
                    return None
                return dataclasses.replace(observation, samples=observation.samples[:keep])
            return observation
        if observation.time >= cut:
            source.stop.set()
            return None
        return observation

    def _put_final(self, source: StreamSource, window: Window) -> None:
        """The last windows of a source that ended wait for room instead of being dropped."""
        while not self._closed:
            try:
                self._queue.put((source, window), timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue
        source.stats.dropped += 1

    # --- encoding (the iterating thread) -----------------------------------------------

    def __iter__(self) -> Iterator[StreamItem]:
        while True:
            try:
                source, window = self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._closed or (all(s.done.is_set() for s in self.sources) and self._queue.empty()):
                    break
                continue
            puzzle = encode_window(source.compressor, window, source.label, self.clock)
            source.stats.encoded += 1
            yield StreamItem(source, window, puzzle)
        self._raise_capture_error()

    def record_latency(self, item: StreamItem, written_at: float | None = None) -> float:
        """Note that ``item``'s puzzle is written now; returns its latency in seconds."""
        now = time.time() if written_at is None else written_at
        latency = now - item.source.sensor.wall_time(item.window.ready)
        item.source.stats.latencies.append(latency)
        return latency

    def _raise_capture_error(self) -> None:
        for source in self.sources:
            if source.error is None:
                continue
            if isinstance(source.error, SageError):
                raise source.error
            raise SageError(f"{source.label}: capture failed: {source.error!r}") from source.error

    @property
    def stats(self) -> list[SourceStats]:
        return [source.stats for source in self.sources]
