"""The comparison: one entry per run (``--json``) and its rows for the terminal and HTML.

The same ``comparison`` dict feeds all three outputs, so the table, the JSON and the
report never disagree.
"""

from __future__ import annotations

from typing import Any

from sage_core.compare.loading import RunRecord
from sage_core.grid import MAX_BITS_PER_CELL
from sage_core.run_files import PROBE_INPUTS, Probes, RunSummary


def run_entry(record: RunRecord) -> dict[str, Any]:
    """What compare shows about one run, as plain JSON-able data."""
    evaluation = record.evaluation
    summary = record.summary or RunSummary(status="failed")
    report = record.data_report
    return {
        "label": record.label,
        "run": str(record.path),
        "compressor_id": record.compressor_id,
        "modality": evaluation.modality,
        "plugin": record.config.plugin,
        "data": {
            "source": report.get("source"),
            "sizes": report.get("counts") or summary.data_sizes,
            "skipped": report.get("skipped_samples", report.get("skipped_count")),
            "evaluated_split": evaluation.split,
            "evaluated_samples": evaluation.samples,
        },
        "parameters": summary.parameters,
        "training": {
            "status": record.summary.status if record.summary else None,
            "stop_reason": summary.stop_reason,
            "wall_s": summary.wall_s,
            "samples_per_s": summary.train_samples_per_s,
            "steps": summary.steps,
        },
        "codes": {
            kind: {
                "codes_used": model.codes_used,
                "perplexity": model.perplexity,
                "entropy_bits": model.entropy_bits,
                "entropy_fraction": model.entropy_bits / MAX_BITS_PER_CELL,
                "bits_per_puzzle": model.bits_per_puzzle,
                "code_order_spearman": model.code_order_spearman,
                "code_order_within": model.code_order_within,
            }
            for kind, model in evaluation.models.items()
        },
        "primary_metric": evaluation.primary_metric,
        "higher_is_better": evaluation.higher_is_better,
        "ordered_codes": evaluation.ordered_codes,
        "recon": evaluation.models["trained"].recon,
        "improvement": {name: item.model_dump() for name, item in evaluation.improvement.items()},
        "batch_invariance": evaluation.batch_invariance.model_dump() if evaluation.batch_invariance else None,
        "encode_latency_ms": evaluation.encode_latency_ms,
        "encode_throughput_per_s": evaluation.encode_throughput_per_s,
        "probes": _probe_entry(evaluation.probes),
    }


def _probe_entry(probes: Probes | None) -> dict[str, Any] | None:
    """The probes in brief: accuracy per input and probe, chance, the ratios, the cost."""
    if probes is None:
        return None
    return {
        "classes": len(probes.classes),
        "chance": probes.chance,
        "train_samples": probes.train_samples,
        "test_samples": probes.test_samples,
        "accuracy": {kind: {probe: score.accuracy for probe, score in result.probes.items()}
                     for kind, result in probes.inputs.items()},
        "ratios": probes.ratios(),
        "seconds": probes.seconds,
    }


def comparison(records: list[RunRecord]) -> dict[str, Any]:
    return {"runs": [run_entry(record) for record in records]}


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _sizes(sizes: Any) -> str:
    if not isinstance(sizes, dict):
        return "-"
    return " / ".join(f"{sizes.get(split, 0):,}" for split in ("train", "validation", "test"))


def _improvement(entry: dict[str, Any], other: str) -> str:
    item = entry["improvement"][f"over_{other}"]
    verdict = "better" if item["trained_is_better"] else "WORSE"
    return f"{_number(item['other'])}: ratio {_number(item['ratio'])} ({verdict})"


def _primary(entry: dict[str, Any]) -> str:
    direction = "higher" if entry["higher_is_better"] else "lower"
    return f"{entry['primary_metric']} ({direction} is better)"


def _probe_cell(entry: dict[str, Any], kind: str) -> str:
    """``linear / conv`` accuracy of one probe input, ``-`` without probes."""
    probes = entry.get("probes")
    found = (probes or {}).get("accuracy", {}).get(kind)
    if not found:
        return "-"
    return " / ".join(f"{found[p]:.1%}" if p in found else "-" for p in ("linear", "conv"))


def _probe_ratio(entry: dict[str, Any]) -> str:
    probes = entry.get("probes")
    if not probes:
        return "-"
    cells = []
    for probe in ("linear", "conv"):
        ratio = probes["ratios"][probe]["trained_over_input"]
        cells.append("-" if ratio is None else f"{ratio:.2f}")
    return " / ".join(cells)


_PROBE_ROWS = {"trained": "probe: trained puzzles", "untrained": "probe: untrained puzzles",
               "baseline": "probe: baseline puzzles", "input": "probe: model input"}


def probe_rows(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The probe rows, when any run has probes (held-out accuracy, chance, trained / ceiling)."""
    runs = data["runs"]
    if not any(entry.get("probes") for entry in runs):
        return []

    def chance(entry: dict[str, Any]) -> str:
        probes = entry.get("probes")
        if not probes:
            return "no labels"
        return (f"{probes['chance']:.1%} ({probes['classes']} classes, {probes['test_samples']:,} held out); "
                "below: linear / conv accuracy")

    return [
        ("probe: chance", [chance(entry) for entry in runs]),
        *[(_PROBE_ROWS[kind], [_probe_cell(entry, kind) for entry in runs]) for kind in PROBE_INPUTS],
        ("probe: trained / input", [_probe_ratio(entry) for entry in runs]),
    ]


def table_rows(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """``(row name, one cell per run)`` for the terminal table and the HTML report."""
    runs = data["runs"]

    def row(name: str, cell: Any) -> tuple[str, list[str]]:
        return name, [cell(entry) for entry in runs]

    def trained(key: str, digits: int = 3) -> Any:
        return lambda e: _number(e["codes"]["trained"][key], digits)

    return [
        row("modality", lambda e: e["modality"] or "-"),
        row("data set", lambda e: e["data"]["source"] or "-"),
        row("train / val / test", lambda e: _sizes(e["data"]["sizes"])),
        row("evaluated on", lambda e: f"{e['data']['evaluated_split']} ({_number(e['data']['evaluated_samples'])})"),
        row("parameters", lambda e: _number(e["parameters"])),
        row("training time", lambda e: _duration(e["training"]["wall_s"])
            + (f" (stopped by {e['training']['stop_reason']})" if e["training"]["stop_reason"] else "")),
        row("training samples/s", lambda e: _number(e["training"]["samples_per_s"])),
        row("codes used (of 10)", lambda e: f"{e['codes']['trained']['codes_used']} "
            f"(untrained {e['codes']['untrained']['codes_used']})"),
        row("perplexity (whole set)", trained("perplexity")),
        row("entropy bits/cell", lambda e: f"{e['codes']['trained']['entropy_bits']:.2f} "
            f"({e['codes']['trained']['entropy_fraction']:.1%} of log2 10)"),
        row("bits/puzzle (of 2,990)", trained("bits_per_puzzle", 4)),
        row("code-order Spearman, all cells (within a puzzle)",
            lambda e: _number(e["codes"]["trained"]["code_order_spearman"])
            + f" ({_number(e['codes']['trained']['code_order_within'])})"
            + ("" if e["ordered_codes"] else " (order not claimed)")),
        row("primary metric", _primary),
        row("trained model", lambda e: _number(e["recon"][e["primary_metric"]], 4)),
        row("untrained model (same seed)", lambda e: _improvement(e, "untrained")),
        row("baseline codec (same budget)", lambda e: _improvement(e, "baseline")),
        row("mse01 (trained)", lambda e: _number(e["recon"].get("mse01"))),
        row("batch invariant", lambda e: "-" if not e["batch_invariance"] else
            f"{'yes' if e['batch_invariance']['identical'] else 'NO'} ({e['batch_invariance']['checked']} checked)"),
        row("encode latency (1 thread)", lambda e: f"{_number(e['encode_latency_ms'])} ms"),
        row("encode batch 64 (1 thread)", lambda e: f"{_number(e['encode_throughput_per_s'])} /s"),
        *probe_rows(data),
    ]


def print_table(data: dict[str, Any]) -> None:
    """The comparison as a rich table on stdout: one column per run."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="sage compare", show_lines=False)
    table.add_column("", style="bold")
    for entry in data["runs"]:
        table.add_column(escape(entry["label"]), overflow="fold")  # folded: run labels can be long
    for name, cells in table_rows(data):
        table.add_row(escape(name), *(escape(cell) for cell in cells))
    Console().print(table)
