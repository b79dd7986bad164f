"""The run directory: its layout (every file name, once), its typed files, its lock and its log.

```
runs/<id>/<UTC timestamp>/
  config.json        what was trained and how (RunConfig)
  data_report.json   what the loader read and skipped, with paths and reasons
  metrics.jsonl      one line per logging step, plus validation lines
  checkpoints/       step-NNNNNNNN.safetensors + .state.pt, pointers last / best
  summary.json       status and final figures, written when training ends (RunSummary)
  evaluation.json    the analyzer's measurements (Evaluation), figures/ beside it
  .lock              held (fcntl.flock) by the process training into the folder
```

Torch-free, so ``sage compare`` reads runs without paying for torch.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

from sage_core.atomic import write_json_atomic, write_text_atomic
from sage_core.errors import RunDirectoryBusyError, SageError
from sage_core.run_files import Evaluation, RunConfig, RunSummary

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
EVALUATION_FILE = "evaluation.json"
DATA_REPORT_FILE = "data_report.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINTS_DIR = "checkpoints"
FIGURES_DIR = "figures"
LOCK_FILE = ".lock"
#: In a run a plugin ships inside its package: how it was made (command, seed, commit, ...).
SHIPPED_FILE = "shipped.json"

ModelT = TypeVar("ModelT", bound=BaseModel)
#: The name ``sage_core.atomic`` gives a file being written: ``.NAME.XXXXXXXX.tmp``.
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or a ``SageError`` naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SageError(f"{path}: not found") from None
    except (OSError, ValueError, RecursionError) as exc:  # also not UTF-8, or nested deeper than Python's stack
        raise SageError(f"{path}: unreadable ({' '.join(str(exc).split()) or type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise SageError(f"{path}: expected a JSON object")
    return data


def read_model(path: Path, model: type[ModelT]) -> ModelT:
    """``path`` parsed as ``model``; a malformed file is one ``SageError`` line naming it."""
    data = read_json(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:3]
        )
        raise SageError(f"{path}: not a valid {path.name} ({problems})") from None


#: What a checkpoint pointer (``checkpoints/last``, ``checkpoints/best``) may hold.
CHECKPOINT_NAME = re.compile(r"^step-\d{8,}$")


def read_pointer(pointer: Path) -> str | None:
    """The checkpoint name in a pointer file, or None when there is no pointer.

    Anything but ``step-NNNNNNNN`` is refused naming the file: a pointer is one name in its
    own folder, never a path that leads elsewhere.
    """
    if not pointer.is_file():
        return None
    try:
        with open(pointer, "rb") as handle:
            text = handle.read(64).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None or not CHECKPOINT_NAME.match(text):
        raise SageError(f"{pointer}: not a checkpoint pointer (it should hold one name like step-00000123); "
                        "it is damaged: restore the run from a copy")
    return text


def utc_stamp(now: datetime | None = None) -> str:
    """``20261124T013000Z``: sortable, and safe in a file name on every system."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def default_run_dir(compressor_id: str, root: Path = Path("runs")) -> Path:
    """``runs/<id>/<timestamp>``, with a suffix when two runs start in the same second."""
    base = root / compressor_id / utc_stamp()
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


class RunDirectory:
    """One run's folder: where each file is, and its files read and written through their models."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # --- where things are ---------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def evaluation_path(self) -> Path:
        return self.path / EVALUATION_FILE

    @property
    def data_report_path(self) -> Path:
        return self.path / DATA_REPORT_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS_DIR

    @property
    def figures(self) -> Path:
        return self.path / FIGURES_DIR

    @property
    def shipped_path(self) -> Path:
        return self.path / SHIPPED_FILE

    def is_run(self) -> bool:
        return self.config_path.is_file()

    def shipped(self) -> dict[str, Any] | None:
        """How a shipped run was made (``shipped.json``), or None for a user's own run."""
        return read_json(self.shipped_path) if self.shipped_path.is_file() else None

    # --- reading ------------------------------------------------------------------------

    def config(self) -> RunConfig:
        """``config.json``; a clear error when the folder is not a run."""
        if not self.is_run():
            raise SageError(f"{self.path}: not a run directory (no {CONFIG_FILE}); train one with `sage train ID`")
        return read_model(self.config_path, RunConfig)

    def summary(self) -> RunSummary | None:
        """``summary.json``, or None while training has not ended."""
        return read_model(self.summary_path, RunSummary) if self.summary_path.is_file() else None

    def status(self) -> str | None:
        """The summary's status, or None while unfinished (or when summary.json is unreadable)."""
        try:
            summary = self.summary()
        except SageError:
            return None
        return summary.status if summary else None

    @property
    def finished(self) -> bool:
        summary = None
        try:
            summary = self.summary()
        except SageError:
            pass
        return bool(summary and summary.finished)

    def evaluation(self) -> Evaluation | None:
        """``evaluation.json``, or None before the run was evaluated."""
        return read_model(self.evaluation_path, Evaluation) if self.evaluation_path.is_file() else None

    def data_report(self) -> dict[str, Any]:
        return read_json(self.data_report_path) if self.data_report_path.is_file() else {}

    def metrics(self) -> list[dict[str, Any]]:
        """``metrics.jsonl`` records; lines that are not JSON objects are left out."""
        return read_metrics_lines(self.metrics_path)[0]

    # --- writing (atomic) ------------------------------------------------------------------

    def write_config(self, config: RunConfig) -> None:
        write_json_atomic(self.config_path, config.model_dump(mode="json"))

    def write_summary(self, summary: RunSummary) -> None:
        write_json_atomic(self.summary_path, summary.model_dump(mode="json", exclude_none=False))

    def write_evaluation(self, evaluation: Evaluation) -> None:
        write_json_atomic(self.evaluation_path, evaluation.model_dump(mode="json"))

    def write_data_report(self, report: dict[str, Any]) -> None:
        write_json_atomic(self.data_report_path, report)

    def lock(self) -> RunLock:
        return RunLock(self.path)

    def remove_temporary_files(self) -> list[Path]:
        """Delete what atomic writes killed half way left (``.NAME.XXXXXXXX.tmp``); call holding the lock."""
        removed = []
        for folder in (self.path, self.checkpoints):
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if _TEMPORARY.match(path.name) and path.is_file() and not path.is_symlink():
                    path.unlink(missing_ok=True)
                    removed.append(path)
        return removed


def read_metrics_lines(path: Path) -> tuple[list[dict[str, Any]], list[int]]:
    """Records of a ``metrics.jsonl`` and the numbers of lines that are not valid records."""
    if not path.is_file():
        return [], []
    rows, bad = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad.append(number)
            continue
        if isinstance(row, dict) and isinstance(row.get("step", 0), int):
            rows.append(row)
        else:
            bad.append(number)
    return rows, bad


class RunLock:
    """An exclusive ``flock`` on ``RUN_DIR/.lock`` while a process trains into it.

    The kernel drops the lock when its process dies, so a run killed by SIGKILL never
    leaves a lock that blocks ``--resume``.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise SageError(f"{self.path.parent}: cannot train here ({exc.strerror or exc}); "
                            "choose another --out, or copy the run somewhere writable") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunDirectoryBusyError(
                f"{self.path.parent} is in use by another `sage train` ({holder}); "
                "wait for it to finish or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class MetricsLog:
    """``metrics.jsonl``, rewritten atomically on every append so no line is ever torn.

    On resume, lines logged after the checkpoint being resumed are dropped (the resumed
    run logs those steps again), and lines that are not valid records are dropped with a
    note in ``dropped_lines``: one damaged line must not block a resume for good.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.lines: list[str] = []
        self.dropped_lines: list[int] = []
        if resume_step is not None:
            rows, self.dropped_lines = read_metrics_lines(self.path)
            self.lines = [json.dumps(row, sort_keys=True) for row in rows if row.get("step", 0) <= resume_step]
        self._write()

    def append(self, record: dict[str, Any]) -> None:
        self.lines.append(json.dumps(record, sort_keys=True))
        self._write()

    def _write(self) -> None:
        write_text_atomic(self.path, "".join(line + "\n" for line in self.lines))
