"""``sage evaluate``: measure a run against its untrained model and a non-learned codec."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sage_core.cli.context import get_registry


@click.command("evaluate")
@click.argument("run")
@click.option("--split", type=click.Choice(["test", "validation"]), default="test", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Evaluate on these files instead (a file or a folder, any length, windowed like `sage encode`).")
@click.option("--end-to-end/--no-end-to-end", default=None,
              help="Also measure after the round trip through output files (e.g. WAV) [default: on with --data].")
@click.option("--probes/--no-probes", default=True, show_default=True,
              help="On labelled data, train the probes (can a classifier still tell the class from the puzzles?).")
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON instead of a table.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def evaluate_command(run: str, split: str, data: Path | None, end_to_end: bool | None, probes: bool, as_json: bool,
                     runs_root: Path) -> None:
    """Evaluate RUN (a run folder, or a compressor id/modality: its latest finished run).

    Writes RUN/evaluation.json and RUN/figures/*.png; with --data, RUN/evaluations/NAME.json
    and RUN/evaluations/NAME/*.png, so the run's own evaluation is kept.
    """
    from sage_core.analysis.evaluate import evaluation_path
    from sage_core.cli.evaluation_view import evaluate_with_progress, print_evaluation
    from sage_core.rundir import RunDirectory
    from sage_core.runs import resolve_run

    from sage_core.atomic import check_writable_folder

    registry = get_registry()
    run_dir = writable_copy(resolve_run(run, registry, root=runs_root), runs_root)
    check_writable_folder(run_dir)  # the evaluation is saved there: say so now, not after measuring
    summary = RunDirectory(run_dir).summary()  # a damaged one is refused before anything is written
    evaluation = evaluate_with_progress(run_dir, registry=registry, split=split, data=data, end_to_end=end_to_end,
                                        probes=probes)
    if as_json:
        click.echo(json.dumps(evaluation.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        print_evaluation(evaluation, summary)
        click.echo(f"wrote {evaluation_path(RunDirectory(run_dir), data)}")


def writable_copy(run_dir: Path, runs_root: Path) -> Path:
    """``run_dir``, or for a run shipped inside a plugin's package a copy under ``runs_root``.

    Evaluating writes into the run directory; a plugin's package is not the place.
    """
    import shutil

    from sage_core.rundir import RunDirectory

    run = RunDirectory(run_dir)
    if run.shipped() is None:
        return run_dir
    config = run.config()
    copy = Path(runs_root) / config.compressor_id / f"shipped-v{config.compressor_version}"
    if not RunDirectory(copy).is_run():
        shutil.copytree(run_dir, copy, dirs_exist_ok=True)
        click.echo(f"evaluating a copy of the shipped run in {copy}", err=True)
    return copy


COMMANDS = [evaluate_command]
