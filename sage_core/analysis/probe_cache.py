"""A content-addressed cache of probe fits, so no identical probe is trained twice.

A probe's result is a function of what it is given: its kind, the recipe, the training
inputs and labels, the held-out inputs and the number of classes (seeded, one thread). The
key is a SHA-256 over exactly those, so a hit is the answer the fit would give, and nothing
has to be invalidated: new weights, data or recipe are a new key. What hits in practice:
``sage evaluate`` / ``sage compare`` / ``sage probe`` of a run already probed at the end of
``sage train``, and every run's ``baseline`` and ``input`` probes (they depend on the data
alone, so the second run on the same data reuses the first's).

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
from pathlib import Path

import torch
from torch import Tensor

from sage_core.analysis.probe_models import ProbeFit, ProbeInput, ProbeKind, ProbeRecipe, fit_probe
from sage_core.atomic import save_atomic
from sage_core.data import cache_dir

#: Bump when a fit's meaning changes without a recipe change (e.g. the probe models' code).
FORMAT = 1
#: ``SAGE_PROBE_CACHE=off`` trains every probe (for measuring the probes' cold cost).
ENV_SWITCH = "SAGE_PROBE_CACHE"


def probe_cache_folder() -> Path | None:
    """Where fits are kept, or None when the cache is switched off."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    return cache_dir() / "probes"


def fit_key(kind: ProbeKind, train: ProbeInput, train_labels: Tensor, test: ProbeInput, classes: int,
            recipe: ProbeRecipe) -> str:
    """SHA-256 (hex) over everything the fit depends on."""
    digest = hashlib.sha256()
    header = {"format": FORMAT, "torch": torch.__version__, "kind": kind, "classes": classes,
              "recipe": recipe.as_dict(), "codes": [train.codes, test.codes]}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for tensor in (train.values, train_labels, test.values):
        contiguous = tensor.detach().cpu().contiguous()
        digest.update(f"{contiguous.dtype}{tuple(contiguous.shape)}".encode())
        digest.update(contiguous.numpy().tobytes())
    return digest.hexdigest()


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


def cached_fit(kind: ProbeKind, train: ProbeInput, train_labels: Tensor, test: ProbeInput, classes: int,
               recipe: ProbeRecipe, folder: Path | None) -> tuple[ProbeFit, bool]:
    """``fit_probe``'s answer and whether it came from ``folder`` (None: no cache).

    A hit's ``seconds`` is the lookup's; the entry keeps the original fit's seconds.
    """
    if folder is None:
        return fit_probe(kind, train, train_labels, test, classes, recipe), False
    started = time.perf_counter()
    path = folder / f"{fit_key(kind, train, train_labels, test, classes, recipe)}.json"
    hit = _read(path, len(test), classes)
    if hit is not None:
        return ProbeFit(hit.predictions, time.perf_counter() - started, hit.train_accuracy), True
    fit = fit_probe(kind, train, train_labels, test, classes, recipe)
    entry = {"predictions": fit.predictions.tolist(), "seconds": fit.seconds, "train_accuracy": fit.train_accuracy}
    try:
        save_atomic(path, lambda tmp: tmp.write_text(json.dumps(entry)))
    except OSError:
        pass  # a read-only or full cache folder costs time, never the result
    return fit, False
