"""Probe benchmark: do puzzles keep what a reasoner needs? Targets, side by side, as ratios.

For each finished run on labelled data (e.g. the embedded audio words, the vision digits,
CIFAR-10), in this one process:

1. ``evaluate_run`` without probes, with probes trained anew and with the probe cache warm,
   twice each, interleaved (so load from other work hits all alike): what the probes add to
   ``sage evaluate``'s time.
2. The four-way probe table (trained / untrained / baseline puzzles / model input) and the
   targets: trained >= 0.9x the model input (the ceiling) and above the baseline codec.
3. Where the trained puzzles lose what the baseline's keep: the conv probe's per-class
   accuracy, the label information per cell (plug-in mutual information between a cell's
   code and the class, over the probes' training samples) by row and column, and how much
   of a puzzle's mean code follows the input's overall level (a nuisance for the class).

    python benchmarks/probes.py runs/audio_puzzle/steps4000 runs/vision_puzzle/digits1500
    python benchmarks/probes.py RUN --no-timing --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_OF_CEILING = 0.9


def timing(run: Path, repeats: int = 2) -> dict[str, Any]:
    """Seconds of ``evaluate_run`` without probes, with probes trained anew (the probe cache off:
    what the first evaluation of a run pays, e.g. at the end of ``sage train``) and with the
    probe cache warm (what every later ``sage evaluate`` / ``sage compare`` pays), interleaved."""
    from sage_core.analysis import evaluate_run

    evaluate_run(run, probes=True)  # fills the probe cache, as the end of ``sage train`` does
    without, cold, warm, cold_probes, warm_probes = [], [], [], [], []
    for _ in range(repeats):
        without.append(evaluate_run(run, probes=False).wall_s)
        evaluation = evaluate_run(run, probes=True, probe_cache=False)
        cold.append(evaluation.wall_s)
        cold_probes.append(evaluation.probes.seconds if evaluation.probes else 0.0)
        evaluation = evaluate_run(run, probes=True)
        warm.append(evaluation.wall_s)
        warm_probes.append(evaluation.probes.seconds if evaluation.probes else 0.0)
    base = statistics.median(without)
    return {"evaluate_s": base,
            "evaluate_with_probes_s": statistics.median(cold), "probes_s": statistics.median(cold_probes),
            "share": statistics.median(cold) / base - 1,
            "evaluate_with_cached_probes_s": statistics.median(warm), "cached_probes_s": statistics.median(warm_probes),
            "cached_share": statistics.median(warm) / base - 1}


def mutual_information(codes: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """Per cell, the plug-in mutual information (bits) between its code and the class: ``(30, 30)``."""
    n = len(codes)
    flat = codes.reshape(n, -1).astype(np.int64)
    cells = flat.shape[1]
    index = (np.arange(cells)[None, :] * 10 + flat) * classes + labels[:, None]
    joint = np.bincount(index.ravel(), minlength=cells * 10 * classes).reshape(cells, 10, classes) / n
    code_p = joint.sum(2, keepdims=True)
    class_p = joint.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log2(joint / (code_p * class_p)), 0.0)
    return terms.sum((1, 2)).reshape(codes.shape[1], codes.shape[2])


def diagnose(run: Path, evaluation: Any) -> dict[str, Any]:
    """Which classes and which cells the trained puzzles lose against the baseline codec's."""
    from sage_core.analysis.evaluate import run_splits
    from sage_core.analysis.probe_models import ProbeRecipe
    from sage_core.analysis.probes import gather_inputs, training_subset
    from sage_core.data import labels_of
    from sage_core.rundir import RunDirectory
    from sage_core.runs import load_compressor
    from torch.utils.data import Subset

    probes = evaluation.probes
    trained, untrained = load_compressor(run, "best"), load_compressor(run, "untrained")
    splits = run_splits(RunDirectory(run).config(), trained.modality)
    labels = labels_of(splits.train)
    chosen = training_subset(labels, ProbeRecipe())
    subset = Subset(splits.train, chosen.tolist())
    gathered = gather_inputs(trained, untrained, subset, len(chosen))
    y = labels[chosen].numpy()
    k = len(probes.classes)
    information = {kind: mutual_information(torch.cat(gathered.codes[kind]).numpy(), y, k)
                   for kind in ("trained", "baseline")}
    per_class = {kind: probes.inputs[kind].probes["conv"].per_class_accuracy for kind in ("trained", "baseline", "input")}
    gaps = sorted(((per_class["baseline"][i] or 0) - (per_class["trained"][i] or 0), name)
                  for i, name in enumerate(probes.classes))
    x = torch.stack([subset[i] for i in range(len(subset))])
    level = trained.modality.cell_intensity(x).float().mean((1, 2)).numpy()
    follows_level = {kind: float(np.corrcoef(torch.cat(gathered.codes[kind]).float().mean((1, 2)).numpy(), level)[0, 1])
                     for kind in ("trained", "baseline")}
    return {
        "label_bits_per_cell": {kind: float(info.mean()) for kind, info in information.items()},
        "label_bits_by_row": {kind: info.mean(1).round(4).tolist() for kind, info in information.items()},
        "label_bits_by_col": {kind: info.mean(0).round(4).tolist() for kind, info in information.items()},
        "classes_lost_most": [(name, round(gap, 3)) for gap, name in reversed(gaps[-5:])],
        "classes_kept_best": [(name, round(gap, 3)) for gap, name in gaps[:3]],
        "mean_code_vs_input_level_r": follows_level,
        "row_meaning": trained.modality.row_meaning,
    }


def report(run: Path, do_timing: bool) -> dict[str, Any]:
    from sage_core.analysis import evaluate_run
    from sage_core.cli.evaluation_view import print_probes
    from sage_core.rundir import RunDirectory

    started = time.perf_counter()
    measured = timing(run) if do_timing else None
    evaluation = RunDirectory(run).evaluation() if do_timing else evaluate_run(run, probes=True)
    if evaluation is None or evaluation.probes is None:
        print(f"{run}: its data carries no labels; nothing to probe")
        return {"run": str(run), "probes": None}
    probes = evaluation.probes
    print(f"\n== {evaluation.compressor_id} on {evaluation.modality}: {run}")
    print_probes(probes)
    targets = {}
    for probe in ("linear", "conv"):
        trained, ceiling, baseline = (probes.accuracy(kind, probe) for kind in ("trained", "input", "baseline"))
        ratio = trained / ceiling if ceiling else None
        targets[probe] = {"trained_over_input": ratio, "target": TARGET_OF_CEILING,
                          "meets_ceiling_target": ratio is not None and ratio >= TARGET_OF_CEILING,
                          "trained_over_baseline": trained / baseline if baseline else None,
                          "above_baseline": trained > baseline}
        print(f"  {probe}: trained/ceiling {ratio:.3f} (target >= {TARGET_OF_CEILING}: "
              f"{'met' if targets[probe]['meets_ceiling_target'] else 'MISSED'}); trained/baseline "
              f"{targets[probe]['trained_over_baseline']:.3f} ({'above' if trained > baseline else 'NOT above'})")
    found = diagnose(run, evaluation)
    print(f"  label information, mean bits per cell: trained {found['label_bits_per_cell']['trained']:.4f}, "
          f"baseline {found['label_bits_per_cell']['baseline']:.4f}")
    rows = np.array(found["label_bits_by_row"]["trained"]) - np.array(found["label_bits_by_row"]["baseline"])
    print(f"  rows ({found['row_meaning']}) where trained carries least vs baseline: "
          + ", ".join(f"row {int(i)} ({rows[i]:+.4f})" for i in np.argsort(rows)[:5]))
    print(f"  conv probe, classes the trained puzzles lose most vs baseline: {found['classes_lost_most']}")
    print(f"  correlation of a puzzle's mean code with the input's mean level: {found['mean_code_vs_input_level_r']}")
    if measured:
        print(f"  sage evaluate: {measured['evaluate_s']:.1f} s without probes; with probes trained anew "
              f"{measured['evaluate_with_probes_s']:.1f} s (+{measured['share']:.0%}), with the probe cache warm "
              f"{measured['evaluate_with_cached_probes_s']:.1f} s (+{measured['cached_share']:.0%}); target <= +20%")
    return {"run": str(run), "compressor_id": evaluation.compressor_id, "modality": evaluation.modality,
            "probes": probes.model_dump(mode="json"), "targets": targets, "diagnosis": found, "timing": measured,
            "benchmark_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders on labelled data")
    parser.add_argument("--no-timing", action="store_true", help="skip timing sage evaluate with and without probes")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [report(run, not args.no_timing) for run in args.runs]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
