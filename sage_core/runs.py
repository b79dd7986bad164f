"""Find and load training runs: the run directories ``sage train`` writes.

A run directory holds ``config.json`` (what was trained, how), ``checkpoints/`` (weights
as safetensors plus text pointers ``last`` and ``best``) and, once training ended,
``summary.json``. This module is torch-free at import time so ``sage compare`` can list
runs without paying for torch; loading a model imports torch inside the function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sage_core.errors import SageError

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.contract import PuzzleCompressor
    from sage_core.plugins import PluginRegistry

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
CHECKPOINTS = "checkpoints"
#: ``summary.json`` statuses of a run that trained to its end (a time/step limit counts).
FINISHED_STATUSES = ("finished", "stopped")


@dataclass(frozen=True)
class RunInfo:
    """One run directory, as ``find_runs`` sees it."""

    path: Path
    compressor_id: str
    modality: str
    finished: bool
    created: str


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``, or a ``SageError`` naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SageError(f"{path}: not found") from None
    except (OSError, ValueError, RecursionError) as exc:  # also not UTF-8, or nested deeper than Python's stack
        raise SageError(f"{path}: unreadable ({' '.join(str(exc).split()) or type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise SageError(f"{path}: expected a JSON object")
    return data


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json``; a clear error when ``run_dir`` is not a run."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).is_file():
        raise SageError(f"{run_dir}: not a run directory (no {CONFIG_FILE}); train one with `sage train ID`")
    return read_json(run_dir / CONFIG_FILE)


def run_status(run_dir: str | Path) -> str | None:
    """``summary.json``'s status (finished, stopped, failed), or None while unfinished."""
    path = Path(run_dir) / SUMMARY_FILE
    if not path.is_file():
        return None
    try:
        return str(read_json(path).get("status"))
    except SageError:
        return None


def is_finished(run_dir: str | Path) -> bool:
    return run_status(run_dir) in FINISHED_STATUSES


def find_runs(root: str | Path = "runs") -> list[RunInfo]:
    """Every run directory under ``root`` (any depth), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = []
    for config_path in root.rglob(CONFIG_FILE):
        run_dir = config_path.parent
        try:
            config = read_json(config_path)
        except SageError:
            continue
        if "compressor_id" not in config or "config" not in config:
            continue  # some other tool's config.json
        runs.append(
            RunInfo(
                path=run_dir,
                compressor_id=str(config["compressor_id"]),
                modality=str(config.get("modality", "")),
                finished=is_finished(run_dir),
                created=str(config.get("created", "")),
            )
        )
    return sorted(runs, key=lambda run: (run.created, str(run.path)))


def latest_run(key: str, root: str | Path = "runs") -> Path | None:
    """The newest finished run whose compressor id or modality is ``key``."""
    matches = [
        run for run in find_runs(root) if run.finished and key in (run.compressor_id, run.modality)
    ]
    return matches[-1].path if matches else None


def resolve_run_or_id(ref: str | Path, registry: PluginRegistry | None = None, root: str | Path = "runs") -> Path:
    """A run directory from ``ref``: a run directory path, or a compressor id / modality.

    An id or modality means its newest finished run under ``root``; when there is none
    the error names the command that makes one.
    """
    path = Path(ref)
    if (path / CONFIG_FILE).is_file():
        return path
    key = str(ref)
    found = latest_run(key, root)
    if found is not None:
        return found
    if registry is not None:
        ids = sorted(spec.id for spec in registry.compressors.values() if key in (spec.id, spec.modality))
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
    folder = Path(run_dir) / CHECKPOINTS
    for name in (which, "last") if which == "best" else (which,):
        pointer = folder / name
        if pointer.is_file():
            weights = folder / f"{pointer.read_text(encoding='utf-8').strip()}.safetensors"
            if weights.is_file():
                return weights
            raise SageError(f"{pointer} names {weights.name}, which is missing")
    raise SageError(f"{run_dir}: no checkpoint yet (no {folder / which}); train or resume it with `sage train`")


def compressor_class(config: dict[str, Any], registry: PluginRegistry | None = None) -> type[PuzzleCompressor]:
    """The class that trained a run: the registered id if installed, else the stored ``factory``."""
    compressor_id = str(config.get("compressor_id", ""))
    if registry is not None and compressor_id in registry.compressors:
        return registry.compressor(compressor_id).load()
    factory = config.get("factory")
    if not factory:
        if registry is None:
            from sage_core.plugins import load_plugins

            return compressor_class(config, load_plugins())
        return registry.compressor(compressor_id).load()
    from sage_core.specs import import_object

    try:
        return import_object(str(factory))
    except (ImportError, AttributeError) as exc:
        raise SageError(
            f"compressor {compressor_id!r} ({factory}) cannot be imported: {exc}; is its plugin installed?"
        ) from None


def check_compressor_version(run_dir: str | Path, config: dict[str, Any], cls: type[PuzzleCompressor]) -> None:
    """Refuse a run made by another version of its compressor: its weights and puzzles differ.

    Runs written before versions were recorded carry none and are accepted.
    """
    stored = config.get("compressor_version")
    if stored is not None and str(stored) != cls.version:
        release = " ".join(str(config[key]) for key in ("plugin", "plugin_version") if config.get(key))
        made_by = f" ({release})" if release else ""
        raise SageError(
            f"{run_dir}: trained with {cls.id} version {stored}{made_by}, but the installed {cls.id} is "
            f"version {cls.version}; its weights and puzzles do not fit this version. Retrain, or install "
            "the plugin release that made the run."
        )


def build_compressor(cls: type[PuzzleCompressor], config: Any, seed: int) -> PuzzleCompressor:
    """The untrained model of a seed: ``torch.manual_seed(seed)`` then ``cls(config)``.

    The trainer builds its model through this function too, so the untrained model an
    analysis compares against is exactly the one training started from.
    """
    import torch

    torch.manual_seed(seed)
    return cls(config)


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
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    cls = compressor_class(config, registry)
    check_compressor_version(run_dir, config, cls)
    model_config = cls.Config.model_validate(config["config"])
    model = build_compressor(cls, model_config, int(config.get("seed", 0)))
    if which != "untrained":
        from sage_core.training.checkpoint import load_weights

        load_weights(model, checkpoint_weights(run_dir, which))
    return model.to(device).eval()
