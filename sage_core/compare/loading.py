"""Read what a finished run left on disk, without torch.

``sage compare`` needs only ``config.json``, ``summary.json``, ``metrics.jsonl``,
``data_report.json`` and ``evaluation.json``; a run without an evaluation is evaluated
first by the caller (that path may import torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage_core.analysis.metrics_log import read_metrics
from sage_core.errors import SageError

EVALUATION_FILE = "evaluation.json"


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; a ``SageError`` naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SageError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise SageError(f"{path}: expected a JSON object")
    return data


@dataclass
class RunRecord:
    """One run as compare sees it: its files, parsed."""

    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    evaluation: dict[str, Any]
    metrics: list[dict[str, Any]]
    data_report: dict[str, Any]
    label: str = ""

    @property
    def compressor_id(self) -> str:
        return str(self.config.get("compressor_id") or self.evaluation.get("compressor_id", "?"))


def has_evaluation(run_dir: Path) -> bool:
    return (Path(run_dir) / EVALUATION_FILE).is_file()


#: What compare reads from ``evaluation.json``; an older or foreign file lacking any is refused.
REQUIRED_EVALUATION_KEYS = ("split", "samples", "primary_metric", "higher_is_better", "models", "improvement")
REQUIRED_MODEL_KEYS = ("code_histogram", "codes_used", "perplexity", "entropy_bits", "bits_per_puzzle",
                       "code_order_spearman", "intensity_by_code", "cell_entropy", "neighbour_agreement", "recon")


def check_evaluation(evaluation: dict[str, Any], path: Path) -> None:
    """Raise a ``SageError`` naming the file when it lacks what compare needs."""
    missing = [key for key in REQUIRED_EVALUATION_KEYS if key not in evaluation]
    models = evaluation.get("models") if isinstance(evaluation.get("models"), dict) else {}
    missing += [f"models.{kind}" for kind in ("trained", "untrained", "baseline") if kind not in models]
    missing += [f"models.{kind}.{key}" for kind, model in models.items() for key in REQUIRED_MODEL_KEYS
                if key not in model]
    if missing:
        raise SageError(f"{path}: lacks {', '.join(missing[:5])}; re-create it with `sage evaluate {path.parent}`")


def load_run(run_dir: Path) -> RunRecord:
    """Parse a run that has an ``evaluation.json``."""
    run_dir = Path(run_dir)
    evaluation = read_json_object(run_dir / EVALUATION_FILE)
    check_evaluation(evaluation, run_dir / EVALUATION_FILE)
    optional = {
        name: read_json_object(run_dir / name) if (run_dir / name).is_file() else {}
        for name in ("summary.json", "data_report.json")
    }
    return RunRecord(
        path=run_dir,
        config=read_json_object(run_dir / "config.json"),
        summary=optional["summary.json"],
        evaluation=evaluation,
        metrics=read_metrics(run_dir),
        data_report=optional["data_report.json"],
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

    An id or modality means its newest finished run under ``root``; when there is none the
    error names the ``sage train`` command that makes one.
    """
    from sage_core.runs import resolve_run_or_id

    paths: list[Path] = []
    for ref in refs:
        path = resolve_run_or_id(ref, registry, root=root)
        if path.resolve() not in {p.resolve() for p in paths}:
            paths.append(path)
    return paths
