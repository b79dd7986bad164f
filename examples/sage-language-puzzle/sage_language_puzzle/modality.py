"""``LanguageModality``: UTF-8 text <-> windows of byte symbols, and how to measure them.

Every group of ``group_bytes`` bytes is written into ``group_cells`` consecutive cells
(row-major), so a puzzle row is a stretch of text read left to right.

Metrics compare the text before each window's first ``END`` (bytes of UTF-8, so for
ASCII text a byte is a character):

- ``char_accuracy``: bytes decoded right at their position, divided by the longer of the
  true and decoded texts (a decoded text that ends early or runs on loses accuracy).
- ``exact_window_accuracy``: 1 when the decoded text equals the true text exactly.
- ``chars_per_puzzle``: bytes of true text the window holds.
- ``correct_chars_per_puzzle``: bytes decoded right, the figure to compare with the
  baseline's 300.
- ``mse01``: squared error of symbol values scaled to [0, 1] (byte / 256, ``END`` = 1),
  averaged over every position of the window; 0 exactly when the window is decoded right.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from sage_core import GRID_SIZE, DataReport, DataSplits, InputError, Modality, write_bytes_atomic
from sage_language_puzzle.config import LanguageConfig
from sage_language_puzzle.data import stdlib_splits, text_folder_splits
from sage_language_puzzle.text import END, bytes_from_windows, read_text_bytes, text_lengths, windows_from_bytes

#: Symbols the baseline carries: three decimal digits per symbol fill 900 cells.
BASELINE_BYTES = 300


class LanguageModality(Modality):
    """Text -> ``(W, window_bytes)`` int64 symbols (bytes 0-255, ``END`` = 256)."""

    name = "language"
    Config = LanguageConfig
    row_meaning = "a stretch of text, read left to right (cells follow the bytes row-major)"
    col_meaning = "position within the stretch; group_cells consecutive cells encode group_bytes bytes"
    primary_metric = "char_accuracy"
    higher_is_better = True
    config: LanguageConfig

    def prepare(self, observation: str | bytes) -> Tensor:
        """Text (``str``, encoded as UTF-8) or raw ``bytes`` -> ``(W, window_bytes)`` windows."""
        if isinstance(observation, str):
            observation = observation.encode("utf-8")
        if not isinstance(observation, (bytes, bytearray)):
            raise InputError("observation", f"expected str or bytes, got {type(observation).__name__}")
        return windows_from_bytes(bytes(observation), self.config.window_bytes)

    def read_file(self, path: Path) -> Tensor:
        """A UTF-8 text file -> ``(W, window_bytes)``; a long file gives several windows."""
        return windows_from_bytes(read_text_bytes(Path(path)), self.config.window_bytes)

    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        """Windows -> one file of their bytes in order (``.txt`` added when there is no suffix)."""
        path = Path(path)
        return [write_bytes_atomic(path if path.suffix else path.with_suffix(".txt"), bytes_from_windows(x))]

    def build_datasets(self, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
        """``data_path`` None: stdlib docstrings; else a folder of ``*.txt`` files."""
        if data_path is None:
            return stdlib_splits(self.config, cache_dir, report)
        return text_folder_splits(self.config, Path(data_path), report)

    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        """``(N, L)`` true and decoded symbols -> ``{name: (N,)}``."""
        true_length, decoded_length = text_lengths(x), text_lengths(x_hat)
        positions = torch.arange(x.shape[1], device=x.device).expand_as(x)
        inside_both = positions < torch.minimum(true_length, decoded_length).unsqueeze(1)
        correct = ((x == x_hat) & inside_both).sum(1).float()
        longer = torch.maximum(true_length, decoded_length).float()
        exact = (true_length == decoded_length) & (correct == true_length.float())
        return {
            "char_accuracy": torch.where(longer > 0, correct / longer.clamp(min=1), 1.0),
            "exact_window_accuracy": exact.float(),
            "chars_per_puzzle": true_length.float(),
            "correct_chars_per_puzzle": correct,
            "mse01": ((x.float() - x_hat.float()) / END).pow(2).mean(1),
        }

    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Each of a window's first 300 symbols (0-256, ``END`` included) as its three decimal
        digits, losslessly; the rest of a longer window is lost (decoded as ``END``)."""
        head = torch.full((len(x), BASELINE_BYTES), END, dtype=torch.int64, device=x.device)
        kept = min(BASELINE_BYTES, x.shape[1])
        head[:, :kept] = x[:, :kept].long()
        digits = torch.stack([head // 100, head // 10 % 10, head % 10], dim=-1)
        decoded = (digits * torch.tensor([100, 10, 1], device=x.device)).sum(-1)
        x_hat = torch.full_like(x, END, dtype=torch.int64)
        x_hat[:, :kept] = decoded[:, :kept]
        return digits.reshape(len(x), GRID_SIZE, GRID_SIZE), x_hat

    def cell_intensity(self, x: Tensor) -> Tensor:
        """The byte value in [0, 1] (``END`` = 1) that each cell helps encode (group mean)."""
        c = self.config
        groups = x.float().reshape(len(x), -1, c.group_bytes).mean(-1) / END
        return groups.repeat_interleave(c.group_cells, dim=1).reshape(len(x), GRID_SIZE, GRID_SIZE)

    def to_image(self, x: Tensor) -> np.ndarray:
        """One window -> ``(rows, 30)`` byte values in [0, 1], text read row by row."""
        rows = -(-x.numel() // GRID_SIZE)
        padded = F.pad(x.detach().cpu().float().flatten(), (0, rows * GRID_SIZE - x.numel()), value=END)
        return (padded / END).reshape(rows, GRID_SIZE).numpy()

