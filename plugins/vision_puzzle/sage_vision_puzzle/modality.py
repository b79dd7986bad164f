"""``VisionModality``: images in and out, data sets, metrics, the baseline codec.

Model inputs are ``(N, 3, R, R)`` RGB float in [0, 1], ``R = config.resolution``. Every
vision compressor (the puzzle model, the prototype re-implementation) takes these inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from sage_core import DataReport, DataSplits, FigureAxes, InputError, Modality
from sage_vision_puzzle import metrics
from sage_vision_puzzle.config import VisionConfig
from sage_vision_puzzle.datasets import load_image_data
from sage_vision_puzzle.digits import embedded_digits
from sage_vision_puzzle.embedded import embedded_photo_crops
from sage_vision_puzzle.images import array_to_chw, read_image, resize_square, to_model_input, write_png


class VisionModality(Modality):
    """RGB images of any size -> ``(N, 3, R, R)`` in [0, 1]; puzzle cells are R/30 x R/30 patches."""

    name = "vision"
    Config = VisionConfig
    row_meaning = "image row, top to bottom (each cell = an R/30 x R/30 patch)"
    col_meaning = "image column, left to right"
    primary_metric = "psnr_db"
    higher_is_better = True

    config: VisionConfig

    @property
    def resolution(self) -> int:
        return self.config.resolution

    # --- observations ---------------------------------------------------------------

    def prepare(self, observation: Any) -> Tensor:
        """PIL image, numpy ``(H, W[, C])`` or torch ``(C, H, W)``/``(N, C, H, W)`` -> ``(N, 3, R, R)``."""
        return to_model_input(observation, self.resolution)

    def read_file(self, path: Path) -> Tensor:
        """An image file (PNG, JPEG, ...) of any size -> ``(1, 3, R, R)``."""
        array = read_image(Path(path))
        return resize_square(array_to_chw(array, str(path)), self.resolution)[None]

    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        """``(W, 3, R, R)`` -> one PNG per image (``name.png``, or ``name-0.png``... for several)."""
        path = Path(path)
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(path, f"expected (W, 3, H, W) images to write, got {tuple(x.shape)}")
        if len(x) == 1:
            return [write_png(x[0], path)]
        return [write_png(image, path.with_name(f"{path.stem}-{i}{path.suffix}")) for i, image in enumerate(x)]

    def figure_axes(self) -> FigureAxes:
        """Pixels of the ``R x R`` model input, row 0 at the top; colour needs no colour bar."""
        r = float(self.resolution)
        return FigureAxes(x_label="x (pixels)", y_label="y (pixels)", x_extent=(0.0, r), y_extent=(0.0, r),
                          value_label="RGB")

    def to_image(self, x: Tensor) -> np.ndarray:
        """``(3, H, W)`` -> ``(H, W, 3)`` in [0, 1] for figures."""
        return x.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()

    # --- data ---------------------------------------------------------------------------

    def build_datasets(self, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
        """``--data``: CIFAR-10 python folder or ImageFolder tree; else the embedded set ``config.embedded``.

        Labelled: CIFAR-10 (its classes), ImageFolder (sub-folder names) and the digits.
        """
        c = self.config
        if data_path is not None:
            return load_image_data(Path(data_path), c.resolution, report)
        if c.embedded == "digits":
            return embedded_digits(c.resolution, c.train_crops, c.eval_crops, cache_dir, report)
        return embedded_photo_crops(c.resolution, c.train_crops, c.eval_crops, cache_dir, report)

    # --- analysis -------------------------------------------------------------------

    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        """``psnr_db`` (data range 1), ``ssim`` and ``mse01``, per image, at resolution R."""
        return metrics.image_metrics(x, x_hat)

    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean luma per cell on 10 fixed levels, decoded to a bilinear gray image."""
        return metrics.baseline_codec(x)

    def cell_intensity(self, x: Tensor) -> Tensor:
        """``(N, 3, R, R)`` -> ``(N, 30, 30)`` mean luma per cell."""
        return metrics.cell_luminance(x)
