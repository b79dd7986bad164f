"""Data plumbing shared by every modality: splits, the bad-data report, the cache folder.

Loaders never substitute silence or zeros for a sample they cannot read: they record
it with :meth:`DataReport.skip` and move on. The trainer stops with a clear error only
when the skipped fraction exceeds the configured limit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from sage_core.errors import BadDataError


def cache_dir() -> Path:
    """Where generated data is cached: ``$SAGE_CACHE_DIR``, else the user cache folder."""
    env = os.environ.get("SAGE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("sage"))


@dataclass
class SkippedSample:
    """Something left out: a file, or a part of one, holding ``samples`` samples."""

    path: str
    reason: str
    split: str = ""
    samples: int = 1


@dataclass
class DataReport:
    """What a loader read and what it had to leave out, with paths and reasons."""

    source: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedSample] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def skip(self, path: str | Path, reason: str, split: str = "", samples: int = 1) -> None:
        """Record ``path`` as left out. A file that holds many samples (a CIFAR batch) passes
        how many it should have held, so the bad fraction counts samples, not files."""
        self.skipped.append(SkippedSample(str(path), reason, split, samples))

    def count(self, split: str, n: int) -> None:
        self.counts[split] = self.counts.get(split, 0) + n

    @property
    def total_read(self) -> int:
        return sum(self.counts.values())

    @property
    def skipped_samples(self) -> int:
        return sum(s.samples for s in self.skipped)

    @property
    def bad_fraction(self) -> float:
        total = self.total_read + self.skipped_samples
        return self.skipped_samples / total if total else 0.0

    def check(self, limit: float) -> None:
        """Raise when more than ``limit`` of the samples were unreadable or invalid."""
        if self.bad_fraction > limit:
            examples = "; ".join(f"{s.path}: {s.reason}" for s in self.skipped[:5])
            raise BadDataError(
                f"{self.skipped_samples} of {self.total_read + self.skipped_samples} samples "
                f"({self.bad_fraction:.1%}) are unreadable or invalid, above the limit "
                f"{limit:.1%} (train.bad_data_limit). First: {examples}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "counts": dict(self.counts),
            "skipped_count": self.skipped_samples,
            "bad_fraction": self.bad_fraction,
            "skipped": [s.__dict__ for s in self.skipped],
            "notes": self.notes,
        }


class TensorListDataset(Dataset[Tensor]):
    """Samples held in memory as one stacked tensor ``(N, *input_shape)``."""

    def __init__(self, samples: Tensor | Sequence[Tensor], names: Sequence[str] | None = None) -> None:
        self.samples = samples if isinstance(samples, Tensor) else torch.stack(list(samples))
        self.names = list(names) if names is not None else None

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    def __getitem__(self, index: int) -> Tensor:
        return self.samples[index]


@dataclass
class DataSplits:
    """Train, validation and test datasets of model-input tensors, plus how they were made."""

    train: Dataset[Tensor]
    validation: Dataset[Tensor]
    test: Dataset[Tensor]
    report: DataReport

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("train", "validation", "test")}  # type: ignore[arg-type]


def finite_or_skip(sample: Tensor, path: str | Path, report: DataReport, split: str = "") -> bool:
    """True when ``sample`` is all finite; otherwise record it as skipped."""
    if bool(torch.isfinite(sample).all()):
        return True
    bad = int((~torch.isfinite(sample)).sum())
    report.skip(path, f"{bad} non-finite values (NaN or inf)", split)
    return False


def split_of(key: str, fractions: tuple[float, float] = (0.1, 0.1)) -> str:
    """Stable hash split by a group key (speaker, voice, photo): validation/test/train."""
    import hashlib

    p = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10_000 / 10_000
    if p < fractions[0]:
        return "validation"
    if p < fractions[0] + fractions[1]:
        return "test"
    return "train"

