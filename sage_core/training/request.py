"""``TrainingRequest``: what a user asked to train, and how; every option written here once.

The CLI builds its ``sage train`` options from these fields (flag, help text and type come
from each field), so an option is declared in one place and reaches the planner unchanged.
Callers in Python build the same object: ``train(TrainingRequest("audio_puzzle", max_steps=100))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


def option(*flags: str, help: str, **extra: Any) -> dict[str, Any]:  # noqa: A002 - click's own word
    """Field metadata: how the field appears on the command line (``flags``, ``help``, click extras)."""
    return {"cli": {"flags": flags, "help": help, **extra}}


@dataclass(frozen=True)
class TrainingRequest:
    """One training run as asked for. ``None`` means "the config's value" (or "not set")."""

    compressor: str | None = None
    config_path: Path | None = field(default=None, metadata=option(
        "--config", help="TOML file of config values.", metavar="FILE.toml"))
    overrides: tuple[str, ...] = field(default=(), metadata=option(
        "-o", "--override", help="Set one config value, e.g. -o train.lr=3e-4 (repeatable; wins over --config).",
        metavar="KEY=VALUE"))
    data_path: Path | None = field(default=None, metadata=option(
        "--data", help="Your data (default: the embedded data set).", metavar="PATH"))
    source: str | None = field(default=None, metadata=option(
        "--source", help="A registered data source to read --data with (see `sage plugins`)."))
    out: Path | None = field(default=None, metadata=option(
        "--out", help="Run directory [default: runs/ID/UTC-TIMESTAMP].", metavar="DIR"))
    seed: int = field(default=0, metadata=option(
        "--seed", help="Seeds the initial weights and the shuffling (a resumed run keeps its own)."))
    epochs: int | None = field(default=None, metadata=option(
        "--epochs", help="Passes over the training split (train.epochs)."))
    max_steps: int | None = field(default=None, metadata=option(
        "--max-steps", help="Stop cleanly after this many steps (train.max_steps)."))
    max_minutes: float | None = field(default=None, metadata=option(
        "--max-minutes", help="Also stop cleanly after this wall time (train.max_minutes); the result then "
        "depends on the machine's speed."))
    threads: int | None = field(default=None, metadata=option(
        "--threads", help="Torch CPU threads per process (train.threads); same threads + seed = same weights."))
    device: Literal["cpu", "cuda", "auto"] = field(default="auto", metadata=option(
        "--device", help="Where to train; auto = a GPU when torch sees one."))
    resume: Path | None = field(default=None, metadata=option(
        "--resume", help="Continue this run directory from its last checkpoint.", metavar="RUN_DIR"))
    nproc: int = field(default=1, metadata=option(
        "--nproc", help="Data-parallel processes on this machine."))
    progress: Literal["bar", "log", "off"] | None = field(default=None, metadata=option(
        "--progress", help="How to show progress [default: bar on a terminal, else log]."))

    def limit_overrides(self) -> list[str]:
        """The limit options as ``train.*`` overrides (they win over config files and ``-o``)."""
        import json

        limits = {"train.epochs": self.epochs, "train.max_steps": self.max_steps,
                  "train.max_minutes": self.max_minutes, "train.threads": self.threads}
        return [f"{key}={json.dumps(value)}" for key, value in limits.items() if value is not None]
