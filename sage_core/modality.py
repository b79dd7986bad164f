"""The Modality contract: everything about observations of one kind (audio, images, text).

A modality knows how to read and prepare observations into model inputs, how to write
model inputs back as something a person can open, which data sets exist, how to measure a
reconstruction, what a non-learned codec at the puzzle's budget achieves, and what the rows
and columns of a puzzle mean. It knows nothing about any model: a modality has many
compressors (``PuzzleCompressor``), and the shared trainer and analyzer treat them all alike.

Model inputs are tensors ``(W, *input_shape)``: W windows of one observation (often 1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from torch import Tensor

from sage_core.config import ModalityConfig
from sage_core.data import DataReport, DataSplits
from sage_core.figure_axes import FigureAxes
from sage_core.grid import GRID_SIZE


class Modality(ABC):
    """Observations of one kind; built from its config (a compressor's ``config.modality``)."""

    #: Registered name, e.g. ``"audio"``; ``sage compare audio`` resolves by it.
    name: ClassVar[str]
    #: The pydantic config of this modality's settings; its defaults are the recommended setting.
    Config: ClassVar[type[ModalityConfig]] = ModalityConfig
    #: What rows and columns of a puzzle mean, for people and for puzzle metadata.
    row_meaning: ClassVar[str] = ""
    col_meaning: ClassVar[str] = ""
    #: Where figures draw row 0 of ``to_image`` and of the puzzle beside it: "upper" (images)
    #: or "lower" (spectrograms, whose lowest band is row 0).
    figure_origin: ClassVar[Literal["upper", "lower"]] = "upper"
    #: The headline key of ``reconstruction_metrics`` and its direction.
    primary_metric: ClassVar[str] = "mse01"
    higher_is_better: ClassVar[bool] = False

    def __init__(self, config: ModalityConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    # --- observations ------------------------------------------------------------------

    @abstractmethod
    def prepare(self, observation: Any) -> Tensor:
        """One raw observation (array, string, ...) -> ``(W, *input_shape)`` model inputs."""

    @abstractmethod
    def read_file(self, path: Path) -> Tensor:
        """One file -> ``(W, *input_shape)``; long files give several windows.

        Raises ``InputError(path, problem)`` for anything it cannot use.
        """

    @abstractmethod
    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        """Write ``(W, *input_shape)`` as something a person can open (WAV, PNG, text).

        ``W`` consecutive windows of one observation become one file where that makes
        sense (audio, text). When ``path`` has no suffix the modality adds its own.
        Returns the files written.
        """

    # --- data ---------------------------------------------------------------------------

    @abstractmethod
    def build_datasets(self, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
        """``DataSplits`` of model-input tensors (labelled where the data has labels).

        ``data_path`` None means the embedded default (generated locally and cached in
        ``cache_dir``). Unreadable samples are recorded with ``report.skip(path, reason)``.
        """

    # --- analysis -------------------------------------------------------------------------

    @abstractmethod
    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        """Per-sample metrics ``{name: (N,)}``; must include ``primary_metric`` and ``mse01``.

        ``mse01``: mean squared error with both sides scaled to [0, 1].
        """

    @abstractmethod
    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """A non-learned codec at the puzzle's budget: ``x -> (codes (N, 30, 30), x_hat)``."""

    @abstractmethod
    def cell_intensity(self, x: Tensor) -> Tensor:
        """``(N, *input_shape)`` -> ``(N, 30, 30)``: the intensity each cell stands for.

        Used for the code-order Spearman: code value vs decoded intensity of its cell.
        """

    def stream_windower(self, hop_seconds: float) -> Any | None:
        """For ``sage stream``: a windower cutting a continuous signal into model-input windows.

        None (the default) means every observation a sensor yields (a video frame) is one
        window; a modality of continuous signals (audio) returns a
        ``sage_core.streaming.SampleWindower`` cutting windows every ``hop_seconds``.
        """
        return None

    def windows_to_join(self, times: Sequence[tuple[float, float]]) -> list[int]:
        """Which of one source's consecutive windows ``write_output`` should join, given their
        ``(start, end)`` times in seconds: all of them (the default).

        A modality whose ``write_output`` joins windows at a fixed hop keeps the windows that
        start that far apart, so puzzles streamed at a shorter hop (overlapping windows)
        still decode to a signal of the right length.
        """
        return list(range(len(times)))

    def to_image(self, x: Tensor) -> np.ndarray:
        """One model input -> an image for figures: ``(H, W)`` or ``(H, W, 3)`` in [0, 1].

        Array order, like the puzzle: row 0 is drawn where ``figure_origin`` says.
        """
        array = x.detach().float().cpu().numpy()
        array = array.reshape(-1, array.shape[-1]) if array.ndim != 2 else array
        lo, hi = float(array.min()), float(array.max())
        return (array - lo) / (hi - lo + 1e-12)

    def figure_axes(self) -> FigureAxes:
        """How figures label ``to_image``'s pictures (axis names, extents, value unit).

        Optional: the default labels array rows and columns and values scaled to 0-1.
        """
        return FigureAxes()

    def probe_features(self, x: Tensor) -> Tensor | None:
        """Model inputs ``(N, *input_shape)`` -> ``(N, C, 30, 30)`` float: what the ceiling probe reads.

        Optional. The default averages image-like inputs (``(N, C, H, W)`` or ``(N, H, W)``
        floats) over the puzzle's grid (adaptive average pooling to 30x30): the ceiling sees
        the input at the puzzle's resolution with continuous values and every channel. Other
        inputs (e.g. text as byte symbols) get no ceiling (None).
        """
        import torch.nn.functional as F

        if not x.is_floating_point() or x.ndim not in (3, 4):
            return None
        image = x if x.ndim == 4 else x.unsqueeze(1)
        return F.adaptive_avg_pool2d(image.float(), GRID_SIZE)
