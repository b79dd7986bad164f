"""Read what finished runs left on disk, without torch, through the run directory's models.

``sage compare`` needs only ``config.json``, ``summary.json``, ``metrics.jsonl``,
``data_report.json`` and ``evaluation.json``; a run without an evaluation is evaluated
first by the caller (that path may import torch). A malformed file is refused with one
line naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage_core.errors import SageError
from sage_core.run_files import Evaluation, RunConfig, RunSummary
from sage_core.rundir import RunDirectory


@dataclass
class RunRecord:
    """One run as compare sees it: its files, parsed."""

    path: Path
    config: RunConfig
    summary: RunSummary | None
    evaluation: Evaluation
    metrics: list[dict[str, Any]]
    data_report: dict[str, Any]
    label: str = ""

    @property
    def compressor_id(self) -> str:
        return self.config.compressor_id


def has_evaluation(run_dir: Path) -> bool:
    return RunDirectory(run_dir).evaluation_path.is_file()


def load_run(run_dir: Path) -> RunRecord:
    """Parse a run that has an ``evaluation.json``."""
    run = RunDirectory(run_dir)
    evaluation = run.evaluation()
    if evaluation is None:
        raise SageError(f"{run.path}: not evaluated yet; run `sage evaluate {run.path}`")
    return RunRecord(
        path=run.path,
        config=run.config(),
        summary=run.summary(),
        evaluation=evaluation,
        metrics=run.metrics(),
        data_report=run.data_report(),
    )


def label_runs(records: list[RunRecord]) -> list[RunRecord]:
    """Name each run by its compressor id, adding the run folder when ids repeat."""
    ids = [record.compressor_id for record in records]
    for record in records:
        repeated = ids.count(record.compressor_id) > 1
        record.label = f"{record.compressor_id} ({record.path.name})" if repeated else record.compressor_id
    return records


def resolve_runs(refs: tuple[str, ...] | list[str], registry: Any, root: Path) -> list[Path]:
    """Run directories for ``refs`` (run folders, compressor ids or modalities), duplicates once.

    An id or modality means its newest finished run under ``root`` (never a reference
    compressor's, for a modality); when there is none the error names the ``sage train``
    command that makes one.
    """
    from sage_core.runs import resolve_run

    paths: list[Path] = []
    for ref in refs:
        path = resolve_run(ref, registry, root=root)
        if path.resolve() not in {p.resolve() for p in paths}:
            paths.append(path)
    return paths
