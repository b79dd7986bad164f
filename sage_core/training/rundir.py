"""The run directory: its layout, its lock, and its metrics log.

```
runs/<id>/<UTC timestamp>/
  config.json        what was trained and how (the resolved config)
  data_report.json   what the loader read and skipped, with paths and reasons
  metrics.jsonl      one line per logging step, plus validation lines
  checkpoints/       step-NNNNNNNN.safetensors + .state.pt, pointers last / best
  summary.json       status and final figures, written when training ends
  .lock              held (fcntl.flock) by the process training into the folder
```
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sage_core.atomic import write_text_atomic
from sage_core.errors import RunDirectoryBusyError

LOCK_FILE = ".lock"


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


class RunLock:
    """An exclusive ``flock`` on ``RUN_DIR/.lock`` while a process trains into it.

    The kernel drops the lock when its process dies, so a run killed by SIGKILL never
    leaves a lock that blocks ``--resume``.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
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

    On resume, lines logged after the checkpoint being resumed are dropped: the resumed
    run logs those steps again.
    """

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.lines: list[str] = []
        if resume_step is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and int(record.get("step", 0)) <= resume_step:
                    self.lines.append(line)
        self._write()

    def append(self, record: dict[str, Any]) -> None:
        self.lines.append(json.dumps(record, sort_keys=True))
        self._write()

    def _write(self) -> None:
        write_text_atomic(self.path, "".join(line + "\n" for line in self.lines))
