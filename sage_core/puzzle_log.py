"""The append-only puzzle log: how a live stream stores its puzzles as it makes them.

A puzzle log is a JSON Lines file (``.jsonl``, UTF-8). Line 1 is a header record::

    {"format": "sage-puzzle-log", "version": 1, "modality": "audio",
     "compressor_id": "audio_puzzle", "compressor_version": "2",
     "rows": "mel band (row 0 = lowest)", "cols": "time", "clock": "unix", "extra": {}}

and every further line is one puzzle::

    {"source": "mic", "window": 17, "start": 1764680000.25, "end": 1764680001.25,
     "codes": "0123...(900 digits, row-major)"}

``codes`` may also be a list of 30 strings of 30 digits (one per grid row). ``start`` and
``end`` are seconds on the header's ``clock`` (``"unix"``: since the Unix epoch;
``"source"``: since the start of the source). Unknown keys are ignored by readers, so a
writer may add fields; a change in the meaning of an existing field bumps ``version``.

Why this shape: a process killed at any instant must lose at most the record it was
writing. Each record is one ``write`` of one complete line followed by a flush (and an
optional fsync), so after a crash only the LAST line can be incomplete. The reader skips
such a torn last line and says so; anything wrong elsewhere is corruption and is refused
with the file and line number.
"""

from __future__ import annotations

import json
import math
import operator
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage_core.errors import InputError

LOG_FORMAT = "sage-puzzle-log"
LOG_VERSION = 1
CLOCKS = ("unix", "source")
GRID_SIZE = 30
_CELLS = GRID_SIZE * GRID_SIZE
_DIGITS = frozenset("0123456789")
_HEADER_TEXT_KEYS = ("modality", "compressor_id", "compressor_version", "rows", "cols")


class TornRecordWarning(UserWarning):
    """A puzzle log ended with an incomplete record (its writer was interrupted); it was skipped."""


@dataclass(frozen=True)
class LogHeader:
    """What every puzzle of one log shares: the model that made them and how to read them."""

    modality: str
    compressor_id: str
    compressor_version: str
    rows: str
    cols: str
    clock: str
    extra: dict[str, Any]

    def to_record(self) -> dict[str, Any]:
        return {
            "format": LOG_FORMAT,
            "version": LOG_VERSION,
            "modality": self.modality,
            "compressor_id": self.compressor_id,
            "compressor_version": self.compressor_version,
            "rows": self.rows,
            "cols": self.cols,
            "clock": self.clock,
            "extra": self.extra,
        }

    @classmethod
    def from_meta(cls, meta: Any, clock: str | None = None) -> LogHeader:
        """The header for puzzles described by a :class:`~sage_core.puzzle.PuzzleMeta`."""
        return cls(
            modality=meta.modality,
            compressor_id=meta.compressor_id,
            compressor_version=str(meta.compressor_version),
            rows=meta.rows,
            cols=meta.cols,
            clock=clock or meta.clock or "unix",
            extra=dict(meta.extra),
        )


@dataclass(frozen=True)
class LogRecord:
    """One puzzle of a log: ``codes`` is (30, 30) uint8; ``start``/``end`` in seconds."""

    source: str
    window: int
    start: float
    end: float
    codes: Any


# ---------------------------------------------------------------- parsing


def _parse_header(data: Any, where: str) -> LogHeader:
    if not isinstance(data, dict) or data.get("format") != LOG_FORMAT:
        raise InputError(where, f'not a puzzle log: the first line must be a header with "format": "{LOG_FORMAT}"')
    version = data.get("version")
    if version != LOG_VERSION:
        raise InputError(where, f"puzzle log version {version!r} is not supported (this sage reads version {LOG_VERSION})")
    for key in _HEADER_TEXT_KEYS:
        if not isinstance(data.get(key), str):
            raise InputError(where, f'header field "{key}" must be a string')
    if not data["modality"] or not data["compressor_id"]:
        raise InputError(where, 'header fields "modality" and "compressor_id" must not be empty')
    if data.get("clock") not in CLOCKS:
        raise InputError(where, f'header field "clock" must be one of {", ".join(CLOCKS)}, got {data.get("clock")!r}')
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise InputError(where, 'header field "extra" must be an object')
    return LogHeader(*(data[key] for key in _HEADER_TEXT_KEYS), clock=data["clock"], extra=extra)


def _parse_codes(value: Any, where: str) -> Any:
    import numpy as np

    if isinstance(value, list):
        if len(value) != GRID_SIZE or not all(isinstance(row, str) and len(row) == GRID_SIZE for row in value):
            raise InputError(where, '"codes" as a list must hold 30 strings of 30 digits')
        value = "".join(value)
    if not isinstance(value, str) or len(value) != _CELLS:
        raise InputError(where, '"codes" must be a string of 900 digits 0-9 (or a list of 30 strings of 30 digits)')
    if not set(value) <= _DIGITS:
        raise InputError(where, '"codes" may hold only the digits 0-9')
    return (np.frombuffer(value.encode("ascii"), dtype=np.uint8) - ord("0")).reshape(GRID_SIZE, GRID_SIZE)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_record(data: Any, where: str) -> LogRecord:
    if not isinstance(data, dict):
        raise InputError(where, "a puzzle record must be a JSON object")
    missing = [key for key in ("source", "window", "start", "end", "codes") if key not in data]
    if missing:
        raise InputError(where, f"puzzle record lacks {', '.join(missing)}")
    source, window, start, end = data["source"], data["window"], data["start"], data["end"]
    if not isinstance(source, str) or not source:
        raise InputError(where, '"source" must be a non-empty string')
    if not isinstance(window, int) or isinstance(window, bool) or window < 0:
        raise InputError(where, '"window" must be an integer >= 0')
    if not (_is_number(start) and _is_number(end)) or end < start:
        raise InputError(where, '"start" and "end" must be finite numbers of seconds with end >= start')
    return LogRecord(source, window, float(start), float(end), _parse_codes(data["codes"], where))


@dataclass(frozen=True)
class PuzzleLog:
    """A parsed log: its header, its records in file order, and the torn last line if any."""

    path: Path
    header: LogHeader
    records: tuple[LogRecord, ...]
    torn_line: int | None

    def to_puzzle(self) -> Any:
        """All records as one :class:`~sage_core.puzzle.Puzzle` (sources ``SOURCE#WINDOW``, times, clock)."""
        import numpy as np

        from sage_core.puzzle import Puzzle, PuzzleMeta

        if not self.records:
            raise InputError(self.path, "the puzzle log holds no puzzles")
        header = self.header
        meta = PuzzleMeta(
            modality=header.modality,
            compressor_id=header.compressor_id,
            compressor_version=header.compressor_version,
            rows=header.rows,
            cols=header.cols,
            sources=tuple(f"{r.source}#{r.window}" for r in self.records),
            times=tuple((r.start, r.end) for r in self.records),
            clock=header.clock,
            extra=dict(header.extra),
        )
        return Puzzle(np.stack([r.codes for r in self.records]), meta)


def read_puzzle_log(path: str | Path) -> PuzzleLog:
    """Parse a puzzle log; skip a torn last line (see ``torn_line``), refuse anything else wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last complete record
    if not lines:
        raise InputError(path, "empty file: not a puzzle log")

    def parse(index: int) -> Any:
        where = f"{path}: line {index + 1}"
        raw = lines[index]
        if not raw.strip():
            raise InputError(where, "empty line")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(where, f"not valid JSON ({exc})") from None
        except RecursionError:  # deeper than Python's stack: no record is
            raise InputError(where, "not valid JSON (nested too deeply)") from None

    last = len(lines) - 1
    torn_line: int | None = None
    parsed: list[Any] = []
    for index in range(len(lines)):
        try:
            parsed.append((index, parse(index)))
        except InputError:
            if index != last:
                raise
            torn_line = index + 1
    if not parsed:
        raise InputError(path, "line 1: the header is incomplete (its writer was interrupted); the log holds no puzzles")
    header = _parse_header(parsed[0][1], f"{path}: line 1")
    records: list[LogRecord] = []
    for index, item in parsed[1:]:
        records.append(_parse_record(item, f"{path}: line {index + 1}"))
    return PuzzleLog(path, header, tuple(records), torn_line)


def torn_line_message(log: PuzzleLog) -> str:
    return (
        f"{log.path}: line {log.torn_line} is an incomplete record (its writer was interrupted); "
        f"skipped it, read {len(log.records)} puzzle(s)"
    )


def load_puzzles(path: str | Path, report: Callable[[str], None] | None = None) -> Any:
    """A :class:`~sage_core.puzzle.Puzzle` from a ``.npz`` puzzle file or a ``.jsonl`` puzzle log.

    A torn last line of a log is skipped and reported through ``report`` (default: a
    :class:`TornRecordWarning`), so every command that takes puzzles takes either file.
    """
    from sage_core.puzzle import Puzzle

    path = Path(path)
    if _looks_like_log(path):
        log = read_puzzle_log(path)
        if log.torn_line is not None:
            message = torn_line_message(log)
            if report is None:
                warnings.warn(message, TornRecordWarning, stacklevel=2)
            else:
                report(message)
        return log.to_puzzle()
    return Puzzle.load(path)


def _looks_like_log(path: Path) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return True
    if path.suffix.lower() == ".npz":
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(1) == b"{"
    except OSError:
        return False


# ---------------------------------------------------------------- writing


_HEADER_PREFIX = b'{"format":"%s",' % LOG_FORMAT.encode()


def _is_complete_record(line: bytes) -> bool:
    try:
        _parse_record(json.loads(line.decode("utf-8")), "record")
    except (UnicodeDecodeError, json.JSONDecodeError, InputError):
        return False
    return True


def _encode_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


class PuzzleLogWriter:
    """Appends puzzles to a log, one complete line per ``write``, flushed at once.

    Opening an existing log checks that its header matches (same compressor, version and
    clock) and cuts off a torn last line left by an interrupted writer (``repaired_bytes``
    says how many bytes), so appending never turns a torn tail into corruption mid-file.
    Only one writer may hold a log at a time (an exclusive ``flock``).
    """

    def __init__(self, path: str | Path, header: LogHeader, fsync: bool = False) -> None:
        import fcntl

        self.path = Path(path)
        self.header = header
        self.fsync = fsync
        self.repaired_bytes = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError(self.path, "another process is writing this puzzle log") from None
            if os.fstat(self._fd).st_size == 0:
                self._write(_encode_line(header.to_record()), sync=True)
            else:
                self._adopt_existing()
        except BaseException:
            os.close(self._fd)
            raise

    def _adopt_existing(self) -> None:
        size = os.fstat(self._fd).st_size
        with open(self.path, "rb") as handle:
            content = handle.read(size)
        if b"\n" not in content and _HEADER_PREFIX.startswith(content.rstrip(b"\x00")):
            # Only the start of a header: a writer was interrupted before its first record.
            os.ftruncate(self._fd, 0)
            self.repaired_bytes = size
            self._write(_encode_line(self.header.to_record()), sync=True)
            return
        first_line = content.split(b"\n", 1)[0]
        try:
            existing = _parse_header(json.loads(first_line.decode("utf-8")), f"{self.path}: line 1")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(self.path, "line 1: not a puzzle log header; refusing to append") from None
        mine = self.header
        if (existing.compressor_id, existing.compressor_version, existing.clock) != (
            mine.compressor_id,
            mine.compressor_version,
            mine.clock,
        ):
            raise InputError(
                self.path,
                f"holds puzzles of {existing.compressor_id} v{existing.compressor_version} on the "
                f"{existing.clock} clock; refusing to append puzzles of {mine.compressor_id} "
                f"v{mine.compressor_version} on the {mine.clock} clock",
            )
        end = content.rfind(b"\n") + 1
        if end == size:
            return
        tail = content[end:]
        if tail == first_line or _is_complete_record(tail):
            self._write(b"\n", sync=True)  # a complete last line that only lacks its newline
            return
        # A torn record: the reader would skip it, and appending after it would bury it mid-file.
        os.ftruncate(self._fd, end)
        os.fsync(self._fd)
        self.repaired_bytes = size - end

    def _write(self, data: bytes, sync: bool) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if sync:
            os.fsync(self._fd)

    def append(self, source: str, window: int, start: float, end: float, codes: Any) -> None:
        """Append one puzzle: ``codes`` (30, 30) ints 0-9, ``start``/``end`` seconds on the clock."""
        import numpy as np

        from sage_core.puzzle import validate_codes

        grid = validate_codes(codes, where=f"{self.path}: puzzle {source}#{window}")
        if grid.ndim != 2:
            raise InputError(self.path, f"append takes one (30, 30) grid, got {tuple(grid.shape)}")
        window, start, end = operator.index(window), float(start), float(end)
        text = (grid.reshape(-1) + ord("0")).astype(np.uint8).tobytes().decode("ascii")
        line = {"source": source, "window": window, "start": start, "end": end, "codes": text}
        # The reader's own rules: never write a record that could not be read back.
        _parse_record(line, f"{self.path}: puzzle {source}#{window}")
        self._write(_encode_line(line), sync=self.fsync)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> PuzzleLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
