"""Planning a run: from a ``TrainingRequest`` to the resolved class, config, data and folder.

Everything that can be wrong with a request (an unknown id, a bad override, a run of
another compressor version, a data source of another modality) is found here, before a
run directory is touched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sage_core.config import check_seed, resolve_config
from sage_core.errors import ConfigError, SageError, warn_input
from sage_core.run_files import RunConfig, RunSummary
from sage_core.rundir import RunDirectory, default_run_dir
from sage_core.runs import check_compressor_version, run_compressor_spec
from sage_core.training.job import TrainingJob
from sage_core.training.request import TrainingRequest

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.plugins import PluginRegistry


@dataclass(frozen=True)
class TrainingPlan:
    """A request resolved: what ``config.json`` will say, and the job every rank runs."""

    run: RunDirectory
    record: RunConfig
    job: TrainingJob
    resuming: bool
    #: A resumed run's summary as it was, so a failed resume can leave the run as it was.
    prior_summary: RunSummary | None


def resolve_device(device: str) -> str:
    """``auto`` means CUDA when a GPU is visible, else CPU."""
    if device not in ("cpu", "cuda", "auto"):
        raise ConfigError(f"--device must be cpu, cuda or auto, got {device!r}")
    if device == "cpu":
        return device
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no GPU is visible to torch")
    return "cuda" if torch.cuda.is_available() else "cpu"


def source_commit() -> str | None:
    """The git commit sage_core runs from (``-dirty`` with uncommitted changes), or None outside a checkout."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def plan_training(request: TrainingRequest, registry: PluginRegistry, world_size: int, progress: str) -> TrainingPlan:
    """Resolve ``request``; raises a ``SageError`` for anything that would make the run fail early."""
    import sage_core

    resumed = RunDirectory(request.resume) if request.resume is not None else None
    stored = resumed.config() if resumed is not None else None
    compressor_id = request.compressor or (stored.compressor_id if stored else None)
    if compressor_id is None:
        raise ConfigError("name a compressor id to train, or --resume RUN_DIR")
    if stored is not None and compressor_id != stored.compressor_id:
        raise ConfigError(f"{request.resume} is a run of {stored.compressor_id!r}, not {compressor_id!r}")
    spec = run_compressor_spec(stored, registry, resumed.path) if stored and resumed else registry.compressor(compressor_id)
    cls = spec.load()
    if stored is not None:
        check_compressor_version(request.resume, stored, cls)

    overrides = [*request.overrides, *request.limit_overrides()]
    if stored is not None and resumed is not None:
        try:
            resolve_config(cls.Config, stored.config)
        except SageError as exc:
            raise SageError(f"{resumed.config_path}: its config does not fit {cls.id} ({exc})") from None
    config = resolve_config(cls.Config, stored.config if stored else None, request.config_path, overrides)
    seed = check_seed(stored.seed if stored else request.seed,
                      f"{resumed.config_path}: seed" if resumed is not None else "--seed")
    data_path = request.data_path or (Path(stored.data_path) if stored and stored.data_path else None)
    source = request.source or (stored.source if stored else None)
    source_factory = None
    if source:
        source_spec = registry.data_source(source)
        if source_spec.modality != spec.modality:
            raise ConfigError(f"data source {source!r} is for {source_spec.modality} data, not {spec.modality}")
        source_factory = source_spec.factory
    device = resolve_device(request.device)

    run = resumed or RunDirectory(request.out if request.out is not None else default_run_dir(cls.id))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    plugin_version = registry.version_of(spec.plugin)
    config_data = config.model_dump(mode="json")
    record = RunConfig(
        compressor_id=cls.id,
        modality=spec.modality,
        compressor_version=cls.version,
        plugin=spec.plugin,
        plugin_version=plugin_version,
        reference=spec.reference,
        factory=spec.factory,
        config=config_data,
        seed=seed,
        data_path=str(Path(data_path).resolve()) if data_path else None,
        source=source,
        device=device,
        nproc=world_size,
        created=stored.created if stored else now,
        resumed=[*stored.resumed, now] if stored else [],
        sage_version=sage_core.__version__,
        commit=source_commit(),
    )
    import json

    job = TrainingJob(
        factory=spec.factory,
        config=config_data,
        run_dir=str(run.path),
        seed=seed,
        data_path=record.data_path,
        source_factory=source_factory,
        device=device,
        progress=progress,
        metadata={
            "compressor_id": cls.id,
            "compressor_version": cls.version,
            "plugin": spec.plugin,
            "plugin_version": plugin_version,
            "config": json.dumps(config_data, sort_keys=True),
        },
        versions={"sage-core": sage_core.__version__, **({spec.plugin: plugin_version} if spec.plugin else {})},
        launched_at=time.time(),
    )
    prior = _prior_summary(resumed) if resumed is not None else None
    return TrainingPlan(run, record, job, resuming=resumed is not None, prior_summary=prior)


def _prior_summary(run: RunDirectory) -> RunSummary | None:
    """A resumed run's summary; a damaged one is reported and left for the resume to replace."""
    try:
        return run.summary()
    except SageError as exc:
        warn_input(run.summary_path, f"{str(exc).removeprefix(f'{run.summary_path}: ')}; the resumed run writes a new one")
        return None
