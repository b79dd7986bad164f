"""``sage train``: train any registered compressor with the shared trainer, then evaluate it.

The options are generated from ``TrainingRequest``'s fields, where each is written once.
"""

from __future__ import annotations

import os
import types
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, Callable

import click

from sage_core.cli.context import complete_compressor_ids, get_registry
from sage_core.training.request import TrainingRequest


def _click_type(annotation: Any) -> tuple[Any, bool]:
    """A field's annotation -> (click type, multiple)."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Literal:
        return click.Choice([str(value) for value in typing.get_args(annotation)]), False
    if typing.get_origin(annotation) is tuple:
        return _click_type(typing.get_args(annotation)[0])[0], True
    if annotation is Path:
        return click.Path(path_type=Path), False
    return annotation, False


def request_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add one click option per ``TrainingRequest`` field that declares one."""
    hints = typing.get_type_hints(TrainingRequest)
    for field in reversed(fields(TrainingRequest)):
        cli = dict(field.metadata.get("cli", {}))
        if not cli:
            continue
        click_type, multiple = _click_type(hints[field.name])
        default = () if multiple else (None if field.default is MISSING else field.default)
        function = click.option(*cli.pop("flags"), field.name, type=click_type, multiple=multiple, default=default,
                                show_default=default not in (None, ()), **cli)(function)
    return function


@click.command("train")
@click.argument("compressor", required=False, shell_complete=complete_compressor_ids)
@request_options
@click.option("--no-evaluate", is_flag=True, help="Skip the test-split evaluation at the end.")
def train_command(no_evaluate: bool, **options: Any) -> None:
    """Train COMPRESSOR into a run directory (config, metrics, checkpoints, summary), then evaluate it.

    \b
    Examples:
      sage train toy_puzzle --max-steps 100
      sage train audio_puzzle --data ~/speech_commands -o train.lr=1e-3
      sage train --resume runs/audio_puzzle/20261124T013000Z
      sage train audio_puzzle --nproc 2            # two local processes
      torchrun --nproc-per-node 8 -m sage_core.cli train audio_puzzle --device cuda
    """
    from sage_core.training import train

    if options["compressor"] is None and options["resume"] is None:
        raise click.UsageError("name a COMPRESSOR to train, or --resume RUN_DIR")
    request = TrainingRequest(**{**options, "overrides": tuple(options["overrides"])})
    registry = get_registry()
    result = train(request, registry)
    if no_evaluate or not result.is_main or os.environ.get("RANK", "0") != "0":
        return
    from sage_core.cli.evaluation_view import evaluate_with_progress, print_evaluation
    from sage_core.errors import SageError
    from sage_core.rundir import RunDirectory

    try:
        evaluation = evaluate_with_progress(result.run_dir, registry=registry)
    except SageError as exc:
        raise SageError(f"training finished in {result.run_dir}, but its evaluation failed ({exc}); "
                        f"retry with `sage evaluate {result.run_dir}`") from None
    print_evaluation(evaluation, RunDirectory(result.run_dir).summary())
    click.echo(f"wrote {RunDirectory(result.run_dir).evaluation_path}")


COMMANDS = [train_command]
