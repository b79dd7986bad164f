"""A content-addressed cache of probe fits, so no identical probe is trained twice.

A probe's result is a function of what it is given: its kind, the recipe, the training
inputs and labels, the held-out inputs and the number of classes (seeded, one thread). The
key is a SHA-256 over exactly those, so a hit is the answer the fit would give, and nothing
has to be invalidated: new weights, data or recipe are a new key. What hits in practice:
``sage evaluate`` / ``sage compare`` / ``sage probe`` of a run already probed at the end of
``sage train``, and every run's ``baseline`` and ``input`` probes (they depend on the data
alone, so the second run on the same data reuses the first's).

Inputs enter the key by their SHA-256 digests. To form the training inputs' digests the
training samples must be encoded by both models; ``train-inputs/<key>.json`` remembers
them under a key over the models' weights, the samples and the freshly computed held-out
inputs (``train_inputs_key``), so a warm cache answers without encoding anything.

Entries are small JSON files (test predictions, training accuracy, the fit's seconds) under
``cache_dir()/probes``, written atomically. A cache that cannot be read or written is
bypassed: the probe is trained, never refused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor

from sage_core.analysis.probe_models import (
    DeferredProbeInput,
    ProbeFit,
    ProbeInput,
    ProbeKind,
    ProbeRecipe,
    fit_probe,
    tensor_digest,
)
from sage_core.atomic import save_atomic
from sage_core.contract import PuzzleCompressor
from sage_core.data import cache_dir

#: Bump when a fit's meaning changes without a recipe change (e.g. the probe models' code).
FORMAT = 2
#: Sub-folder of the digests of training samples' probe inputs (one small JSON per run and data).
TRAIN_INPUTS = "train-inputs"
#: ``SAGE_PROBE_CACHE=off`` trains every probe (for measuring the probes' cold cost).
ENV_SWITCH = "SAGE_PROBE_CACHE"


def probe_cache_folder() -> Path | None:
    """Where fits are kept, or None when the cache is switched off."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    return cache_dir() / "probes"


def fit_key(kind: ProbeKind, train: ProbeInput | DeferredProbeInput, train_labels: Tensor, test: ProbeInput,
            classes: int, recipe: ProbeRecipe) -> str:
    """SHA-256 (hex) over everything the fit depends on (the inputs by their own digests)."""
    header = {"format": FORMAT, "torch": torch.__version__, "kind": kind, "classes": classes,
              "recipe": recipe.as_dict(), "codes": [train.codes, test.codes],
              "inputs": [train.digest(), tensor_digest(train_labels), test.digest()]}
    return hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()


def _read(path: Path, test_samples: int, classes: int) -> ProbeFit | None:
    """The fit stored at ``path``; None when absent or not a well-formed entry for this probe
    (one class index per held-out sample, figures that are finite and in range)."""
    try:
        entry = json.loads(path.read_text())
        found, seconds, train_accuracy = entry["predictions"], entry["seconds"], entry["train_accuracy"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(found, list) and len(found) == test_samples
            and all(type(p) is int and 0 <= p < classes for p in found)):
        return None
    if not all(type(v) in (int, float) and math.isfinite(v) for v in (seconds, train_accuracy)):
        return None
    if not 0.0 <= train_accuracy <= 1.0:
        return None
    return ProbeFit(torch.tensor(found, dtype=torch.int64), float(seconds), float(train_accuracy))


def cached_fit(kind: ProbeKind, train: ProbeInput | DeferredProbeInput, train_labels: Tensor, test: ProbeInput,
               classes: int, recipe: ProbeRecipe, folder: Path | None) -> tuple[ProbeFit, bool]:
    """``fit_probe``'s answer and whether it came from ``folder`` (None: no cache).

    A hit's ``seconds`` is the lookup's; the entry keeps the original fit's seconds. A
    deferred ``train`` is resolved (encoded) only on a miss.
    """
    if folder is None:
        return fit_probe(kind, train.resolve(), train_labels, test, classes, recipe), False
    started = time.perf_counter()
    path = folder / f"{fit_key(kind, train, train_labels, test, classes, recipe)}.json"
    hit = _read(path, len(test), classes)
    if hit is not None:
        return ProbeFit(hit.predictions, time.perf_counter() - started, hit.train_accuracy), True
    resolved = train.resolve()
    if resolved.digest() != train.digest():  # known by a stale digest: look up what it really is
        return cached_fit(kind, resolved, train_labels, test, classes, recipe, folder)
    fit = fit_probe(kind, resolved, train_labels, test, classes, recipe)
    entry = {"predictions": fit.predictions.tolist(), "seconds": fit.seconds, "train_accuracy": fit.train_accuracy}
    _write(path, json.dumps(entry))
    return fit, False


def _write(path: Path, text: str) -> None:
    try:
        save_atomic(path, lambda tmp: tmp.write_text(text))
    except OSError:
        pass  # a read-only or full cache folder costs time, never the result


# --- the training samples' inputs, known by digest -----------------------------------------


def train_inputs_key(models: Sequence[PuzzleCompressor], samples: Iterable[Tensor],
                     test: Mapping[str, ProbeInput]) -> str:
    """SHA-256 over what the training samples' probe inputs are computed from.

    The models (class, version, config, every weight), the samples themselves, the thread
    count and torch version; and the held-out inputs just computed by the same code, so
    a change to an encoder or a baseline that moves any code is a new key.
    """
    digest = hashlib.sha256(json.dumps({"format": FORMAT, "torch": torch.__version__,
                                        "threads": torch.get_num_threads()}).encode())
    for model in models:
        digest.update(f"{type(model).__module__}.{type(model).__qualname__}|{model.version}|".encode())
        digest.update(model.config.model_dump_json().encode())
        for name, tensor in model.state_dict().items():
            digest.update(f"{name}:{tensor_digest(tensor)}".encode())
    for sample in samples:
        digest.update(tensor_digest(sample).encode())
    for kind in sorted(test):
        digest.update(f"{kind}:{test[kind].codes}:{test[kind].digest()}".encode())
    return digest.hexdigest()


def read_train_digests(folder: Path | None, key: str) -> dict[str, tuple[str, bool]] | None:
    """``{kind: (digest, codes)}`` of the training inputs stored under ``key``; None when unknown."""
    if folder is None:
        return None
    try:
        entry = json.loads((folder / TRAIN_INPUTS / f"{key}.json").read_text())
        found = {kind: (str(digest), codes) for kind, (digest, codes) in entry.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    if not found or not all(len(d) == 64 and isinstance(c, bool) for d, c in found.values()):
        return None
    return found


def write_train_digests(folder: Path | None, key: str, inputs: Mapping[str, ProbeInput]) -> None:
    if folder is not None:
        _write(folder / TRAIN_INPUTS / f"{key}.json",
               json.dumps({kind: [item.digest(), item.codes] for kind, item in inputs.items()}))
