"""Data plumbing shared by every modality: splits, labels, the bad-data report, the cache.

Loaders never substitute silence or zeros for a sample they cannot read: they record
it with :meth:`DataReport.skip` and move on. The trainer stops with a clear error only
when the skipped fraction exceeds the configured limit.

Samples may carry an integer label (the word spoken, the object pictured): a dataset
exposes them as ``labels`` (``(N,)`` int64, aligned with its samples; ``NO_LABEL`` = -1 for
a sample of no class, such as a sentence among single words) and ``DataSplits`` names the
classes. Training ignores labels; the analyzer's probes read them.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

from sage_core.errors import BadDataError

#: The three splits every data set has, in this order.
SPLITS = ("train", "validation", "test")
#: The label of a sample that belongs to no class (probes leave it out).
NO_LABEL = -1


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
            "skipped_count": len(self.skipped),
            "skipped_samples": self.skipped_samples,
            "bad_fraction": self.bad_fraction,
            "skipped": [s.__dict__ for s in self.skipped],
            "notes": self.notes,
        }


class TensorListDataset(Dataset[Tensor]):
    """Samples held in memory as one stacked tensor ``(N, *input_shape)``, optionally labelled.

    ``names`` say where each sample came from; ``labels`` are ``(N,)`` class indices.
    """

    def __init__(
        self,
        samples: Tensor | Sequence[Tensor],
        names: Sequence[str] | None = None,
        labels: Tensor | Sequence[int] | None = None,
    ) -> None:
        self.samples = samples if isinstance(samples, Tensor) else torch.stack(list(samples))
        self.names = list(names) if names is not None else None
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
        if self.labels is not None and len(self.labels) != len(self.samples):
            raise ValueError(f"{len(self.labels)} labels for {len(self.samples)} samples")

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    def __getitem__(self, index: int) -> Tensor:
        return self.samples[index]


def labels_of(dataset: Dataset[Tensor]) -> Tensor | None:
    """A dataset's ``(N,)`` labels in sample order (through ``Subset``), or None when unlabelled."""
    if isinstance(dataset, Subset):
        inner = labels_of(dataset.dataset)
        return None if inner is None else inner[torch.as_tensor(list(dataset.indices), dtype=torch.long)]
    labels = getattr(dataset, "labels", None)
    return None if labels is None else torch.as_tensor(labels, dtype=torch.int64)


@dataclass
class DataSplits:
    """Train, validation and test datasets of model-input tensors, plus how they were made.

    ``classes`` names the labels (index -> name) when the samples carry labels.
    """

    train: Dataset[Tensor]
    validation: Dataset[Tensor]
    test: Dataset[Tensor]
    report: DataReport
    classes: tuple[str, ...] | None = None

    @classmethod
    def from_datasets(
        cls, datasets: Mapping[str, Dataset[Tensor]], report: DataReport, classes: Sequence[str] | None = None
    ) -> DataSplits:
        """``{split: dataset}`` for all of :data:`SPLITS`, each counted into ``report``."""
        for split in SPLITS:
            report.count(split, len(datasets[split]))  # type: ignore[arg-type]
        return cls(*(datasets[split] for split in SPLITS), report=report,
                   classes=tuple(classes) if classes is not None else None)

    def split(self, name: str) -> Dataset[Tensor]:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        return {name: len(self.split(name)) for name in SPLITS}  # type: ignore[arg-type]


def finite_or_skip(sample: Tensor, path: str | Path, report: DataReport, split: str = "") -> bool:
    """True when ``sample`` is all finite; otherwise record it as skipped."""
    if bool(torch.isfinite(sample).all()):
        return True
    bad = int((~torch.isfinite(sample)).sum())
    report.skip(path, f"{bad} non-finite values (NaN or inf)", split)
    return False


def split_of(key: str, fractions: tuple[float, float] = (0.1, 0.1)) -> str:
    """Stable hash split by a group key (speaker, voice, photo): validation/test/train."""
    p = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10_000 / 10_000
    if p < fractions[0]:
        return "validation"
    if p < fractions[0] + fractions[1]:
        return "test"
    return "train"


def cached_arrays(
    path: Path,
    build: Callable[[], Mapping[str, np.ndarray]],
    report: DataReport | None = None,
    compress: bool = False,
) -> dict[str, np.ndarray]:
    """The arrays cached at ``path`` (``.npz``), or ``build()`` them and cache them atomically.

    A cache that cannot be read (truncated, corrupt, not an npz) is rebuilt, never trusted,
    and the rebuild is noted in ``report``. Loaded with pickle disabled. ``compress`` trades
    write time for disk (worth it for raw audio, not for log-mels).
    """
    from sage_core.atomic import save_atomic

    path = Path(path)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as loaded:
                return {key: loaded[key] for key in loaded.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            if report is not None:
                report.notes.setdefault("rebuilt_caches", []).append(f"{path}: unreadable ({exc}); rebuilt")
    arrays = dict(build())

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            (np.savez_compressed if compress else np.savez)(handle, **arrays)

    save_atomic(path, write)
    return arrays
