"""The sensor contract: a live or replayed source of timestamped observations of one modality.

A plugin registers a :class:`~sage_core.specs.SensorSpec` whose factory is a :class:`Sensor`
subclass. Its module must not import a device library at module level: ``sage sensors``
imports every sensor class to ask :meth:`Sensor.unavailable` and :meth:`Sensor.devices`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from sage_core.streaming.observations import Observation

#: What a sensor calls for each observation. It never blocks for long: windows that find the
#: encoder's queue full are dropped and counted, so capture never waits on encoding.
Emit = Callable[[Observation], None]


@dataclass(frozen=True)
class SensorOptions:
    """Everything ``sage stream`` may tell a sensor; each sensor reads the fields it needs.

    ``target``: what follows ``NAME:`` (a device), a file path, or ``-``.
    ``speed``: replay pace (1 = real time). ``pcm_*``: the layout of raw samples on stdin.
    ``frame_rate``: frames per second of an image folder. ``block_seconds``: how much audio a
    replay or device delivers at a time (smaller: lower latency, more wake-ups).
    """

    target: str | None = None
    speed: float = 1.0
    pcm_rate: int = 16_000
    pcm_channels: int = 1
    pcm_format: str = "s16le"
    frame_rate: float = 10.0
    block_seconds: float = 0.01


class Sensor(ABC):
    """One source: opened, run in its own capture thread until it ends or is stopped, closed.

    Subclasses set ``modality`` and ``live`` (live sensors stamp observations with the Unix
    clock; replays stamp the stream's origin + source time) and implement :meth:`run`.
    Failures a user can act on (no library, no device, unreadable file) are raised as
    ``SageError`` with one line that names the sensor and says how to fix it.
    """

    modality: ClassVar[str]
    live: ClassVar[bool] = True
    #: Readable name used in error messages ("microphone", "camera").
    title: ClassVar[str] = "sensor"

    def __init__(self, options: SensorOptions) -> None:
        self.options = options
        #: Observations the source itself lost (a device buffer overrun), reported with drops.
        self.overruns = 0

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this sensor cannot work on this machine (e.g. a missing library), or None."""
        return None

    @classmethod
    def devices(cls) -> list[str]:
        """The devices this sensor can see now (empty for file and stdin sensors)."""
        return []

    @classmethod
    def accepts(cls, target: str) -> bool:
        """Whether a file sensor reads ``target`` (a path); lets two file sensors share a modality."""
        return True

    def open(self) -> None:
        """Acquire the device or file; raise ``SageError`` naming the problem. Runs before capture."""

    @abstractmethod
    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Capture until the source ends or ``stop`` is set, calling ``emit`` per observation."""

    def close(self) -> None:
        """Release the device or file; called once, also after a failure."""

    def start_clock(self, wall: float, origin: float) -> None:
        """Called as capture starts: ``wall`` is ``time.time()`` now, ``origin`` the stream clock's zero.

        Live sensors stamp with the Unix clock and ignore it; replays start their pace at
        ``wall`` and stamp ``origin`` + source time, so every source of a stream shares one clock.
        """

    def wall_time(self, stamp: float) -> float:
        """The ``time.time()`` at which the sample stamped ``stamp`` was (or, replayed, would be) captured."""
        return stamp


class ReplaySensor(Sensor):
    """A recorded source played back at ``options.speed`` times real time, stamped with source time."""

    live = False

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        if not options.speed > 0:
            raise ValueError(f"speed must be > 0, got {options.speed}")
        self._wall_start: float | None = None
        self.origin = 0.0

    def start_clock(self, wall: float, origin: float) -> None:
        self._wall_start, self.origin = wall, origin

    def pace(self, source_time: float, stop: threading.Event) -> bool:
        """Wait until ``source_time`` (seconds into the source) is due; False when stopped first."""
        if self._wall_start is None:
            self._wall_start = time.time()
        delay = self._wall_start + source_time / self.options.speed - time.time()
        if delay > 0:
            return not stop.wait(delay)
        return not stop.is_set()

    def stamp(self, source_time: float) -> float:
        return self.origin + source_time

    def wall_time(self, stamp: float) -> float:
        start = self._wall_start if self._wall_start is not None else time.time()
        return start + (stamp - self.origin) / self.options.speed
