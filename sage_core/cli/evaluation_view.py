"""Running an evaluation with a progress bar, and showing one as a table (rich, on the terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def evaluate_with_progress(run_dir: Path, registry: Any = None, **options: Any) -> Any:
    """``evaluate_run`` with a progress bar on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sage_core.analysis import evaluate_run

    console = Console(stderr=True)
    with Progress(TextColumn(f"[bold]evaluate[/] {escape(str(run_dir))}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("evaluate", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return evaluate_run(run_dir, registry=registry, progress=progress, **options)


def print_evaluation(evaluation: Any, summary: Any = None) -> None:
    """The three models side by side as a rich table (``evaluation`` is an ``Evaluation``)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from sage_core.run_files import CODEC_KINDS

    metric = evaluation.primary_metric
    models = {kind: evaluation.models[kind] for kind in CODEC_KINDS}
    direction = "higher" if evaluation.higher_is_better else "lower"
    where = f"{evaluation.split} split" if evaluation.data is None else f"files under {evaluation.data}"
    table = Table(title=escape(f"{evaluation.compressor_id}: {where}, {evaluation.samples} samples"))
    table.add_column("", style="bold")
    for kind in models:
        table.add_column(kind)
    rows = [
        ("codes used (of 10)", lambda m: str(m.codes_used)),
        ("perplexity", lambda m: f"{m.perplexity:.2f}"),
        ("entropy bits/cell (max 3.32)", lambda m: f"{m.entropy_bits:.2f}"),
        ("bits/puzzle (of 2,990)", lambda m: f"{m.bits_per_puzzle:.0f}"),
        ("code-order Spearman, all cells", lambda m: _rho(m.code_order_spearman)),
        ("code-order Spearman, within a puzzle", lambda m: _rho(m.code_order_within)),
        *[(f"{name}{' (primary, ' + direction + ' is better)' if name == metric else ''}",
           lambda m, name=name: f"{m.recon[name]:.4g}") for name in models["trained"].recon],
        *[(f"{name}, end to end", lambda m, name=name: f"{m.end_to_end[name]:.4g}" if "end_to_end" in (m.model_extra or {})
           else "-") for name in (models["trained"].model_extra or {}).get("end_to_end", {})],
    ]
    for name, cell in rows:
        table.add_row(escape(name), *(escape(cell(model)) for model in models.values()))
    console = Console()
    console.print(table)
    comparisons = {key.replace("over_", "").replace("_", " "): item for key, item in evaluation.improvement.items()}
    end_to_end = (evaluation.model_extra or {}).get("end_to_end_improvement")
    for other, item in comparisons.items():
        _print_ratio(console, other, metric, item.trained, item.other, item.ratio, item.trained_is_better)
    if end_to_end:
        _print_ratio(console, "baseline, end to end", metric, end_to_end["trained"], end_to_end["other"],
                     end_to_end["ratio"], end_to_end["trained_is_better"])
    invariance = evaluation.batch_invariance
    if invariance is not None:
        console.print(f"batch invariance: {'identical' if invariance.identical else 'DIFFERENT'} "
                      f"({invariance.checked} samples checked); encode {evaluation.encode_latency_ms:.2f} ms/sample "
                      f"(1 thread), {evaluation.encode_throughput_per_s:.0f} samples/s at batch 64")
    if evaluation.probes is not None:
        print_probes(evaluation.probes, console)
    if summary is not None and summary.stop_reason == "max_minutes":
        console.print(f"training stopped by its time cap (train.max_minutes) after {summary.steps} of "
                      f"{summary.total_steps} planned steps: the result depends on this machine's speed", style="bold")
    console.print(escape(f"figures: {', '.join(evaluation.figures)}"))


def _rho(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print_ratio(console: Any, other: str, metric: str, trained: float, value: float, ratio: float | None,
                 better: bool) -> None:
    text = "undefined" if ratio is None else f"{ratio:.3g}"
    console.print(f"{other}: {metric} {trained:.4g} vs {value:.4g} "
                  f"(ratio {text}; trained is {'better' if better else 'NOT better'})", markup=False)


#: How the probe table names each input.
PROBE_INPUT_NAMES = {"trained": "trained puzzles", "untrained": "untrained puzzles (same seed)",
                     "baseline": "baseline codec puzzles", "input": "model input (ceiling)"}


def print_probes(probes: Any, console: Any = None) -> None:
    """The four-way probe table (accuracy per input and probe, seconds), chance and the ratios."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=escape(f"probes: can a classifier tell the {len(probes.classes)} classes? "
                               f"(trained on {probes.train_samples} train samples, "
                               f"scored on {probes.test_samples} held-out)"))
    for column in ("input", "linear", "conv", "seconds"):
        table.add_column(column, style="bold" if column == "input" else None)
    from sage_core.run_files import PROBE_INPUTS

    for kind in [kind for kind in PROBE_INPUTS if kind in probes.inputs]:
        result = probes.inputs[kind]
        seconds = result.prepare_seconds + sum(score.seconds for score in result.probes.values())
        table.add_row(escape(PROBE_INPUT_NAMES.get(kind, kind)),
                      *(f"{result.probes[p].accuracy:.1%}" if p in result.probes else "-" for p in ("linear", "conv")),
                      f"{seconds:.1f}")
    table.add_row("chance (most common class)", f"{probes.chance:.1%}", f"{probes.chance:.1%}", "")
    console.print(table)
    for kind, ratio in probes.ratios().items():
        over, minus = ratio["trained_over_input"], ratio["trained_minus_baseline"]
        parts = []
        if over is not None:
            parts.append(f"trained / ceiling {over:.2f}")
        if minus is not None:
            parts.append(f"trained - baseline {minus:+.1%}")
        if parts:
            console.print(f"{kind} probe: {'; '.join(parts)}", markup=False)
    scores = [score for result in probes.inputs.values() for score in result.probes.values()]
    reused = sum(score.cached for score in scores)
    note = f" ({reused} of {len(scores)} probes reused from the probe cache)" if reused else ""
    console.print(f"probes took {probes.seconds:.1f} s{note}", markup=False)
