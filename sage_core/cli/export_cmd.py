"""``sage export``: puzzles to ARC task JSON or HRM arrays, for a downstream reasoner."""

from __future__ import annotations

from pathlib import Path

import click


def _warn(message: str) -> None:
    click.echo(f"sage: warning: {message}", err=True)


@click.command("export")
@click.argument("puzzles", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path),
              help="Folder to create (refused if it exists and is not empty, unless --force).")
@click.option("--format", "fmt", type=click.Choice(["arc", "hrm"]), default="arc", show_default=True,
              help="arc: ARC task JSON under training/ and evaluation/; hrm: HRM's arrays under train/ and test/.")
@click.option("--task", type=click.Choice(["next", "pairs"]), default="next", show_default=True,
              help="next: a window -> the next window of its source; pairs: one modality -> the other at the same time.")
@click.option("--examples-per-task", type=click.IntRange(min=2), default=4, show_default=True,
              help="Consecutive example pairs of one stream per task.")
@click.option("--test-examples", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many of a task's pairs (its last) are questions; the others are demonstrations.")
@click.option("--split", type=click.Choice(["time", "source"]), default="time", show_default=True,
              help="time: the last --eval-fraction of each stream's tasks go to evaluation; source: whole streams do.")
@click.option("--eval-fraction", type=click.FloatRange(0.0, 1.0), default=0.2, show_default=True,
              help="Share of tasks (or streams) for evaluation, rounded to nearest.")
@click.option("--input-modality", default=None, help="pairs: the question's modality [default: the first file's].")
@click.option("--output-modality", default=None, help="pairs: the answer's modality [default: the other one].")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.5, show_default=True,
              help="pairs: most seconds between the midpoints of two windows that pair.")
@click.option("--force", is_flag=True, help="Replace a non-empty --out folder (only once the new one is complete).")
def export_command(
    puzzles: tuple[Path, ...],
    out: Path,
    fmt: str,
    task: str,
    examples_per_task: int,
    test_examples: int,
    split: str,
    eval_fraction: float,
    input_modality: str | None,
    output_modality: str | None,
    tolerance: float,
    force: bool,
) -> None:
    """Write PUZZLES (.npz puzzle files or .jsonl puzzle logs) as reasoning tasks for HRM.

    Each task holds --examples-per-task consecutive pairs of one stream: the first are
    demonstrations, the last --test-examples are questions. Nothing is transformed: no
    flips, no colour permutation (codes are ordered). See docs/export.md.
    """
    from sage_core.export import ExportOptions, Grouping, export_puzzles

    if test_examples >= examples_per_task:
        raise click.BadParameter(
            f"{test_examples} question(s) leave no demonstration in a task of {examples_per_task}",
            param_hint="--test-examples",
        )
    options = ExportOptions(
        format=fmt,
        task=task,
        grouping=Grouping(examples_per_task, test_examples, split, eval_fraction),
        input_modality=input_modality,
        output_modality=output_modality,
        tolerance=tolerance,
        force=force,
    )
    summary = export_puzzles(list(puzzles), out, options, report=_warn)
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(
        f"wrote {summary.training + summary.evaluation} task(s) ({summary.training} training, "
        f"{summary.evaluation} evaluation; {summary.examples} example pair(s)) as {fmt} to {out}"
    )


COMMANDS = [export_command]
