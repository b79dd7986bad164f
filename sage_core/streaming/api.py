"""Open streams from what a user types: a model (run, id or modality) and a SOURCE string.

SOURCE is a sensor name (``mic``, ``camera``), ``NAME:DEVICE`` (``mic:2``), a file path
(replayed by the model modality's file sensor), or ``-`` (raw samples on stdin). Several
sources in one stream share one clock: the Unix clock whenever a source is live or there is
more than one source (replays then add the stream's start time to their source time), else
the source clock of the one file (seconds from its start).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sage_core.errors import SageError
from sage_core.streaming.engine import DEFAULT_QUEUE, StreamSession, StreamSource
from sage_core.streaming.model import modality_name, windower_for
from sage_core.streaming.sensor import SensorOptions

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.plugins import PluginRegistry
    from sage_core.puzzle import Puzzle
    from sage_core.specs import SensorSpec

ModelRef = Any  # a PuzzleCompressor, a run directory, or a compressor id / modality


@dataclass(frozen=True)
class StreamOptions:
    """How to stream: window hop (s), replay speed, frame thinning, limits, sensor settings."""

    hop: float = 0.25
    speed: float = 1.0
    every: int = 1
    max_fps: float | None = None
    duration: float | None = None
    queue_size: int = DEFAULT_QUEUE
    pcm_rate: int = 16_000
    pcm_channels: int = 1
    pcm_format: str = "s16le"
    frame_rate: float = 10.0
    block_seconds: float = 0.01
    runs_root: Path = Path("runs")

    def __post_init__(self) -> None:
        if not self.hop > 0:
            raise SageError(f"--hop must be > 0 seconds, got {self.hop}")
        if not self.speed > 0:
            raise SageError(f"--speed must be > 0, got {self.speed}")
        if self.duration is not None and not self.duration > 0:
            raise SageError(f"--duration must be > 0 seconds, got {self.duration}")
        if self.queue_size < 1:
            raise SageError(f"--queue must be >= 1, got {self.queue_size}")


def _modality_and_loader(model: ModelRef, registry: PluginRegistry, runs_root: Path) -> tuple[str, Any]:
    """The model's modality (torch-free for a run: from its config) and a function that loads it.

    Sensors are resolved and checked before any model loads, so a missing microphone is
    reported at once rather than after torch has been imported.
    """
    if not isinstance(model, (str, os.PathLike)):
        return modality_name(model), lambda: model.eval()
    from sage_core.rundir import RunDirectory
    from sage_core.runs import load_compressor, resolve_run

    run_dir = resolve_run(model, registry, root=runs_root)
    modality = RunDirectory(run_dir).config().modality
    loader = lambda: load_compressor(run_dir, registry=registry)  # noqa: E731
    return (modality or modality_name(loader())), loader


def resolve_sensor(registry: PluginRegistry, source: str, modality: str) -> tuple[SensorSpec, str | None, str]:
    """``(spec, target, label)`` for a SOURCE string; a one-line ``SageError`` when nothing fits."""
    specs = [spec for spec in registry.sensors.values() if spec.modality == modality]
    if source == "-":
        for spec in specs:
            if spec.opens == "stdin":
                return spec, "-", "stdin"
        raise SageError(f"-: no installed sensor reads {modality} samples from stdin")
    name, colon, argument = source.partition(":")
    if name in registry.sensors and "/" not in name:
        spec = registry.sensors[name]
        if spec.modality != modality:
            raise SageError(f"{source}: the {name} sensor gives {spec.modality} observations; this model encodes {modality}")
        if spec.opens == "file" and not argument:
            raise SageError(f"{source}: the {name} sensor replays a file: give {name}:PATH or just the path")
        return spec, (argument if colon else None), source
    path = Path(source)
    if path.exists():
        for spec in specs:
            if spec.opens == "file" and spec.load().accepts(source):
                return spec, source, source
        raise SageError(f"{source}: no installed sensor replays {modality} files like this one")
    known = ", ".join(sorted(registry.sensors)) or "none installed"
    raise SageError(f"{source}: no such file, and not a sensor name (sensors: {known}; see `sage sensors`)")


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}-{seen[label]}")
    return unique


def open_stream(pairs: Sequence[tuple[ModelRef, str]], options: StreamOptions | None = None,
                registry: PluginRegistry | None = None) -> StreamSession:
    """A :class:`StreamSession` for ``(model, SOURCE)`` pairs on one clock, its sensors opened.

    Close it (or use it as a context manager) to release the devices.
    """
    from sage_core.plugins import load_plugins

    options = options or StreamOptions()
    registry = registry if registry is not None else load_plugins()
    if not pairs:
        raise SageError("nothing to stream: give a model and a source")
    planned = []
    for model, source in pairs:
        modality, load = _modality_and_loader(model, registry, Path(options.runs_root))
        spec, target, label = resolve_sensor(registry, str(source), modality)
        cls = spec.load()
        reason = cls.unavailable()
        if reason is not None:
            raise SageError(f"{cls.title}: {reason}")
        planned.append((load, cls, target, label))
    live = any(cls.live for _, cls, _, _ in planned)
    clock = "unix" if live or len(planned) > 1 else "source"
    sensor_fields = {f.name for f in fields(SensorOptions)} - {"target"}
    shared = {name: getattr(options, name) for name in sensor_fields}
    sensors = [cls(SensorOptions(target=target, **shared)) for _, cls, target, _ in planned]
    opened = []
    try:
        for sensor in sensors:  # devices and files first: a missing one is reported before models load
            sensor.open()
            opened.append(sensor)
        compressors = [load() for load, *_ in planned]
    except BaseException:
        for sensor in opened:
            sensor.close()
        raise
    labels = _unique([label for *_, label in planned])
    sources = [
        StreamSource(
            compressor=compressor,
            sensor=sensor,
            windower=windower_for(compressor, options.hop, options.every, options.max_fps),
            label=label,
        )
        for compressor, sensor, label in zip(compressors, sensors, labels)
    ]
    return StreamSession(sources, clock, queue_size=options.queue_size, duration=options.duration, opened=True)


def stream(model: ModelRef, source: str, hop: float = 0.25, *, also: Sequence[tuple[ModelRef, str]] = (),
           registry: PluginRegistry | None = None, **options: Any) -> Iterator[Puzzle]:
    """Puzzles of ``source`` (and of each ``(model, source)`` in ``also``) as their windows complete.

    A generator of one-puzzle :class:`~sage_core.puzzle.Puzzle` objects carrying their
    source, ``times`` and ``clock``. Closing it (``break``, ``.close()``) stops capture and
    releases the devices. ``options``: the fields of :class:`StreamOptions`.
    """
    session = open_stream([(model, source), *also], StreamOptions(hop=hop, **options), registry)
    with session:
        for item in session:
            session.record_latency(item)
            yield item.puzzle


async def astream(model: ModelRef, source: str, hop: float = 0.25, *, also: Sequence[tuple[ModelRef, str]] = (),
                  registry: PluginRegistry | None = None, **options: Any) -> AsyncIterator[Puzzle]:
    """``async for puzzle in astream(...)``: :func:`stream` with encoding in a worker thread."""
    session = await asyncio.to_thread(open_stream, [(model, source), *also], StreamOptions(hop=hop, **options), registry)
    session.start()
    items = iter(session)
    try:
        while True:
            item = await asyncio.to_thread(next, items, None)
            if item is None:
                break
            session.record_latency(item)
            yield item.puzzle
    finally:
        await asyncio.to_thread(session.close)
