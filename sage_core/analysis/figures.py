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

from sage_core.atomic import save_atomic  # noqa: E402

#: One colour per model kind, the same in every figure.
MODEL_COLOURS = {"trained": "#1f77b4", "untrained": "#ff7f0e", "baseline": "#2ca02c"}
MODEL_KINDS = ("trained", "untrained", "baseline")


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    save_atomic(path, lambda tmp: figure.savefig(tmp, format="png", dpi=100))
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


def training_curves(runs: Mapping[str, Sequence[Mapping[str, Any]]], path: Path) -> Path:
    """Loss, code perplexity and validation loss against step, one line per run."""
    panels = (("loss", False, "training loss"), ("perplexity", False, "code perplexity"),
              ("loss", True, "validation loss"))
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, (key, validation, title) in zip(axes, panels):
        for label, rows in runs.items():
            steps, values = _curve(rows, key, validation)
            if steps:
                axis.plot(steps, values, marker="o", markersize=3, label=label)
        axis.set_title(title)
        axis.set_xlabel("step")
        if key == "loss":
            axis.set_yscale("log")
        if key == "perplexity":
            axis.set_ylim(0, 10.5)
        if axis.lines:
            axis.legend(fontsize=8)
        else:
            axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes)
    return _save(figure, path)


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


def examples(columns: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], path: Path,
             origin: Literal["upper", "lower"] = "upper") -> Path:
    """A row of examples: per column one sample's input, puzzle (fixed palette), reconstruction.

    ``columns`` holds ``(title, input image, puzzle RGB uint8, reconstruction image)``;
    images are ``(H, W)`` or ``(H, W, 3)`` in [0, 1], in array order. ``origin`` ("upper" or
    "lower") is where row 0 goes, the same for all three, so puzzle rows line up with the input.
    """
    figure, axes = plt.subplots(3, len(columns), figsize=(2.5 * len(columns) + 0.6, 7.2), squeeze=False)
    for column, (title, image, puzzle, reconstruction) in enumerate(columns):
        for row, (picture, name) in enumerate(zip((image, puzzle, reconstruction),
                                                  ("input", "puzzle", "reconstruction"))):
            axis = axes[row][column]
            picture = np.asarray(picture)
            grey = picture.ndim == 2
            axis.imshow(picture, cmap="magma" if grey else None, vmin=0 if grey else None,
                        vmax=1 if grey else None, aspect="auto", interpolation="nearest", origin=origin)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title, fontsize=10)
            if column == 0:
                axis.set_ylabel(name, fontsize=10)
    return _save(figure, path)


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
