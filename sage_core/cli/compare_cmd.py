"""``sage compare``: several runs side by side in the terminal, as JSON or as an HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sage_core.cli.context import get_registry


@click.command("compare")
@click.argument("refs", nargs=-1, required=True, metavar="RUN_OR_ID...")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--report", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report.html and its figures into this folder.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def compare_command(refs: tuple[str, ...], as_json: bool, report: Path | None, runs_root: Path) -> None:
    """Compare runs: modalities, compressor ids (their latest finished run) or run folders.

    Reads each run's evaluation.json; a run without one is evaluated first.
    """
    from sage_core.cli.evaluation_view import evaluate_with_progress
    from sage_core.compare.loading import has_evaluation, label_runs, load_run, resolve_runs
    from sage_core.compare.table import comparison, print_table

    if report is not None:
        from sage_core.atomic import check_writable_folder

        check_writable_folder(report)  # before any run is evaluated, not after
    registry = get_registry()
    run_dirs = resolve_runs(refs, registry, runs_root)
    for run_dir in run_dirs:
        if not has_evaluation(run_dir):
            evaluate_with_progress(run_dir, registry=registry)
    records = label_runs([load_run(run_dir) for run_dir in run_dirs])
    data = comparison(records)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        print_table(data)
    if report is not None:
        from sage_core.compare.report import write_report

        path = write_report(records, data, report)
        click.echo(f"wrote {path}", err=as_json)


COMMANDS = [compare_command]
