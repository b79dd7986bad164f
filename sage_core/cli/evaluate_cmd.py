"""``sage evaluate``: measure a run against its untrained model and a non-learned codec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sage_core.cli.main import get_registry


def evaluate_with_progress(run_dir: Path, split: str = "test", registry: Any = None) -> dict[str, Any]:
    """``evaluate_run`` with a progress bar on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sage_core.analysis import evaluate_run

    with Progress(TextColumn(f"[bold]evaluate[/] {escape(str(run_dir))}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("evaluate", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return evaluate_run(run_dir, split=split, registry=registry, progress=progress)


def print_evaluation(result: dict[str, Any]) -> None:
    """The three models side by side as a rich table."""
    from rich.console import Console
    from rich.table import Table

    metric = result["primary_metric"]
    known = [k for k in ("trained", "untrained", "baseline") if k in result["models"]]  # the file sorts keys
    models = {k: result["models"][k] for k in known + sorted(set(result["models"]) - set(known))}
    direction = "higher" if result["higher_is_better"] else "lower"
    table = Table(title=f"{result['compressor_id']}: {result['split']} split, {result['samples']} samples")
    table.add_column("", style="bold")
    for kind in models:
        table.add_column(kind)
    rows = [
        ("codes used (of 10)", lambda m: str(m["codes_used"])),
        ("perplexity", lambda m: f"{m['perplexity']:.2f}"),
        ("entropy bits/cell (max 3.32)", lambda m: f"{m['entropy_bits']:.2f}"),
        ("bits/puzzle (of 2,990)", lambda m: f"{m['bits_per_puzzle']:.0f}"),
        ("code-order Spearman", lambda m: "-" if m["code_order_spearman"] is None else f"{m['code_order_spearman']:.3f}"),
        *[(f"{name}{' (primary, ' + direction + ' is better)' if name == metric else ''}",
           lambda m, name=name: f"{m['recon'][name]:.4g}") for name in models["trained"]["recon"]],
    ]
    for name, cell in rows:
        table.add_row(name, *(cell(model) for model in models.values()))
    console = Console()
    console.print(table)
    for other, item in result["improvement"].items():
        ratio = "undefined" if item["ratio"] is None else f"{item['ratio']:.3g}"
        console.print(f"{other.replace('_', ' ')}: {metric} {item['trained']:.4g} vs {item['other']:.4g} "
                      f"(ratio {ratio}; trained is {'better' if item['trained_is_better'] else 'NOT better'})")
    invariance = result["batch_invariance"]
    console.print(f"batch invariance: {'identical' if invariance['identical'] else 'DIFFERENT'} "
                  f"({invariance['checked']} samples checked); encode {result['encode_latency_ms']:.2f} ms/sample "
                  f"(1 thread), {result['encode_throughput_per_s']:.0f} samples/s at batch 64")
    console.print(f"figures: {', '.join(result['figures'])}")


@click.command("evaluate")
@click.argument("run")
@click.option("--split", type=click.Choice(["test", "validation"]), default="test", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print evaluation.json instead of a table.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def evaluate_command(run: str, split: str, as_json: bool, runs_root: Path) -> None:
    """Evaluate RUN (a run folder, or a compressor id/modality: its latest finished run).

    Writes RUN/evaluation.json and RUN/figures/*.png.
    """
    from sage_core.runs import resolve_run_or_id

    registry = get_registry()
    run_dir = resolve_run_or_id(run, registry, root=runs_root)
    result = evaluate_with_progress(run_dir, split=split, registry=registry)
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        print_evaluation(result)
        click.echo(f"wrote {run_dir / 'evaluation.json'}")


COMMANDS = [evaluate_command]
