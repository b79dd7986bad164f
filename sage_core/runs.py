"""Find and load training runs: the run directories ``sage train`` writes.

A compressor is always resolved through the plugin registry by its id, never by a module
path stored in a run directory: a run someone else made cannot import arbitrary code, and a
plugin disabled with ``SAGE_DISABLE_PLUGINS`` stays disabled. Torch-free at import time,
so ``sage compare`` can list runs without paying for torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sage_core.errors import SageError, UnknownCompressorError
from sage_core.rundir import CONFIG_FILE, RunDirectory, read_pointer

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.contract import PuzzleCompressor
    from sage_core.plugins import PluginRegistry
    from sage_core.run_files import RunConfig
    from sage_core.specs import CompressorSpec


@dataclass(frozen=True)
class RunInfo:
    """One run directory, as ``find_runs`` sees it."""

    path: Path
    compressor_id: str
    modality: str
    reference: bool
    finished: bool
    created: str


def find_runs(root: str | Path = "runs") -> list[RunInfo]:
    """Every run directory under ``root`` (any depth), oldest first; unreadable ones are left out."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for config_path in root.rglob(CONFIG_FILE):
        run = RunDirectory(config_path.parent)
        try:
            config = run.config()
        except SageError:
            continue  # some other tool's config.json, or a damaged one: not a run to offer
        runs.append(RunInfo(run.path, config.compressor_id, config.modality, config.reference, run.finished,
                            config.created))
    return sorted(runs, key=lambda run: (run.created, str(run.path)))


def _is_reference(run: RunInfo, registry: PluginRegistry | None) -> bool:
    if registry is not None and run.compressor_id in registry.compressors:
        return registry.compressors[run.compressor_id].reference
    return run.reference


def latest_run(key: str, root: str | Path = "runs", registry: PluginRegistry | None = None) -> Path | None:
    """The newest finished run of compressor id ``key``, or of modality ``key``.

    By modality, reference compressors (re-implementations kept for benchmarks) are never
    chosen: a user naming ``audio`` gets the audio model, not the prototype.
    """
    matches = [
        run for run in find_runs(root)
        if run.finished and (run.compressor_id == key or (run.modality == key and not _is_reference(run, registry)))
    ]
    return matches[-1].path if matches else None


def resolve_run(ref: str | Path, registry: PluginRegistry | None = None, root: str | Path = "runs") -> Path:
    """A run directory from ``ref``: a run directory path, or a compressor id / modality.

    An id or modality means its newest finished run under ``root``; without one, the trained
    run its plugin ships (``CompressorSpec.shipped_run``); when there is neither, the error
    names the command that makes one.
    """
    path = Path(ref)
    if (path / CONFIG_FILE).is_file():
        return path
    key = str(ref)
    found = latest_run(key, root, registry)
    if found is not None:
        return found
    if registry is not None:
        specs = sorted((spec for spec in registry.compressors.values()
                        if spec.id == key or (spec.modality == key and not spec.reference)),
                       key=lambda spec: (spec.id != key, spec.id))
        for spec in specs:
            shipped = spec.shipped_path()
            if shipped is not None:
                return shipped
        ids = [spec.id for spec in specs]
    else:
        ids = [key]
    if path.exists() or ("/" in key) or not ids:
        raise SageError(f"{ref}: neither a run directory nor an installed compressor id or modality")
    hint = " or ".join(f"`sage train {cid}`" for cid in ids)
    raise SageError(f"no finished run of {key!r} under {root}; train one with {hint}")


Which = Literal["best", "last", "untrained"]


def checkpoint_weights(run_dir: str | Path, which: Literal["best", "last"] = "best") -> Path:
    """The weights file ``checkpoints/step-NNNNNNNN.safetensors`` a pointer names.

    ``best`` falls back to ``last`` for runs without a validation split.
    """
    folder = RunDirectory(run_dir).checkpoints
    for name in (which, "last") if which == "best" else (which,):
        pointer = folder / name
        stem = read_pointer(pointer)
        if stem is not None:
            weights = folder / f"{stem}.safetensors"
            if weights.is_file():
                return weights
            raise SageError(f"{pointer} names {stem!r}, which is not a checkpoint in {folder}")
    raise SageError(f"{run_dir}: no checkpoint yet (no {folder / which}); train or resume it with `sage train`")


def compressor_class(config: RunConfig, registry: PluginRegistry | None = None,
                     run_dir: str | Path | None = None) -> type[PuzzleCompressor]:
    """The installed class of a run's compressor, by its registered id."""
    if registry is None:
        from sage_core.plugins import load_plugins

        registry = load_plugins()
    return run_compressor_spec(config, registry, run_dir).load()


def run_compressor_spec(config: RunConfig, registry: PluginRegistry, run_dir: str | Path | None = None) -> CompressorSpec:
    """The registered spec of a run's compressor; when there is none, one line saying why.

    A run of a blocked or broken plugin is not loaded by any other route: the error names
    the plugin and what keeps it out.
    """
    try:
        return registry.compressor(config.compressor_id)
    except UnknownCompressorError as exc:
        where = f"{run_dir}: " if run_dir is not None else ""
        record = next((r for r in registry.records if config.plugin and r.name == config.plugin), None)
        if record is not None and record.status == "blocked":
            raise UnknownCompressorError(
                f"{where}made by compressor {config.compressor_id!r} of {record.name}, which is blocked "
                "(SAGE_DISABLE_PLUGINS or SAGE_LOAD_PLUGINS); unblock it to use this run") from None
        if record is not None and record.status == "error":
            raise UnknownCompressorError(
                f"{where}made by compressor {config.compressor_id!r} of {record.name}, which failed to load "
                f"({record.error}); see `sage plugins`") from None
        raise UnknownCompressorError(f"{where}{exc}") from None


def check_compressor_version(run_dir: str | Path, config: RunConfig, cls: type[PuzzleCompressor]) -> None:
    """Refuse a run made by another version of its compressor: its weights and puzzles differ."""
    stored = config.compressor_version
    if stored is not None and str(stored) != cls.version:
        release = " ".join(value for value in (config.plugin, config.plugin_version) if value)
        made_by = f" ({release})" if release else ""
        raise SageError(
            f"{run_dir}: trained with {cls.id} version {stored}{made_by}, but the installed {cls.id} is "
            f"version {cls.version}; its weights and puzzles do not fit this version. Retrain, or install "
            "the plugin release that made the run."
        )


def build_compressor(cls: type[PuzzleCompressor], config: object, seed: int) -> PuzzleCompressor:
    """The untrained model of a seed: ``torch.manual_seed(seed)`` then ``cls(config)``.

    The trainer builds its model through this function too, so the untrained model an
    analysis compares against is exactly the one training started from.
    """
    import torch

    torch.manual_seed(seed)
    return cls(config)  # type: ignore[arg-type]


def load_compressor(
    run_dir: str | Path,
    which: Which = "best",
    registry: PluginRegistry | None = None,
    device: str = "cpu",
) -> PuzzleCompressor:
    """The run's compressor in eval mode on ``device``.

    ``which``: ``best`` (lowest validation loss; ``last`` when there was no validation),
    ``last`` (newest checkpoint) or ``untrained`` (the seed's initial weights).
    """
    from sage_core.config import resolve_config

    run = RunDirectory(run_dir)
    config = run.config()
    cls = compressor_class(config, registry, run.path)
    check_compressor_version(run.path, config, cls)
    try:
        model_config = resolve_config(cls.Config, config.config)
    except SageError as exc:
        raise SageError(f"{run.config_path}: its config does not fit {cls.id} ({exc})") from None
    model = build_compressor(cls, model_config, config.seed)
    if which != "untrained":
        from sage_core.weights import load_weights

        load_weights(model, checkpoint_weights(run.path, which))
    return model.to(device).eval()
