"""Ship a trained run inside a plugin's package, so its compressor works right after install.

A shipped run is a run directory without the trainer's state (no optimizer, no RNG, no
metrics log): ``config.json``, ``summary.json``, ``evaluation.json``, the weights ``best``
names, and ``shipped.json`` saying how it was made. ``CompressorSpec(shipped_run=...)``
points at it; ``sage encode ID`` uses it when the user has no run of their own, and
``sage info ID`` shows ``shipped.json``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sage_core.atomic import write_json_atomic, write_text_atomic
from sage_core.errors import SageError
from sage_core.rundir import RunDirectory
from sage_core.runs import checkpoint_weights


def ship_run(run_dir: Path, target: Path, provenance: dict[str, Any]) -> Path:
    """Copy the parts of ``run_dir`` a user needs into ``target`` (replacing it); return it.

    ``provenance`` (the command, seed, threads, commit, machine, ...) goes to ``shipped.json``.
    The run must be finished and evaluated.
    """
    run = RunDirectory(run_dir)
    if not run.finished or run.evaluation() is None:
        raise SageError(f"{run.path}: only a finished, evaluated run can be shipped (run `sage evaluate` first)")
    weights = checkpoint_weights(run.path, "best")
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    shipped = RunDirectory(target)
    shipped.checkpoints.mkdir(parents=True)
    for source in (run.config_path, run.summary_path, run.evaluation_path, run.data_report_path):
        if source.is_file():
            shutil.copyfile(source, target / source.name)
    shutil.copyfile(weights, shipped.checkpoints / weights.name)
    for pointer in ("best", "last"):
        write_text_atomic(shipped.checkpoints / pointer, weights.stem + "\n")
    write_json_atomic(shipped.shipped_path, provenance)
    return target
