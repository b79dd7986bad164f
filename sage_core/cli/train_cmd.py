"""``sage train``: train any registered compressor with the shared trainer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from sage_core.cli.main import complete_compressor_ids, get_registry


@click.command("train")
@click.argument("compressor_id", required=False, shell_complete=complete_compressor_ids)
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="TOML file of config values.")
@click.option("-o", "--override", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Set one config value, e.g. -o train.lr=3e-4 (repeatable; wins over --config).")
@click.option("--data", "data_path", type=click.Path(path_type=Path),
              help="Your data (default: the embedded data set).")
@click.option("--source", help="A registered data source to read --data with (see `sage plugins`).")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory [default: runs/ID/UTC-TIMESTAMP].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the initial weights and the shuffling (a resumed run keeps its own).")
@click.option("--epochs", type=int, help="Passes over the training split (train.epochs).")
@click.option("--max-steps", type=int, help="Stop cleanly after this many steps (train.max_steps).")
@click.option("--max-minutes", type=float, help="Stop cleanly after this wall time (train.max_minutes).")
@click.option("--threads", type=int, help="Torch CPU threads per process (train.threads); 1 on a busy machine.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="auto", show_default=True)
@click.option("--resume", type=click.Path(path_type=Path, file_okay=False), help="Continue this run directory.")
@click.option("--nproc", type=int, default=1, show_default=True, help="Data-parallel processes on this machine.")
@click.option("--no-evaluate", is_flag=True, help="Skip the test-split evaluation at the end.")
def train_command(
    compressor_id: str | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
    data_path: Path | None,
    source: str | None,
    out: Path | None,
    seed: int,
    epochs: int | None,
    max_steps: int | None,
    max_minutes: float | None,
    threads: int | None,
    device: str,
    resume: Path | None,
    nproc: int,
    no_evaluate: bool,
) -> None:
    """Train COMPRESSOR_ID into a run directory (config, metrics, checkpoints, summary).

    \b
    Examples:
      sage train toy_puzzle --max-steps 100
      sage train audio_puzzle --data ~/speech_commands -o train.lr=1e-3
      sage train --resume runs/audio_puzzle/20261124T013000Z
      sage train audio_puzzle --nproc 2            # two local processes
      torchrun --nproc-per-node 8 -m sage_core.cli train audio_puzzle --device cuda
    """
    from sage_core.training import run_training

    if compressor_id is None and resume is None:
        raise click.UsageError("name a COMPRESSOR_ID to train, or --resume RUN_DIR")
    run_dir = run_training(
        compressor_id,
        overrides=overrides,
        config_path=config_path,
        data_path=data_path,
        source=source,
        out=out,
        seed=seed,
        epochs=epochs,
        max_steps=max_steps,
        max_minutes=max_minutes,
        threads=threads,
        device=device,
        resume=resume,
        nproc=nproc,
        registry=get_registry(),
        evaluate=not no_evaluate,
    )
    evaluation = Path(run_dir) / "evaluation.json"
    if not no_evaluate and evaluation.is_file() and os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 speaks
        from sage_core.cli.evaluate_cmd import print_evaluation

        print_evaluation(json.loads(evaluation.read_text()))


COMMANDS = [train_command]
