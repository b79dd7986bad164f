"""Where a stream's puzzles go, one at a time, in forms that survive an interruption.

- ``jsonl``: the append-only puzzle log (``sage_core.puzzle_log``): a header line, then one
  complete line per puzzle, flushed as it is written; a killed stream loses at most the line
  it was writing, and readers skip such a torn last line.
- ``text``: digits, one block per puzzle under a ``# SOURCE#INDEX START-END`` line, to
  stdout (and appended to a file when one is given).
- ``npz``: the puzzle log while running (``OUT`` with suffix ``.jsonl``, the copy that
  survives a kill), and at the end the stream's puzzles as one ``.npz`` written atomically.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.puzzle import Puzzle
    from sage_core.streaming.engine import StreamItem, StreamSource

FORMATS = ("text", "jsonl", "npz")
_SUFFIX = {"text": ".txt", "jsonl": ".jsonl", "npz": ".npz"}


class PuzzleSink(Protocol):
    def write(self, item: StreamItem) -> None: ...

    def close(self) -> list[Path]:
        """Finish and return the files written."""


def header_line(puzzle: Puzzle) -> str:
    """``# SOURCE#INDEX START-END`` (seconds on the puzzle's clock, to the millisecond)."""
    start, end = puzzle.meta.times[0]
    return f"# {puzzle.meta.sources[0]} {start:.3f}-{end:.3f}"


class TextSink:
    """Each puzzle as digits under its header line, flushed at once (so ``| head`` and ``tail -f`` work)."""

    def __init__(self, stream: TextIO | None = None, path: Path | None = None) -> None:
        self.stream = stream
        self.path = path
        self._file = open(path, "a", encoding="utf-8") if path is not None else None  # noqa: SIM115

    def write(self, item: StreamItem) -> None:
        text = f"{header_line(item.puzzle)}\n{item.puzzle.to_text()}\n\n"
        for target in (self.stream, self._file):
            if target is not None:
                target.write(text)
                target.flush()

    def close(self) -> list[Path]:
        if self._file is not None:
            self._file.close()
            self._file = None
        return [self.path] if self.path is not None else []


class LogSink:
    """The puzzle log of one source: header at open, one line per puzzle."""

    def __init__(self, path: Path, source: StreamSource, clock: str) -> None:
        from sage_core.puzzle_log import LogHeader, PuzzleLogWriter

        meta = source.compressor.puzzle_meta()
        self.path = path
        self._writer = PuzzleLogWriter(path, LogHeader.from_meta(meta, clock=clock))

    def write(self, item: StreamItem) -> None:
        puzzle = item.puzzle
        start, end = puzzle.meta.times[0]
        self._writer.append(item.source.label, item.window.index, start, end, puzzle.codes[0])

    def close(self) -> list[Path]:
        self._writer.close()
        return [self.path]


class NpzSink:
    """The puzzle log while running, then one ``.npz`` of this stream's puzzles written atomically.

    The codes are kept in memory until the end (about 1 KB per puzzle with its metadata); for
    streams of days, use the log alone.
    """

    def __init__(self, path: Path, source: StreamSource, clock: str) -> None:
        self.path = path
        self._log = LogSink(path.with_suffix(".jsonl"), source, clock)
        self._puzzles: list[Puzzle] = []

    def write(self, item: StreamItem) -> None:
        self._log.write(item)
        self._puzzles.append(item.puzzle)

    def close(self) -> list[Path]:
        from sage_core.puzzle import concatenate

        written = self._log.close()
        if self._puzzles:
            concatenate(self._puzzles).save(self.path)
            written.insert(0, self.path)
        return written


def infer_format(out: Path | None, fmt: str | None) -> str:
    """``--format`` if given, else from ``--out``'s suffix (.npz, .txt; otherwise jsonl), else text."""
    if fmt is not None:
        return fmt
    if out is None:
        return "text"
    return {".npz": "npz", ".txt": "text"}.get(out.suffix.lower(), "jsonl")


def slug(label: str) -> str:
    """A file name for a source label: a path's stem, ``mic``, ``mic_2``, ``stdin``."""
    name = Path(label).stem if ("/" in label or "." in label) else label
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "source"


def output_paths(out: Path | None, fmt: str, labels: list[str]) -> list[Path | None]:
    """One output path per source: ``--out FILE`` for one source, ``--out DIR/SLUG.EXT`` otherwise."""
    from sage_core.errors import SageError

    if out is None:
        if fmt != "text":
            raise SageError(f"--format {fmt} writes files: give --out FILE (one source) or --out DIR")
        return [None] * len(labels)
    as_directory = out.is_dir() or str(out).endswith(("/", "\\")) or len(labels) > 1 or out.suffix == ""
    if not as_directory:
        return [out]
    if out.exists() and not out.is_dir():
        raise SageError(f"{out}: several sources write one file each into a directory; this is a file")
    names: list[str] = []
    for label in labels:
        name = slug(label)
        while name in names:
            name += "_"
        names.append(name)
    return [out / f"{name}{_SUFFIX[fmt]}" for name in names]


def open_sinks(sources: list[StreamSource], clock: str, fmt: str, out: Path | None, stdout: TextIO | None = None,
               inputs: tuple[Path, ...] = (), force: bool = False) -> dict[str, list[Any]]:
    """The sinks of each source (by label), created in order; on failure the opened ones are closed.

    ``inputs`` (the files being replayed) are never written: an output naming one is refused.
    Logs and text files are appended to; an existing ``.npz``, which the stream would replace,
    only with ``force``.
    """
    from sage_core.atomic import check_writable_folder
    from sage_core.errors import InputError, SageError

    if fmt not in FORMATS:
        raise SageError(f"unknown --format {fmt!r} (choose from {', '.join(FORMATS)})")
    paths = output_paths(out, fmt, [source.label for source in sources])
    for path in paths:
        if path is None:
            continue
        for written in (path, path.with_suffix(".jsonl")) if fmt == "npz" else (path,):
            if any(_same_file(written, source) for source in inputs):
                raise InputError(written, "is the file being streamed; choose another --out (inputs are never overwritten)")
        if fmt == "npz" and path.exists() and not force:
            raise InputError(path, "already exists; pass --force to replace it at the end of the stream")
        check_writable_folder(path.parent, path)
        path.parent.mkdir(parents=True, exist_ok=True)
    sinks: dict[str, list[Any]] = {}
    try:
        for source, path in zip(sources, paths):
            if fmt == "text":
                sinks[source.label] = [TextSink(stdout if stdout is not None else sys.stdout, path)]
            elif fmt == "jsonl":
                assert path is not None
                sinks[source.label] = [LogSink(path, source, clock)]
            else:
                assert path is not None
                sinks[source.label] = [NpzSink(path, source, clock)]
    except BaseException:
        close_sinks(sinks)
        raise
    return sinks


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def write_all(session: Any, sinks: dict[str, list[Any]]) -> None:
    """Encode the session's windows as they come and write each puzzle; latency is taken after the write."""
    for item in session:
        for sink in sinks[item.source.label]:
            sink.write(item)
        session.record_latency(item)


def close_sinks(sinks: dict[str, list[Any]]) -> list[Path]:
    written: list[Path] = []
    for group in sinks.values():
        for sink in group:
            written += sink.close()
    return written
