"""``sage stream`` and ``sage sensors``: live sensors in, puzzles out while they run."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from sage_core.cli.context import get_registry


def _stop_on_signals(session: Any) -> dict[int, Any]:
    """SIGINT/SIGTERM end the stream cleanly (queued windows are still written); a second SIGINT aborts."""
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and session.stopping:
            raise KeyboardInterrupt
        session.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handle)
    return previous


def _report(session: Any, written: list[Path], stats_path: Path | None) -> None:
    for stats in session.stats:
        click.echo(f"stream: {stats.summary()}", err=True)
    for path in written:
        click.echo(f"wrote {path}", err=True)
    if stats_path is not None:
        from sage_core.atomic import write_json_atomic

        write_json_atomic(stats_path, {"clock": session.clock, "sources": [s.as_dict() for s in session.stats]})


@click.command("stream")
@click.argument("model")
@click.argument("source")
@click.option("--with", "also", nargs=2, multiple=True, metavar="MODEL SOURCE",
              help="Another source on the same clock, with its model (repeatable).")
@click.option("--hop", type=float, default=0.25, show_default=True, help="Seconds between window starts (audio).")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Replay speed of file sources (1 = real time).")
@click.option("--out", "-o", "out", type=click.Path(path_type=Path), default=None,
              help="Output file (one source) or directory (one file per source).")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "npz"]), default=None,
              help="text: digits to stdout (and --out); jsonl: the puzzle log; npz: the log while running, "
                   ".npz at the end. [default: from --out's suffix; jsonl; text without --out]")
@click.option("--force", is_flag=True, help="--format npz: replace an existing .npz (logs and text are appended to).")
@click.option("--duration", type=float, default=None, help="Stop each source after this many seconds of signal.")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True, help="Vision: encode every k-th frame.")
@click.option("--fps", "max_fps", type=float, default=None, help="Vision: encode at most this many frames per second.")
@click.option("--queue", "queue_size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Windows that may wait for the encoder; more are dropped and counted.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="Torch threads for encoding.")
@click.option("--rate", "pcm_rate", type=click.IntRange(min=1), default=16_000, show_default=True,
              help="stdin PCM: sample rate in Hz.")
@click.option("--channels", "pcm_channels", type=click.IntRange(min=1), default=1, show_default=True,
              help="stdin PCM: interleaved channels.")
@click.option("--pcm-format", type=click.Choice(["s16le", "s32le", "f32le"]), default="s16le", show_default=True,
              help="stdin PCM: sample format.")
@click.option("--frame-rate", type=float, default=10.0, show_default=True, help="Image folders: frames per second.")
@click.option("--block", "block_seconds", type=float, default=0.01, show_default=True,
              help="Seconds of audio a device or replay delivers at a time.")
@click.option("--stats", "stats_path", type=click.Path(path_type=Path), default=None,
              help="Also write the summary (windows, drops, latency percentiles) as JSON here.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def stream_command(model: str, source: str, also: tuple[tuple[str, str], ...], hop: float, speed: float,
                   out: Path | None, fmt: str | None, force: bool, duration: float | None, every: int,
                   max_fps: float | None, queue_size: int, threads: int, pcm_rate: int, pcm_channels: int,
                   pcm_format: str, frame_rate: float, block_seconds: float, stats_path: Path | None,
                   runs_root: Path) -> None:
    """Encode SOURCE with MODEL while it runs, one puzzle per window as the window completes.

    \b
    MODEL: a run directory, or a compressor id / modality (its latest finished run).
    SOURCE: a sensor (mic, camera; mic:DEVICE), a file to replay, or - (raw PCM on stdin).

    \b
      sage stream audio mic --out talk.jsonl
      sage stream audio talk.wav --speed 10 --format text
      arecord -f S16_LE -r 16000 -c 1 | sage stream audio - --out live.jsonl
      sage stream audio mic --with vision camera --out session/

    Ctrl-C ends the stream cleanly with a summary: windows, drops (windows the encoder
    could not keep up with) and latency from a window's last sample to its puzzle written.
    See docs/streaming.md.
    """
    from sage_core.streaming.api import StreamOptions, open_stream
    from sage_core.streaming.outputs import close_sinks, infer_format, open_sinks, write_all

    if out is not None:  # before any model loads: a stream that cannot be saved should not start
        from sage_core.atomic import check_writable_folder

        check_writable_folder(out if out.is_dir() or out.suffix == "" else out.parent, out)
    options = StreamOptions(hop=hop, speed=speed, every=every, max_fps=max_fps, duration=duration,
                            queue_size=queue_size, pcm_rate=pcm_rate, pcm_channels=pcm_channels,
                            pcm_format=pcm_format, frame_rate=frame_rate, block_seconds=block_seconds,
                            runs_root=runs_root)
    session = open_stream([(model, source), *also], options, registry=get_registry())
    import torch  # loaded by the models by now; sensors were checked before, so a missing device is quick

    torch.set_num_threads(threads)
    fmt = infer_format(out, fmt)
    sinks: dict[str, list[Any]] = {}
    previous: dict[int, Any] = {}
    written: list[Path] = []
    opened = False  # a stream whose outputs were refused reports nothing but the refusal
    try:
        replayed = _replayed_files(source, *(s for _, s in also))
        sinks = open_sinks(session.sources, session.clock, fmt, out, inputs=replayed, force=force)
        opened = True
        previous = _stop_on_signals(session)
        labels = ", ".join(s.label for s in session.sources)
        click.echo(f"stream: {labels} on the {session.clock} clock; Ctrl-C to stop", err=True)
        session.start()
        try:
            write_all(session, sinks)
        except BrokenPipeError:  # stdout closed by the reader (`| head`): stop quietly
            session.stop()
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        session.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        written = close_sinks(sinks)
        if opened:
            _report(session, written, stats_path)


def _replayed_files(*sources: str) -> tuple[Path, ...]:
    """The existing files among SOURCE arguments (``PATH`` or ``SENSOR:PATH``): outputs must never be these."""
    candidates = [Path(part) for source in sources if source != "-" for part in (source, source.partition(":")[2]) if part]
    return tuple(path for path in candidates if path.is_file())


def _sensor_row(spec: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"name": spec.name, "modality": spec.modality, "opens": spec.opens,
                           "plugin": spec.plugin, "summary": spec.summary, "extra": dict(spec.extra)}
    try:
        cls = spec.load()
        reason = cls.unavailable()
        devices = cls.devices() if reason is None else []
    except Exception as exc:  # noqa: BLE001 - one broken sensor must not hide the others
        reason, devices = f"cannot be loaded: {exc!r}", []
    row["available"] = reason is None
    row["problem"] = reason
    row["devices"] = devices
    return row


@click.command("sensors")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def sensors_command(as_json: bool) -> None:
    """List the sensors `sage stream` can read, whether each works here, and the devices it sees."""
    rows = [_sensor_row(spec) for _, spec in sorted(get_registry().sensors.items())]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No sensors installed (plugins register them; see `sage plugins`).")
        return
    from sage_core.cli.tables import print_table

    def status(row: dict) -> str:
        if not row["available"]:
            return f"unavailable: {row['problem']}"
        return "available, no device found" if row["opens"] == "device" and not row["devices"] else "available"

    print_table(("sensor", "modality", "opens", "plugin", "status", "devices"), (
        (row["name"], row["modality"], row["opens"], row["plugin"], status(row), "\n".join(row["devices"]))
        for row in rows))


COMMANDS = [stream_command, sensors_command]
