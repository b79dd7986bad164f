"""What a person watching training sees: a live bar on a terminal, plain lines elsewhere.

``bar`` (a TTY): one rich progress bar with step, loss, code perplexity, samples/s and
ETA. ``log`` (CI, ``nohup``, a pipe): one plain line every ``train.log_every_s``
seconds, the same figures as ``metrics.jsonl``. ``off``: silent (ranks other than 0).
"""

from __future__ import annotations

import sys
from typing import Any, Literal

ProgressMode = Literal["bar", "log", "off"]


def default_mode() -> ProgressMode:
    return "bar" if sys.stdout.isatty() else "log"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class TrainingProgress:
    """Shows progress; the trainer calls ``advance`` every step and ``record`` per log line."""

    def __init__(self, mode: ProgressMode, total_steps: int, start_step: int = 0) -> None:
        self.mode = mode
        self.total_steps = total_steps
        self._bar: Any = None
        if mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[figures]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(force_terminal=True),
            )
            self._task = self._bar.add_task("train", total=total_steps, completed=start_step, figures="")
            self._bar.start()

    def advance(self, step: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step)

    def record(self, record: dict[str, Any], eta_s: float | None) -> None:
        """A training metrics line (the ``metrics.jsonl`` record) just written."""
        figures = (
            f"loss {record['loss']:.4g}  ppl {record['perplexity']:.2f}  "
            f"{record['samples_per_s']:.0f} samples/s"
        )
        if self._bar is not None:
            self._bar.update(self._task, figures=figures)
        elif self.mode == "log":
            eta = f"  eta {_duration(eta_s)}" if eta_s is not None else ""
            print(
                f"step {record['step']}/{self.total_steps}  epoch {record['epoch']:.2f}  {figures}  "
                f"lr {record['lr']:.3g}{eta}",
                flush=True,
            )

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        elif self.mode == "log":
            print(text, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
