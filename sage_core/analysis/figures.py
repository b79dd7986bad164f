"""Figures shared by ``evaluate_run`` (one run) and ``sage compare`` (several runs).

Every function takes plain numbers (lists, numpy arrays, dicts read from
``evaluation.json`` / ``metrics.jsonl``) and writes one PNG, so the compare path draws
its figures without importing torch. Matplotlib runs on the Agg backend: no display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sage_core.analysis.redraw import DIGEST_KEY, current_digest, only_when_changed  # noqa: E402
from sage_core.atomic import save_atomic  # noqa: E402
from sage_core.figure_axes import FigureAxes  # noqa: E402
from sage_core.grid import GRID_SIZE  # noqa: E402
from sage_core.puzzle import PALETTE  # noqa: E402

#: One colour per model kind, the same in every figure.
MODEL_COLOURS = {"trained": "#1f77b4", "untrained": "#ff7f0e", "baseline": "#2ca02c"}
MODEL_KINDS = ("trained", "untrained", "baseline")


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    digest = current_digest.get()
    metadata = {DIGEST_KEY: digest} if digest else None
    save_atomic(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100, metadata=metadata))
    plt.close(figure)
    return path


def _curve(rows: Sequence[Mapping[str, Any]], key: str, validation: bool) -> tuple[list[float], list[float]]:
    """Steps and values of ``key`` from training lines (or validation lines)."""
    steps, values = [], []
    for row in rows:
        if (row.get("split") == "validation") != validation:
            continue
        value = row.get(key)
        if isinstance(value, (int, float)) and "step" in row:
            steps.append(float(row["step"]))
            values.append(float(value))
    return steps, values


@only_when_changed
def training_curves(runs: Mapping[str, Sequence[Mapping[str, Any]]], path: Path) -> Path:
    """Loss, code perplexity and validation loss, one line per run.

    One run is drawn against its steps. Several runs are drawn against the fraction of
    their own training (step / last logged step), so a run of 1,000 steps and one of 14,000
    share the axis instead of the short one being squeezed into a corner.
    """
    relative = len(runs) > 1
    last = {label: max((float(row["step"]) for row in rows if isinstance(row.get("step"), (int, float))), default=0.0)
            for label, rows in runs.items()}
    panels = (("loss", False, "training loss"), ("perplexity", False, "code perplexity"),
              ("loss", True, "validation loss"))
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, (key, validation, title) in zip(axes, panels):
        for label, rows in runs.items():
            steps, values = _curve(rows, key, validation)
            if steps:
                xs = [step / last[label] for step in steps] if relative and last[label] else steps
                axis.plot(xs, values, marker="o", markersize=3,
                          label=f"{label} ({last[label]:,.0f} steps)" if relative else label)
        axis.set_title(title)
        axis.set_xlabel("fraction of training (step / last step)" if relative else "step")
        axis.xaxis.set_major_locator(MaxNLocator(5))
        if key == "loss":
            axis.set_yscale("log")
        if key == "perplexity":
            axis.set_ylim(0, 10.5)
        if axis.lines:
            axis.legend(fontsize=8)
        else:
            axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes)
    return _save(figure, path)


@only_when_changed
def code_histograms(runs: Mapping[str, Mapping[str, Sequence[int]]], path: Path) -> Path:
    """Per run, the share of each code 0-9 for the trained, untrained and baseline models."""
    figure, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 3.4), squeeze=False)
    codes = np.arange(10)
    for axis, (label, models) in zip(axes[0], runs.items()):
        kinds = [kind for kind in MODEL_KINDS if kind in models] + [k for k in models if k not in MODEL_KINDS]
        width = 0.8 / max(1, len(kinds))
        for i, kind in enumerate(kinds):
            counts = np.asarray(models[kind], dtype=np.float64)
            share = counts / counts.sum() if counts.sum() else counts
            axis.bar(codes + (i - (len(kinds) - 1) / 2) * width, share, width,
                     label=kind, color=MODEL_COLOURS.get(kind))
        axis.axhline(0.1, color="grey", linewidth=0.8, linestyle="--")
        axis.set_xticks(codes)
        axis.set_xlabel("code")
        axis.set_ylabel("share of cells")
        axis.set_title(label)
        axis.legend(fontsize=8)
    return _save(figure, path)


@only_when_changed
def examples(columns: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], path: Path,
             origin: Literal["upper", "lower"] = "upper", axes: FigureAxes | None = None) -> Path:
    """A row of examples: per column one sample's input, puzzle (fixed palette), reconstruction.

    ``columns`` holds ``(title, input image, puzzle RGB uint8, reconstruction image)``;
    images are ``(H, W)`` or ``(H, W, 3)`` in [0, 1], in array order. ``origin`` ("upper" or
    "lower") is where row 0 goes, the same for all three, so puzzle rows line up with the input.
    ``axes`` (the modality's ``figure_axes``) labels the input and reconstruction; puzzles are
    labelled in cells. One-channel rows get a colour bar in the modality's unit, the puzzle row
    one of its codes 0-9.
    """
    axes = axes or FigureAxes()
    figure, grid = plt.subplots(3, len(columns), figsize=(2.9 * len(columns) + 1.6, 8.4), squeeze=False)
    puzzle_extent = (0.0, float(GRID_SIZE), 0.0, float(GRID_SIZE))
    for column, (title, image, puzzle, reconstruction) in enumerate(columns):
        for row, (picture, name) in enumerate(zip((image, puzzle, reconstruction),
                                                  ("input", "puzzle", "reconstruction"))):
            axis = grid[row][column]
            picture = np.asarray(picture)
            grey = picture.ndim == 2
            is_puzzle = row == 1
            extent = puzzle_extent if is_puzzle else _extent(axes, picture)
            if extent is not None and origin == "upper":
                extent = (extent[0], extent[1], extent[3], extent[2])
            shown = axis.imshow(picture, cmap="magma" if grey else None, vmin=0 if grey else None,
                                vmax=1 if grey else None, aspect="auto", interpolation="nearest", origin=origin,
                                extent=extent)
            if is_puzzle:
                axis.set_xlabel("puzzle column", fontsize=8)
                axis.set_ylabel("puzzle row", fontsize=8)
                axis.set_xticks([0, 10, 20, 30])
                axis.set_yticks([0, 10, 20, 30])
            else:
                axis.set_xlabel(axes.x_label, fontsize=8)
                axis.set_ylabel(axes.y_label, fontsize=8)
                if axes.y_ticks:
                    axis.set_yticks([position for position, _ in axes.y_ticks],
                                    [label for _, label in axes.y_ticks])
            axis.tick_params(labelsize=7)
            if row == 0:
                axis.set_title(title, fontsize=10)
            if column == 0:
                axis.set_ylabel(f"{name}\n{axis.get_ylabel()}", fontsize=9)
            if column == len(columns) - 1:
                _colour_bar(figure, axis, shown if grey else None, is_puzzle, axes)
    return _save(figure, path)


def _extent(axes: FigureAxes, picture: np.ndarray) -> tuple[float, float, float, float] | None:
    """``imshow``'s (left, right, bottom, top) for ``origin="lower"``; array indices when unset."""
    height, width = picture.shape[:2]
    x = axes.x_extent or (-0.5, width - 0.5)
    y = axes.y_extent or (-0.5, height - 0.5)
    return (x[0], x[1], y[0], y[1])


def _colour_bar(figure: Any, axis: Any, shown: Any, is_puzzle: bool, axes: FigureAxes) -> None:
    """A colour bar beside ``axis``: codes 0-9 for puzzles, the modality's unit for one-channel pictures."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize

    if is_puzzle:
        palette = ListedColormap(np.asarray(PALETTE, dtype=np.float64) / 255.0)
        mappable = ScalarMappable(norm=BoundaryNorm(np.arange(-0.5, 10.5), palette.N), cmap=palette)
        bar = figure.colorbar(mappable, ax=axis, fraction=0.08, ticks=range(10))
        bar.set_label("code", fontsize=8)
    elif shown is not None:
        low, high = axes.value_range
        bar = figure.colorbar(ScalarMappable(norm=Normalize(low, high), cmap=shown.get_cmap()), ax=axis, fraction=0.08)
        bar.set_label(axes.value_label, fontsize=8)
    else:
        return
    bar.ax.tick_params(labelsize=7)


def confusion_panels(probes: Mapping[str, Any], probe: str = "conv") -> dict[str, Any]:
    """What the confusion figure shows of an evaluation's ``probes`` (as JSON): ``probe`` on the
    trained puzzles and on the model input."""
    titles = {"trained": f"{probe} probe, trained puzzles", "input": f"{probe} probe, model input (ceiling)"}
    return {"classes": probes["classes"],
            "panels": {title: probes["inputs"][kind]["probes"][probe]["confusion"]
                       for kind, title in titles.items() if kind in probes["inputs"]}}


@only_when_changed
def confusion_matrices(runs: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """Per run, the probe's confusion matrix on the trained puzzles and on the model input.

    ``runs[label]`` is ``{"classes": [...], "panels": {title: confusion}}`` with
    ``confusion[true][predicted]`` counts; each row is shown as shares of its class.
    """
    panels = [(label, title, np.asarray(matrix, dtype=np.float64), entry["classes"])
              for label, entry in runs.items() for title, matrix in entry["panels"].items()]
    columns = max(1, max((len(entry["panels"]) for entry in runs.values()), default=1))
    rows = max(1, len(runs))
    classes = max((len(entry["classes"]) for entry in runs.values()), default=2)
    side = min(7.0, 2.6 + 0.13 * classes)
    figure, grid = plt.subplots(rows, columns, figsize=(side * columns + 0.8, side * rows), squeeze=False)
    for axis in grid.flat:
        axis.set_visible(False)
    for index, (label, title, matrix, names) in enumerate(panels):
        axis = grid[index // columns][index % columns]
        axis.set_visible(True)
        totals = matrix.sum(axis=1, keepdims=True)
        shares = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        shown = axis.imshow(shares, vmin=0, vmax=1, cmap="Blues", interpolation="nearest")
        ticks = np.arange(len(names))
        size = 8 if len(names) <= 12 else 5
        axis.set_xticks(ticks, names, rotation=90, fontsize=size)
        axis.set_yticks(ticks, names, fontsize=size)
        axis.set_xlabel("predicted class", fontsize=8)
        axis.set_ylabel("true class", fontsize=8)
        accuracy = np.trace(matrix) / matrix.sum() if matrix.sum() else 0.0
        axis.set_title(f"{label}\n{title}: accuracy {accuracy:.1%}", fontsize=9)
        bar = figure.colorbar(shown, ax=axis, fraction=0.046)
        bar.set_label("share of the true class", fontsize=8)
    return _save(figure, path)


@only_when_changed
def code_intensity(runs: Mapping[str, Mapping[str, Mapping[str, float]]], path: Path) -> Path:
    """Box plots of decoded cell intensity for each code value, one panel per run.

    ``runs[label]`` is ``intensity_by_code`` from ``evaluation.json``: per code its
    quartiles and 5/95th percentiles (whiskers).
    """
    figure, axes = plt.subplots(1, len(runs), figsize=(4.6 * len(runs), 3.4), squeeze=False)
    for axis, (label, by_code) in zip(axes[0], runs.items()):
        stats = [
            {"label": code, "med": q["median"], "q1": q["q25"], "q3": q["q75"],
             "whislo": q["q05"], "whishi": q["q95"], "fliers": []}
            for code, q in sorted(by_code.items(), key=lambda item: int(item[0]))
        ]
        if stats:
            axis.bxp(stats, positions=[int(item["label"]) for item in stats], showfliers=False)
        axis.set_xticks(range(10), [str(code) for code in range(10)])
        axis.set_xlim(-0.6, 9.6)
        axis.set_xlabel("code")
        axis.set_ylabel("decoded cell intensity")
        axis.set_title(label)
    return _save(figure, path)


@only_when_changed
def spatial_structure(runs: Mapping[str, Mapping[str, Mapping[str, Any]]], path: Path) -> Path:
    """Per run: the trained model's per-cell entropy map and neighbour agreement per model.

    ``runs[label]`` maps model kind to its entry in ``evaluation.json["models"]``
    (``cell_entropy`` 30x30 and ``neighbour_agreement`` {rows, cols}).
    """
    figure, axes = plt.subplots(len(runs), 2, figsize=(9, 3.6 * len(runs)), squeeze=False)
    for (heat_axis, bar_axis), (label, models) in zip(axes, runs.items()):
        entropy = np.asarray(models["trained"]["cell_entropy"], dtype=np.float64)
        image = heat_axis.imshow(entropy, vmin=0, vmax=np.log2(10), cmap="viridis")
        heat_axis.set_title(f"{label}: entropy per cell (bits), trained")
        heat_axis.set_xlabel("column")
        heat_axis.set_ylabel("row")
        figure.colorbar(image, ax=heat_axis, fraction=0.046)
        kinds = [kind for kind in MODEL_KINDS if kind in models]
        positions = np.arange(2)
        width = 0.8 / max(1, len(kinds))
        for i, kind in enumerate(kinds):
            agreement = models[kind]["neighbour_agreement"]
            values = [agreement["rows"] or 0.0, agreement["cols"] or 0.0]
            bar_axis.bar(positions + (i - (len(kinds) - 1) / 2) * width, values, width,
                         label=kind, color=MODEL_COLOURS.get(kind))
        bar_axis.set_xticks(positions, ["cell vs next row", "cell vs next column"])
        bar_axis.set_ylim(0, 1)
        bar_axis.set_ylabel("neighbouring cells equal")
        bar_axis.set_title(f"{label}: neighbour agreement")
        bar_axis.legend(fontsize=8)
    return _save(figure, path)
