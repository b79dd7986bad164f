"""Probes: can a small classifier still tell the class (the word, the digit) from a puzzle?

A puzzle exists so that a downstream reasoner can work on it; reconstruction error does not
say whether what the reasoner needs survived. The probes answer that for labelled data:
the same two small classifiers (``probe_models``: linear and convolutional, one fixed
recipe) are trained on the *train* split and scored on the held-out split, on four inputs:

- ``trained``: the run's puzzles, as one-hot codes ``(10, 30, 30)``;
- ``untrained``: the puzzles of the model training started from (same seed);
- ``baseline``: the puzzles of the modality's non-learned ``baseline_codec``;
- ``input``: the continuous model input as ``Modality.probe_features`` gives it (by default
  pooled to 30x30 with every channel), standardised per channel: the ceiling.

Chance is the share of the most common class among the held-out samples. Samples of no
class (``NO_LABEL``, e.g. sentence windows among single words) are left out of both splits.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from sage_core.analysis.probe_cache import (
    cached_fit,
    probe_cache_folder,
    read_train_digests,
    train_inputs_key,
    write_train_digests,
)
from sage_core.analysis.probe_models import PROBE_KINDS, DeferredProbeInput, ProbeInput, ProbeRecipe
from sage_core.contract import PuzzleCompressor
from sage_core.data import labels_of
from sage_core.errors import InputError, SageError
from sage_core.modality import Modality
from sage_core.run_files import PROBE_INPUTS, ProbeInputResult, Probes, ProbeScore

INPUT_DESCRIPTIONS = {
    "trained": "the trained model's puzzles, one-hot (10 x 30 x 30)",
    "untrained": "the untrained model's puzzles (same seed), one-hot (10 x 30 x 30)",
    "baseline": "the baseline codec's puzzles, one-hot (10 x 30 x 30)",
    "input": "the continuous model input, Modality.probe_features (default: pooled to C x 30 x 30), "
             "standardised per channel: the ceiling",
}


@dataclass
class ProbeInputs:
    """The four probe inputs of one set of samples, gathered batch by batch.

    ``add_codes(kind, codes)`` takes a codec's ``(N, 30, 30)`` codes, ``add_input(x)`` the
    model inputs (stored as ``probe_features``). ``limit`` caps how many samples are kept.
    """

    modality: Modality
    limit: int
    codes: dict[str, list[Tensor]] = field(default_factory=dict)
    features: list[Tensor] = field(default_factory=list)
    has_features: bool = True
    seconds: dict[str, float] = field(default_factory=dict)

    def kept(self, kind: str) -> int:
        parts = self.features if kind == "input" else self.codes.get(kind, [])
        return sum(len(part) for part in parts)

    def add_codes(self, kind: str, codes: Tensor) -> None:
        room = self.limit - self.kept(kind)
        if room > 0:
            self.codes.setdefault(kind, []).append(codes[:room].detach().to("cpu", torch.uint8))

    def add_input(self, x: Tensor) -> None:
        room = self.limit - self.kept("input")
        if room <= 0 or not self.has_features:
            return
        started = time.perf_counter()
        features = self.modality.probe_features(x[:room].detach().cpu())
        if features is None:
            self.has_features = False
            self.features = []
        else:
            self.features.append(features.float())
        self.seconds["input"] = self.seconds.get("input", 0.0) + time.perf_counter() - started

    def inputs(self) -> dict[str, ProbeInput]:
        """``{kind: ProbeInput}`` in :data:`PROBE_INPUTS` order; ``input`` only when the modality has features."""
        found = {kind: ProbeInput(torch.cat(self.codes[kind]), codes=True) for kind in PROBE_INPUTS if self.codes.get(kind)}
        if self.has_features and self.features:
            found["input"] = ProbeInput(torch.cat(self.features), codes=False)
        return found


@torch.no_grad()
def gather_inputs(trained: PuzzleCompressor, untrained: PuzzleCompressor, dataset: Dataset[Tensor], limit: int,
                  batch_size: int = 256) -> ProbeInputs:
    """Encode ``dataset`` (its first ``limit`` samples) with the three codecs and take its features."""
    modality = trained.modality
    gathered = ProbeInputs(modality, limit)
    encoders = {
        "trained": lambda x: trained.encode_codes(x.to(trained.device)),
        "untrained": lambda x: untrained.encode_codes(x.to(untrained.device)),
        "baseline": lambda x: modality.baseline_codec(x)[0],
    }
    subset = dataset if len(dataset) <= limit else Subset(dataset, range(limit))  # type: ignore[arg-type]
    for x in DataLoader(subset, batch_size=batch_size, shuffle=False):
        for kind, encode in encoders.items():
            started = time.perf_counter()
            gathered.add_codes(kind, encode(x))
            gathered.seconds[kind] = gathered.seconds.get(kind, 0.0) + time.perf_counter() - started
        gathered.add_input(x)
    return gathered


class TrainingInputs:
    """The training samples' four probe inputs, encoded only when a probe has to be trained.

    With a probe cache, the inputs' digests are looked up first (``train_inputs_key``): when
    every fit is a hit, the training samples are never encoded. Encoding runs at the thread
    count the object was made under (the key includes it).
    """

    def __init__(self, trained: PuzzleCompressor, untrained: PuzzleCompressor, samples: Dataset[Tensor],
                 batch_size: int, test_inputs: dict[str, ProbeInput], folder: Path | None) -> None:
        self._encode = (trained, untrained, samples, batch_size)
        self._threads = torch.get_num_threads()
        self._folder = folder
        self._gathered: dict[str, ProbeInput] | None = None
        self._seconds: dict[str, float] = {}
        self._key: str | None = None
        self._known: dict[str, tuple[str, bool]] | None = None
        if folder is not None:
            every_sample = (samples[i] for i in range(len(samples)))  # type: ignore[arg-type]
            self._key = train_inputs_key((trained, untrained), every_sample, test_inputs)
            self._known = read_train_digests(folder, self._key)

    def get(self, kind: str) -> ProbeInput | DeferredProbeInput | None:
        """The input of ``kind`` (deferred when its digest is known); None when there is none."""
        if self._known is not None and self._gathered is None:
            if kind not in self._known:
                return None
            digest, codes = self._known[kind]
            return DeferredProbeInput(digest, codes, lambda: self._gather()[kind])
        return self._gather().get(kind)

    def seconds(self, kind: str) -> float:
        """Seconds spent encoding for ``kind`` (0 when it came from the cache)."""
        return self._seconds.get(kind, 0.0)

    def remember(self) -> None:
        """Store the digests of what was encoded, for the next evaluation of the same run."""
        if self._gathered is not None and self._key is not None:
            write_train_digests(self._folder, self._key, self._gathered)

    def _gather(self) -> dict[str, ProbeInput]:
        if self._gathered is None:
            trained, untrained, samples, batch_size = self._encode
            limit = len(samples)  # type: ignore[arg-type]
            threads = torch.get_num_threads()
            torch.set_num_threads(self._threads)
            try:
                gathered = gather_inputs(trained, untrained, samples, limit, batch_size)
            finally:
                torch.set_num_threads(threads)
            self._gathered, self._seconds = gathered.inputs(), gathered.seconds
        return self._gathered


def training_subset(labels: Tensor, recipe: ProbeRecipe) -> Tensor:
    """Indices of at most ``recipe.max_train`` labelled training samples (``NO_LABEL`` left out):
    a seeded random subset, in data order."""
    labelled = torch.nonzero(labels >= 0).flatten()
    if len(labelled) <= recipe.max_train:
        return labelled
    order = torch.randperm(len(labelled), generator=torch.Generator().manual_seed(recipe.seed))
    return labelled[order[: recipe.max_train]].sort().values


def score(predictions: Tensor, labels: Tensor, classes: int) -> tuple[float, list[float | None], list[list[int]]]:
    """Accuracy, per-class accuracy (None without samples) and ``confusion[true][predicted]``."""
    confusion = torch.zeros(classes, classes, dtype=torch.int64)
    confusion.index_put_((labels, predictions), torch.ones_like(labels), accumulate=True)
    totals = confusion.sum(1)
    per_class = [float(confusion[c, c]) / int(totals[c]) if int(totals[c]) else None for c in range(classes)]
    accuracy = float((predictions == labels).float().mean()) if len(labels) else 0.0
    return accuracy, per_class, confusion.tolist()


def run_probes(trained: PuzzleCompressor, untrained: PuzzleCompressor, train_set: Dataset[Tensor],
               test: ProbeInputs, test_labels: Tensor, classes: Sequence[str],
               recipe: ProbeRecipe = ProbeRecipe(), batch_size: int = 256, cache: bool = True) -> Probes | None:
    """Train both probes on ``train_set``'s inputs and score them on ``test``'s; None without labels.

    ``test`` holds the held-out inputs (gathered during the evaluation pass, or by
    :func:`gather_inputs`), aligned with ``test_labels``. With ``cache``, a probe identical
    to one trained before (same inputs, labels, recipe) is read from the probe cache.
    """
    train_labels = labels_of(train_set)
    if train_labels is None or len(classes) < 2:
        return None
    started = time.perf_counter()
    chosen = training_subset(train_labels, recipe)
    test_inputs = test.inputs()
    if not test_inputs or len(chosen) == 0:
        return None
    test_labels = test_labels[: len(next(iter(test_inputs.values())))]
    kept = test_labels >= 0  # samples of no class (NO_LABEL) are not scored
    if not bool(kept.any()):
        return None
    test_inputs = {kind: ProbeInput(item.values[kept], item.codes) for kind, item in test_inputs.items()}
    test_labels = test_labels[kept]
    folder = probe_cache_folder() if cache else None
    train = TrainingInputs(trained, untrained, Subset(train_set, chosen.tolist()), batch_size, test_inputs, folder)
    results = {}
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread is fastest on a shared machine, and reproducible
    try:
        for kind in PROBE_INPUTS:
            if kind not in test_inputs or (found := train.get(kind)) is None:
                continue
            probes = {}
            for probe in PROBE_KINDS:
                fit, cached = cached_fit(probe, found, train_labels[chosen], test_inputs[kind], len(classes), recipe,
                                         folder)
                accuracy, per_class, confusion = score(fit.predictions, test_labels, len(classes))
                probes[probe] = ProbeScore(accuracy=accuracy, per_class_accuracy=per_class, confusion=confusion,
                                           train_accuracy=fit.train_accuracy, seconds=fit.seconds, cached=cached)
            results[kind] = ProbeInputResult(description=INPUT_DESCRIPTIONS[kind],
                                             prepare_seconds=train.seconds(kind), probes=probes)
    finally:
        torch.set_num_threads(torch_threads)
    train.remember()
    counts = torch.bincount(test_labels, minlength=len(classes))
    return Probes(classes=list(classes), chance=float(counts.max()) / len(test_labels), train_samples=len(chosen),
                  test_samples=len(test_labels), recipe=recipe.as_dict(), inputs=results,
                  seconds=time.perf_counter() - started + sum(test.seconds.values()))


def probe_run(run_dir: str | Path, data: str | Path | None = None, source: str | None = None, split: str = "test",
              registry: Any = None, recipe: ProbeRecipe = ProbeRecipe()) -> Probes:
    """The probes of a run on its own labelled data, or on ``data`` read by its modality (or ``source``).

    ``data`` is given to ``Modality.build_datasets`` (or the registered data source
    ``source``), so it must be a labelled data set in a layout the modality knows
    (e.g. an ImageFolder tree, a Speech Commands folder); the probes train on its train
    split and are scored on ``split``. Raises ``SageError`` when the data has no labels.
    """
    from sage_core.analysis.evaluate import capped, run_splits
    from sage_core.rundir import RunDirectory
    from sage_core.runs import load_compressor

    if split not in ("test", "validation"):
        raise SageError(f"split must be 'test' or 'validation', got {split!r}")
    run = RunDirectory(run_dir)
    config = run.config()
    trained = load_compressor(run.path, "best", registry=registry)
    untrained = load_compressor(run.path, "untrained", registry=registry)
    if data is not None or source is not None:
        if data is not None and not Path(data).exists():
            raise InputError(data, "no such file or folder")
        config = config.model_copy(update={"data_path": str(data) if data is not None else None, "source": source})
    splits = run_splits(config, trained.modality, registry)
    held_out = capped(config, splits.split(split))
    labels = labels_of(held_out)
    where = f"{data}" if data is not None else f"the data of {run.path}"
    if labels is None or not splits.classes:
        raise SageError(f"{where} carries no labels, so there is nothing to probe "
                        f"(labelled data: e.g. a folder of <class>/ sub-folders that {trained.modality.name} reads)")
    train_labels = labels_of(splits.train)
    if train_labels is None or not bool((train_labels >= 0).any()) or not bool((labels >= 0).any()):
        raise SageError(f"{where}: the probes need labelled samples in both the train and the {split} split")
    batch = trained.config.train.eval_batch_size
    test = gather_inputs(trained, untrained, held_out, recipe.max_test, batch)
    found = run_probes(trained, untrained, splits.train, test, labels, splits.classes, recipe, batch_size=batch)
    if found is None:
        raise SageError(f"{where}: fewer than two classes; a probe needs at least two")
    return found
