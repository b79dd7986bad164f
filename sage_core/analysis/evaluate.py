"""``evaluate_run``: the trained model against the untrained one and a non-learned codec.

Over the whole held-out split, in one pass over the data, three codecs are measured
with the same statistics: the trained model (best checkpoint), the model the trainer
started from (same seed, no training) and the plugin's ``baseline_codec`` at the same
budget. Code statistics are accumulated as counts and reconstruction metrics as sums
over all samples, never averaged per batch. The result goes to ``evaluation.json``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from sage_core.analysis import figures
from sage_core.analysis.code_stats import CodeIntensitySample, CodeStatistics
from sage_core.analysis.metrics_log import read_metrics
from sage_core.atomic import write_json_atomic
from sage_core.contract import PuzzleCompressor
from sage_core.errors import SageError
from sage_core.puzzle import Puzzle

EVALUATION_FILE = "evaluation.json"
FIGURES_DIR = "figures"
#: ``progress(samples_done, samples_total)`` after every batch.
Progress = Callable[[int, int], None]
#: A codec: model inputs ``(N, *input_shape)`` -> ``(codes (N, 30, 30), reconstruction)``.
Codec = Callable[[Tensor], tuple[Tensor, Tensor]]


def model_codec(compressor: PuzzleCompressor) -> Codec:
    """The encode-then-decode path of a compressor in eval mode."""

    def codec(x: Tensor) -> tuple[Tensor, Tensor]:
        codes = compressor.encode_codes(x.to(compressor.device))
        return codes, compressor.decode_codes(codes)

    return codec


@dataclass
class CodecAccumulator:
    """Everything measured about one codec, accumulated batch by batch over a data set.

    ``analyst`` supplies the modality's metrics and cell intensity; it is the trained
    compressor for all three codecs, so they are measured identically.
    """

    analyst: PuzzleCompressor
    total_cells: int
    codes: CodeStatistics = field(default_factory=CodeStatistics)
    metric_sums: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    order: CodeIntensitySample = field(init=False)

    def __post_init__(self) -> None:
        self.order = CodeIntensitySample(self.total_cells)

    def update(self, x: Tensor, codes: Tensor, reconstruction: Tensor) -> None:
        """Add one batch: inputs ``x``, codes ``(N, 30, 30)`` and its reconstruction."""
        x = x.to(reconstruction.device)
        codes_np = codes.detach().cpu().numpy()
        self.codes.update(codes_np)
        intensity = self.analyst.cell_intensity(reconstruction).detach().float().cpu().numpy()
        self.order.update(codes_np, intensity)
        for name, values in self.analyst.reconstruction_metrics(x, reconstruction).items():
            self.metric_sums[name] = self.metric_sums.get(name, 0.0) + float(values.double().sum())
        self.samples += len(x)

    def as_dict(self) -> dict[str, Any]:
        recon = {name: total / self.samples for name, total in sorted(self.metric_sums.items())}
        return {
            **self.codes.as_dict(),
            **self.order.as_dict(),
            "recon": recon,
            "mse01": recon.get("mse01"),
        }


def improvement(trained: float, other: float, higher_is_better: bool) -> dict[str, Any]:
    """How much better ``trained`` is than ``other`` in one metric.

    ``gain`` is positive when the trained model is better; ``ratio`` is trained/other
    (below 1 is better for a lower-is-better metric, above 1 for a higher-is-better one);
    ``relative`` is the gain as a fraction of the other model's value.
    """
    gain = trained - other if higher_is_better else other - trained
    return {
        "trained": trained,
        "other": other,
        "difference": trained - other,
        "gain": gain,
        "ratio": trained / other if other else None,
        "relative": gain / abs(other) if other else None,
        "trained_is_better": gain > 0,
    }


@torch.no_grad()
def batch_invariance(compressor: PuzzleCompressor, x: Tensor, alone: int = 4) -> dict[str, Any]:
    """Encode the first ``alone`` samples one by one and inside the (reversed) batch ``x``."""
    alone = min(alone, len(x))
    in_batch = compressor.encode_codes(x.flip(0).to(compressor.device)).flip(0)[:alone]
    single = torch.cat([compressor.encode_codes(x[i : i + 1].to(compressor.device)) for i in range(alone)])
    differing = int((in_batch != single).sum())
    return {"checked": alone, "batch_size": len(x), "identical": differing == 0, "cells_differing": differing}


def _median_seconds(action: Callable[[], Any], repeats: int) -> float:
    action()  # warm-up: first calls allocate
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def encode_speed(compressor: PuzzleCompressor, x: Tensor, repeats: int = 15) -> dict[str, Any]:
    """Median ms to encode one sample, and samples/s at batch 64, both on one CPU thread.

    One thread makes the figures comparable between runs and machines: on a shared
    machine several threads can be far slower (measured 45-55x for the toy model on the
    2-core build machine under load). Timed through the public ``encode`` (what a user
    pays, puzzle conversion included). The thread count is restored afterwards.
    """
    threads = torch.get_num_threads()
    batch = x[torch.arange(64) % len(x)]
    torch.set_num_threads(1)
    try:
        latency_s = _median_seconds(lambda: compressor.encode(x[:1]), repeats)
        batch_s = _median_seconds(lambda: compressor.encode(batch), 3)
    finally:
        torch.set_num_threads(threads)
    return {
        "encode_latency_ms": latency_s * 1000.0,
        "encode_throughput_per_s": 64 / batch_s,
        "encode_timing": {"threads": 1, "latency_batch": 1, "throughput_batch": 64, "device": str(compressor.device)},
    }


def example_indices(n: int, count: int = 4) -> list[int]:
    """A deterministic spread of examples over the evaluated set: first, last and between."""
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, min(count, n))})


def evaluate_compressor(
    trained: PuzzleCompressor,
    untrained: PuzzleCompressor,
    dataset: Dataset[Tensor],
    *,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[tuple[int, Tensor, Tensor, Tensor]]]:
    """Measure the three codecs over all of ``dataset``.

    Returns the evaluation dict (without run information or figures) and the
    ``(index, input, codes, reconstruction)`` of the trained model on a few fixed examples.
    """
    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise SageError("the held-out split is empty; nothing to evaluate")
    trained.eval()
    untrained.eval()
    codecs: dict[str, Codec] = {
        "trained": model_codec(trained),
        "untrained": model_codec(untrained),
        "baseline": trained.baseline_codec,
    }
    accumulators = {kind: CodecAccumulator(trained, n * 900) for kind in codecs}
    wanted = example_indices(n)
    chosen: list[tuple[int, Tensor, Tensor, Tensor]] = []
    first_batch: Tensor | None = None
    done = 0
    with torch.no_grad():
        for x in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            first_batch = x if first_batch is None else first_batch
            for kind, codec in codecs.items():
                codes, reconstruction = codec(x)
                accumulators[kind].update(x, codes, reconstruction)
                if kind == "trained":
                    chosen += [(i, x[i - done], codes[i - done].cpu(), reconstruction[i - done].cpu())
                               for i in wanted if done <= i < done + len(x)]
            done += len(x)
            if progress is not None:
                progress(done, n)
    assert first_batch is not None
    models = {kind: accumulator.as_dict() for kind, accumulator in accumulators.items()}
    metric = trained.primary_metric
    if metric not in models["trained"]["recon"]:
        raise SageError(f"{trained.id}: reconstruction_metrics lacks its primary metric {metric!r}")
    result: dict[str, Any] = {
        "samples": n,
        "compressor_id": trained.id,
        "modality": trained.modality,
        "primary_metric": metric,
        "higher_is_better": trained.higher_is_better,
        "ordered_codes": trained.ordered_codes,
        "models": models,
        "improvement": {
            f"over_{other}": improvement(
                models["trained"]["recon"][metric], models[other]["recon"][metric], trained.higher_is_better
            )
            for other in ("untrained", "baseline")
        },
        "batch_invariance": batch_invariance(trained, first_batch[:16]),
        **encode_speed(trained, first_batch),
    }
    return result, chosen


def held_out_dataset(run_config: dict[str, Any], split: str, compressor: PuzzleCompressor,
                     registry: Any = None) -> Dataset[Tensor]:
    """The run's ``split``, loaded as the trainer loaded it, capped by ``train.eval_max_samples``.

    ``config.json`` names the data (``data_path``, ``source``: a registered data source);
    generated default data comes back from the cache.
    """
    from sage_core.data import DataReport, cache_dir
    from sage_core.specs import import_object

    source = run_config.get("source")
    if source:
        if registry is None:
            from sage_core.plugins import load_plugins

            registry = load_plugins()
        factory = import_object(registry.data_source(source).factory)
    else:
        factory = type(compressor).build_datasets
    data_path = run_config.get("data_path")
    splits = factory(compressor.config, Path(data_path) if data_path else None, cache_dir(), DataReport())
    dataset = getattr(splits, split)
    cap = compressor.config.train.eval_max_samples
    if cap is not None and cap < len(dataset):
        dataset = Subset(dataset, range(cap))
    return dataset


def _write_figures(run_dir: Path, result: dict[str, Any], compressor: PuzzleCompressor,
                   chosen: Sequence[tuple[int, Tensor, Tensor, Tensor]]) -> list[str]:
    """The run's figures under ``run_dir/figures``; returns paths relative to ``run_dir``."""
    folder = run_dir / FIGURES_DIR
    label = result["compressor_id"]
    models = result["models"]
    paths = [
        figures.training_curves({label: read_metrics(run_dir)}, folder / "training_curves.png"),
        figures.code_histograms({label: {k: m["code_histogram"] for k, m in models.items()}},
                                folder / "code_histogram.png"),
        figures.examples(
            [(f"sample {index}", compressor.to_image(x), Puzzle(codes.numpy(), compressor.puzzle_meta()).to_rgb(4)[0],
              compressor.to_image(reconstruction))
             for index, x, codes, reconstruction in chosen],
            folder / "examples.png",
            origin=compressor.figure_origin,
        ),
        figures.code_intensity({label: models["trained"]["intensity_by_code"]}, folder / "code_intensity.png"),
        figures.spatial_structure({label: models}, folder / "spatial_structure.png"),
    ]
    return [str(path.relative_to(run_dir)) for path in paths]


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    registry: Any = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate a run on its held-out ``split``; write ``evaluation.json`` and figures."""
    from sage_core.runs import load_compressor, read_run_config

    if split not in ("test", "validation"):
        raise SageError(f"split must be 'test' or 'validation', got {split!r}")
    run_dir = Path(run_dir)
    run_config = read_run_config(run_dir)
    started = time.perf_counter()
    trained = load_compressor(run_dir, "best", registry=registry)
    untrained = load_compressor(run_dir, "untrained", registry=registry)
    dataset = held_out_dataset(run_config, split, trained, registry)
    result, chosen = evaluate_compressor(
        trained, untrained, dataset, batch_size=trained.config.train.eval_batch_size, progress=progress
    )
    result = {"split": split, "run": str(run_dir), "seed": run_config.get("seed"), **result}
    result["figures"] = _write_figures(run_dir, result, trained, chosen)
    result["wall_s"] = time.perf_counter() - started
    write_json_atomic(run_dir / EVALUATION_FILE, result)
    return result
