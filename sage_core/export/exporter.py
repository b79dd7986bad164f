"""``sage export``: puzzle files -> ARC task JSON or HRM arrays, in one folder, all or nothing.

Besides the format's own files the folder holds ``sage-export.json``, a manifest naming
every task's stream and each grid's source puzzle (source, times, model), so answers that
come back in ARC form can be traced and decoded. It sits at the top of the folder, where
HRM's builder (which reads only sub-folders) does not look.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sage_core.errors import SageError
from sage_core.export.arc import MANIFEST_NAME, ArcTask, write_arc_tasks
from sage_core.export.tasks import TASKS, Examples, Grouping, Task, group_tasks, next_examples, pair_examples
from sage_core.export.windows import Window, windows_of

FORMATS = ("arc", "hrm")
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ExportOptions:
    format: str = "arc"
    task: str = "next"
    grouping: Grouping = field(default_factory=Grouping)
    input_modality: str | None = None
    output_modality: str | None = None
    tolerance: float = 0.5
    force: bool = False


@dataclass(frozen=True)
class ExportSummary:
    out: Path
    training: int
    evaluation: int
    examples: int
    notes: tuple[str, ...]


def _load_windows(paths: list[Path], report: Callable[[str], None]) -> list[Window]:
    from sage_core.puzzle_log import load_puzzles

    windows: list[Window] = []
    for path in paths:
        windows += windows_of(path, load_puzzles(path, report=report))
    return windows


def build_tasks(windows: list[Window], options: ExportOptions) -> tuple[list[Task], list[str]]:
    """The tasks an export writes, training first, and notes on what was left out and why."""
    if options.task not in TASKS:
        raise SageError(f"unknown task {options.task!r}: choose one of {', '.join(TASKS)}")
    options.grouping.check()
    examples: Examples
    if options.task == "next":
        examples = next_examples(windows)
    else:
        examples = pair_examples(windows, options.input_modality, options.output_modality, options.tolerance)
    tasks, notes = group_tasks(options.task, examples, options.grouping)
    if not tasks:
        need = options.grouping.test_examples + 1
        raise SageError(
            f"nothing to export: no stream gives the {need} example pair(s) one task needs"
            + (f" ({'; '.join(notes)})" if notes else "")
        )
    if not any(t.subset == "training" for t in tasks):
        raise SageError("every task went to evaluation: lower --eval-fraction so there is something to train on")
    if not any(t.subset == "evaluation" for t in tasks):
        notes.append("no task went to evaluation (too few tasks per stream for --eval-fraction): the test split is empty")
    return tasks, notes


def arc_task(task: Task) -> ArcTask:
    def pairs(examples: tuple[Any, ...]) -> tuple[tuple[Any, Any], ...]:
        return tuple((e.input.codes, e.output.codes) for e in examples)

    return ArcTask(task.name, pairs(task.train), pairs(task.test))


def _model_record(window: Window) -> dict[str, Any]:
    meta = window.meta
    return {
        "modality": meta.modality,
        "compressor_id": meta.compressor_id,
        "compressor_version": str(meta.compressor_version),
        "rows": meta.rows,
        "cols": meta.cols,
        "clock": meta.clock if meta.times else "",
        "extra": meta.extra,
    }


def manifest(tasks: list[Task], options: ExportOptions, paths: list[Path]) -> dict[str, Any]:
    """Where every grid came from: enough to turn ARC answers back into puzzles."""
    from sage_core import __version__

    models: list[dict[str, Any]] = []

    def ref(window: Window) -> dict[str, Any]:
        record = _model_record(window)
        if record not in models:
            models.append(record)
        return {
            "file": str(window.file),
            "position": window.position,
            "source": window.source,
            "time": list(window.time) if window.time is not None else None,
            "model": models.index(record),
        }

    entries = [
        {
            "name": task.name,
            "subset": task.subset,
            "stream": {"compressor_id": task.stream[0], "compressor_version": task.stream[1], "source": task.stream[2]},
            "train": [[ref(e.input), ref(e.output)] for e in task.train],
            "test": [[ref(e.input), ref(e.output)] for e in task.test],
        }
        for task in tasks
    ]
    settings = {k: v for k, v in asdict(options).items() if k not in ("grouping", "force")}
    return {
        "manifest_version": MANIFEST_VERSION,
        "sage_version": __version__,
        "options": {**settings, **asdict(options.grouping)},
        "inputs": [str(p) for p in paths],
        "models": models,
        "tasks": entries,
    }


def export_puzzles(
    paths: list[Path], out: Path, options: ExportOptions, report: Callable[[str], None] = lambda _m: None
) -> ExportSummary:
    """Export puzzle files (``.npz`` or ``.jsonl`` logs) to ``out``: all of it, or nothing."""
    from sage_core.atomic import staged_directory, write_json_atomic
    from sage_core.export.hrm import write_hrm

    if options.format not in FORMATS:
        raise SageError(f"unknown format {options.format!r}: choose one of {', '.join(FORMATS)}")
    tasks, notes = build_tasks(_load_windows(paths, report), options)
    arc_tasks = [(task.subset, arc_task(task)) for task in tasks]
    with staged_directory(out, force=options.force) as staging:
        if options.format == "arc":
            write_arc_tasks(staging, arc_tasks)
        else:
            write_hrm(staging, arc_tasks)
        write_json_atomic(staging / MANIFEST_NAME, manifest(tasks, options, paths))
    notes += _duplicate_questions(arc_tasks)
    return ExportSummary(
        out=out,
        training=sum(t.subset == "training" for t in tasks),
        evaluation=sum(t.subset == "evaluation" for t in tasks),
        examples=sum(len(t.train) + len(t.test) for t in tasks),
        notes=tuple(notes),
    )


def _duplicate_questions(tasks: list[tuple[str, ArcTask]]) -> list[str]:
    """HRM's ARC evaluator expects the question inputs of one task to differ; count tasks where not."""
    count = 0
    for _, task in tasks:
        inputs = [pair[0].tobytes() for pair in task.test]
        count += len(set(inputs)) < len(inputs)
    if not count:
        return []
    return [f"{count} task(s) ask the same input twice (e.g. silence); HRM's ARC evaluator expects distinct questions"]
