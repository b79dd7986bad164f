"""``sage probe``: can a classifier still read the class from a run's puzzles? The probes alone."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sage_core.cli.context import get_registry


@click.command("probe")
@click.argument("run")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="Labelled data in a layout the run's modality reads (e.g. <class>/ sub-folders) "
                   "[default: the run's own data].")
@click.option("--source", default=None, help="A registered data source to read --data with (see `sage plugins`).")
@click.option("--split", type=click.Choice(["test", "validation"]), default="test", show_default=True,
              help="The held-out split the probes are scored on (they train on the train split).")
@click.option("--json", "as_json", is_flag=True, help="Print the probes as JSON instead of a table.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def probe_command(run: str, data: Path | None, source: str | None, split: str, as_json: bool, runs_root: Path) -> None:
    """Probe RUN (a run folder, or a compressor id/modality: its latest finished run).

    Trains the same small linear and convolutional classifiers on four inputs (the trained
    model's puzzles, the untrained model's, the baseline codec's, and the continuous model
    input: the ceiling) and prints their held-out accuracy. Writes nothing.
    """
    from sage_core.analysis.probes import probe_run
    from sage_core.runs import resolve_run

    registry = get_registry()
    run_dir = resolve_run(run, registry, root=runs_root)
    probes = probe_run(run_dir, data=data, source=source, split=split, registry=registry)
    if as_json:
        click.echo(json.dumps(probes.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        from sage_core.cli.evaluation_view import print_probes

        print_probes(probes)


COMMANDS = [probe_command]
