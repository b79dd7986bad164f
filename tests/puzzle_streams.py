"""Puzzles cut from made-up streams, built directly (no model), for export and log tests.

Every window gets its own random grid, so a test can tell from a grid alone which
source and window it is (``Catalogue.which``).
"""

from __future__ import annotations

import numpy as np

from sage_core import Puzzle, PuzzleMeta

MODELS = {
    "audio": ("audio_puzzle", "2", "mel band (row 0 = lowest)", "time"),
    "vision": ("vision_puzzle", "1", "image rows", "image columns"),
}


class Catalogue:
    """Remembers which (modality, source, index) each grid was made for."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.by_grid: dict[bytes, tuple[str, str, int]] = {}

    def grid(self, modality: str, source: str, index: int) -> np.ndarray:
        grid = self.rng.integers(0, 10, size=(30, 30), dtype=np.uint8)
        self.by_grid[grid.tobytes()] = (modality, source, index)
        return grid

    def which(self, grid: np.ndarray) -> tuple[str, str, int]:
        return self.by_grid[np.asarray(grid, dtype=np.uint8).tobytes()]

    def puzzle(
        self,
        windows: list[tuple[str, int]],
        modality: str = "audio",
        times: list[tuple[float, float]] | None = None,
        clock: str = "unix",
        with_index: bool = True,
    ) -> Puzzle:
        """A puzzle batch of the given (source, index) windows, in the order given."""
        compressor, version, rows, cols = MODELS[modality]
        codes = np.stack([self.grid(modality, source, index) for source, index in windows])
        sources = tuple(f"{source}#{index}" if with_index else source for source, index in windows)
        meta = PuzzleMeta(
            modality, compressor, version, rows=rows, cols=cols, sources=sources,
            times=tuple(times) if times is not None else (), clock=clock if times is not None else "",
        )
        return Puzzle(codes, meta)
