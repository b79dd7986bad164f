"""``evaluate_run``: the trained model against the untrained one and a non-learned codec.

Over a whole held-out set, in one pass over the data, three codecs are measured with the
same statistics: the trained model (best checkpoint), the model the trainer started from
(same seed, no training) and the modality's ``baseline_codec`` at the same budget. Code
statistics are accumulated as counts and reconstruction metrics as sums over all samples,
never averaged per batch. The held-out set is the run's test (or validation) split, or any
folder of the user's files (``--data``), read and windowed as ``sage encode`` reads them.
With ``end_to_end`` each reconstruction also goes through the files a user gets
(``write_output`` then ``read_file``: for audio, Griffin-Lim to WAV and back) and is
measured again.
"""

from __future__ import annotations

import re
import statistics
import tempfile
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
from sage_core.analysis.probe_models import ProbeRecipe
from sage_core.analysis.probes import ProbeInputs, run_probes
from sage_core.contract import PuzzleCompressor
from sage_core.data import DataReport, DataSplits, TensorListDataset, cache_dir, labels_of
from sage_core.errors import InputError, SageError
from sage_core.grid import CELLS
from sage_core.modality import Modality
from sage_core.puzzle import Puzzle
from sage_core.run_files import Evaluation
from sage_core.rundir import RunDirectory
#: ``progress(samples_done, samples_total)`` after every batch.
Progress = Callable[[int, int], None]
#: A codec: model inputs ``(N, *input_shape)`` -> ``(codes (N, 30, 30), reconstruction)``.
Codec = Callable[[Tensor], tuple[Tensor, Tensor]]


def model_codec(compressor: PuzzleCompressor) -> Codec:
    """The encode-then-decode path of a compressor in eval mode, every result checked."""

    def codec(x: Tensor) -> tuple[Tensor, Tensor]:
        codes = compressor.encode_checked(x)
        return codes, compressor.decode_checked(codes)

    return codec


@dataclass
class CodecAccumulator:
    """Everything measured about one codec, accumulated batch by batch over a data set.

    ``analyst`` (the modality) supplies the metrics and cell intensity, the same for all
    three codecs, so they are measured identically.
    """

    analyst: Modality
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


class RoundTrip:
    """Metrics of reconstructions after the trip a user's output takes: to files and back.

    Each reconstructed sample is written with ``write_output`` and read back with
    ``read_file`` into a scratch folder, then measured against the original input. A file
    the modality cannot read back (e.g. bytes that are not UTF-8) is counted, not measured.
    """

    def __init__(self, modality: Modality, folder: Path) -> None:
        self.modality, self.folder = modality, folder
        self.metric_sums: dict[str, float] = {}
        self.samples = self.unreadable = 0

    def update(self, x: Tensor, reconstruction: Tensor) -> None:
        kept, back = [], []
        for i in range(len(x)):
            written = self.modality.write_output(reconstruction[i : i + 1].cpu(), self.folder / f"sample-{i}")
            try:
                back.append(self.modality.read_file(written[0])[:1])
                kept.append(i)
            except InputError:
                self.unreadable += 1
            for path in written:
                Path(path).unlink(missing_ok=True)
        if kept:
            for name, values in self.modality.reconstruction_metrics(x[kept].cpu(), torch.cat(back)).items():
                self.metric_sums[name] = self.metric_sums.get(name, 0.0) + float(values.double().sum())
        self.samples += len(kept)

    def as_dict(self) -> dict[str, float]:
        figures = {name: total / max(1, self.samples) for name, total in sorted(self.metric_sums.items())}
        return {**figures, "unreadable_files": float(self.unreadable)} if self.unreadable else figures


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

    One thread makes the figures comparable between runs and machines: on a machine shared
    with other jobs, several threads can be many times slower than one for a small model.
    Timed through the public ``encode`` (what a user pays, puzzle conversion included).
    The thread count is restored afterwards.
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
    end_to_end: bool = False,
    probe_inputs: ProbeInputs | None = None,
) -> tuple[dict[str, Any], list[tuple[int, Tensor, Tensor, Tensor]]]:
    """Measure the three codecs over all of ``dataset``.

    Returns the evaluation dict (without run information or figures) and the
    ``(index, input, codes, reconstruction)`` of the trained model on a few fixed examples.
    With ``end_to_end``, the trained and baseline codecs are measured again after their
    reconstructions went to files and back (``models[kind]["end_to_end"]``). ``probe_inputs``
    collects each codec's codes and the probe features of the inputs on the way (for the probes).
    """
    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise SageError("the held-out set is empty; nothing to evaluate")
    modality = trained.modality
    trained.eval()
    untrained.eval()
    codecs: dict[str, Codec] = {
        "trained": model_codec(trained),
        "untrained": model_codec(untrained),
        "baseline": modality.baseline_codec,
    }
    accumulators = {kind: CodecAccumulator(modality, n * CELLS) for kind in codecs}
    wanted = example_indices(n)
    chosen: list[tuple[int, Tensor, Tensor, Tensor]] = []
    first_batch: Tensor | None = None
    done = 0
    with tempfile.TemporaryDirectory(prefix="sage-round-trip-") as scratch, torch.no_grad():
        trips = {kind: RoundTrip(modality, Path(scratch)) for kind in ("trained", "baseline")} if end_to_end else {}
        for x in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            first_batch = x if first_batch is None else first_batch
            if probe_inputs is not None:
                probe_inputs.add_input(x)
            for kind, codec in codecs.items():
                codes, reconstruction = codec(x)
                accumulators[kind].update(x, codes, reconstruction)
                if probe_inputs is not None:
                    probe_inputs.add_codes(kind, codes)
                if kind in trips:
                    trips[kind].update(x, reconstruction)
                if kind == "trained":
                    chosen += [(i, x[i - done], codes[i - done].cpu(), reconstruction[i - done].cpu())
                               for i in wanted if done <= i < done + len(x)]
            done += len(x)
            if progress is not None:
                progress(done, n)
    assert first_batch is not None
    models = {kind: accumulator.as_dict() for kind, accumulator in accumulators.items()}
    for kind, trip in trips.items():
        models[kind]["end_to_end"] = trip.as_dict()
    metric = modality.primary_metric
    if metric not in models["trained"]["recon"]:
        raise SageError(f"modality {modality.name!r}: reconstruction_metrics lacks its primary metric {metric!r}")
    result: dict[str, Any] = {
        "samples": n,
        "compressor_id": trained.id,
        "modality": modality.name,
        "primary_metric": metric,
        "higher_is_better": modality.higher_is_better,
        "ordered_codes": trained.ordered_codes,
        "models": models,
        "improvement": {
            f"over_{other}": improvement(
                models["trained"]["recon"][metric], models[other]["recon"][metric], modality.higher_is_better
            )
            for other in ("untrained", "baseline")
        },
        "batch_invariance": batch_invariance(trained, first_batch[:16]),
        **encode_speed(trained, first_batch),
    }
    if end_to_end:
        result["end_to_end_improvement"] = improvement(
            models["trained"]["end_to_end"][metric], models["baseline"]["end_to_end"][metric], modality.higher_is_better
        )
    return result, chosen


def run_splits(config: Any, modality: Modality, registry: Any = None) -> DataSplits:
    """The run's data, loaded as the trainer loaded it (``config.data_path``, ``config.source``).

    ``config`` is the run's ``RunConfig``; generated default data comes back from the cache.
    """
    data_path = Path(config.data_path) if config.data_path else None
    if config.source:
        if registry is None:
            from sage_core.plugins import load_plugins

            registry = load_plugins()
        from sage_core.specs import import_object

        factory = import_object(registry.data_source(config.source).factory)
        return factory(modality, data_path, cache_dir(), DataReport())
    return modality.build_datasets(data_path, cache_dir(), DataReport())


def capped(config: Any, dataset: Dataset[Tensor]) -> Dataset[Tensor]:
    """``dataset``'s first ``train.eval_max_samples`` samples (all when the run sets no cap)."""
    cap = config.config.get("train", {}).get("eval_max_samples")
    if cap is not None and cap < len(dataset):  # type: ignore[arg-type]
        return Subset(dataset, range(cap))
    return dataset


def held_out_dataset(config: Any, split: str, modality: Modality, registry: Any = None) -> Dataset[Tensor]:
    """The run's ``split``, loaded as the trainer loaded it, capped by ``train.eval_max_samples``."""
    return capped(config, run_splits(config, modality, registry).split(split))


def folder_dataset(modality: Modality, root: Path, report: DataReport) -> TensorListDataset:
    """Every file under ``root`` (or ``root`` itself), read and windowed as ``sage encode`` reads it.

    Files the modality cannot read are skipped and recorded in ``report``; hidden files and
    folders are not data. Sample names are ``FILE#WINDOW``.
    """
    root = Path(root)
    if not root.exists():
        raise InputError(root, "no such file or folder")
    files = [root] if root.is_file() else sorted(
        path for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )
    windows, names = [], []
    for path in files:
        try:
            x = modality.read_file(path)
        except InputError as exc:
            report.skip(path, exc.problem, "test")
            continue
        windows.append(x)
        names += [f"{path}#{i}" for i in range(len(x))]
    if not windows:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:3])
        raise InputError(root, f"holds no file {modality.name} can read" + (f" ({reasons})" if reasons else ""))
    report.source = f"files under {root}"
    report.count("test", len(names))
    return TensorListDataset(torch.cat(windows), names)


def _write_figures(folder: Path, base: Path, result: dict[str, Any], compressor: PuzzleCompressor,
                   metrics: list[dict[str, Any]], chosen: Sequence[tuple[int, Tensor, Tensor, Tensor]]) -> list[str]:
    """The evaluation's figures in ``folder``; returns their paths relative to ``base``.

    With probes, ``probe_confusion.png`` shows the conv probe's confusion on the trained
    puzzles and on the model input.
    """
    label = result["compressor_id"]
    models = result["models"]
    modality = compressor.modality
    paths = [
        figures.training_curves({label: metrics}, folder / "training_curves.png"),
        figures.code_histograms({label: {k: m["code_histogram"] for k, m in models.items()}},
                                folder / "code_histogram.png"),
        figures.examples(
            [(f"sample {index}", modality.to_image(x), Puzzle(codes.numpy(), compressor.puzzle_meta()).to_rgb(4)[0],
              modality.to_image(reconstruction))
             for index, x, codes, reconstruction in chosen],
            folder / "examples.png",
            origin=modality.figure_origin,
            axes=modality.figure_axes(),
        ),
        figures.code_intensity({label: models["trained"]["intensity_by_code"]}, folder / "code_intensity.png"),
        figures.spatial_structure({label: models}, folder / "spatial_structure.png"),
    ]
    if result.get("probes"):
        paths.append(figures.confusion_matrices({label: figures.confusion_panels(result["probes"])},
                                                folder / "probe_confusion.png"))
    return [str(path.relative_to(base)) for path in paths]



def evaluation_path(run: RunDirectory, data: str | Path | None = None) -> Path:
    """Where an evaluation goes: the run's ``evaluation.json``, or ``evaluations/<name>.json`` for ``--data``."""
    if data is None:
        return run.evaluation_path
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(data).resolve().name or "data").strip("._") or "data"
    return run.path / "evaluations" / f"{slug}.json"


def evaluate_run(
    run_dir: str | Path,
    split: str = "test",
    registry: Any = None,
    progress: Progress | None = None,
    data: str | Path | None = None,
    end_to_end: bool | None = None,
    probes: bool = True,
    probe_recipe: ProbeRecipe = ProbeRecipe(),
    probe_cache: bool = True,
) -> Evaluation:
    """Evaluate a run on its held-out ``split``, or on the files under ``data``.

    Writes ``evaluation.json`` and ``figures/`` for the run's own split; an evaluation on
    ``data`` goes to ``evaluations/<name>.json`` and ``evaluations/<name>/`` so it never
    replaces the run's own. ``end_to_end`` (default: on for ``data``) adds the round trip
    through the files a user gets. When the run's data is labelled and ``probes`` is on, the
    probes (``sage_core.analysis.probes``) are trained on the train split and scored on
    ``split``; files given with ``data`` carry no labels, so they get none. ``probe_cache``
    reuses probes trained before on identical inputs (``sage_core.analysis.probe_cache``).
    """
    from sage_core.runs import load_compressor

    if split not in ("test", "validation"):
        raise SageError(f"split must be 'test' or 'validation', got {split!r}")
    run = RunDirectory(run_dir)
    run_config = run.config()
    started = time.perf_counter()
    trained = load_compressor(run.path, "best", registry=registry)
    untrained = load_compressor(run.path, "untrained", registry=registry)
    report = DataReport()
    target = evaluation_path(run, data)
    splits: DataSplits | None = None
    if data is not None:
        dataset: Dataset[Tensor] = folder_dataset(trained.modality, Path(data), report)
        figures_folder = target.with_suffix("")
    else:
        splits = run_splits(run_config, trained.modality, registry)
        dataset = capped(run_config, splits.split(split))
        figures_folder = run.figures
    end_to_end = data is not None if end_to_end is None else end_to_end
    test_labels = labels_of(dataset) if probes and splits is not None and splits.classes else None
    gathered = ProbeInputs(trained.modality, probe_recipe.max_test) if test_labels is not None else None
    result, chosen = evaluate_compressor(trained, untrained, dataset, batch_size=trained.config.train.eval_batch_size,
                                         progress=progress, end_to_end=end_to_end, probe_inputs=gathered)
    if gathered is not None and splits is not None and test_labels is not None:
        found = run_probes(trained, untrained, splits.train, gathered, test_labels, splits.classes or (), probe_recipe,
                           batch_size=trained.config.train.eval_batch_size, cache=probe_cache)
        result["probes"] = found.model_dump(mode="json") if found is not None else None
    result = {"split": split if data is None else "files", "run": str(run.path), "seed": run_config.seed,
              "data": str(Path(data).resolve()) if data is not None else None,
              "figure_origin": trained.modality.figure_origin, **result}
    if report.skipped:
        result["skipped"] = [{"path": s.path, "reason": s.reason} for s in report.skipped]
    result["figures"] = _write_figures(figures_folder, run.path, result, trained, run.metrics(), chosen)
    result["wall_s"] = time.perf_counter() - started
    evaluation = Evaluation.model_validate(result)
    from sage_core.atomic import write_json_atomic

    write_json_atomic(target, evaluation.model_dump(mode="json"))
    return evaluation
