"""Fixed maps between the 128x32 log-mel and the 30x30 puzzle grid.

Row r of the puzzle covers mel bands ``[edge_r, edge_{r+1})`` (row 0 = the lowest bands);
column c covers the frames around ``c * 31 / 29`` (linear resampling of 32 frames to 30).
"""

from __future__ import annotations

import torch
from torch import Tensor

from sage_core import GRID_SIZE as GRID

from sage_audio_puzzle.frontend import FRAMES, N_MELS


def band_pooling() -> Tensor:
    """``(30, 128)``: row r averages its own block of ~4.3 mel bands."""
    edges = torch.linspace(0, N_MELS, GRID + 1).round().long()
    pool = torch.zeros(GRID, N_MELS)
    for r in range(GRID):
        pool[r, edges[r] : edges[r + 1]] = 1.0 / float(edges[r + 1] - edges[r])
    return pool


def neighbour_bands(reach: int = 1) -> Tensor:
    """``(30, 128)`` mask: row r may look at the bands of rows r-reach .. r+reach."""
    near = torch.zeros(GRID, N_MELS)
    pool = band_pooling() > 0
    for r in range(GRID):
        near[r] = pool[max(0, r - reach) : r + reach + 1].any(0).float()
    return near


def band_spreading() -> Tensor:
    """``(128, 30)``: linear interpolation from the 30 row centres back to 128 bands."""
    edges = torch.linspace(0, N_MELS, GRID + 1)
    centres = (edges[:-1] + edges[1:]) / 2 - 0.5
    return _interpolation(torch.arange(N_MELS).float(), centres)


def time_resampling(source: int = FRAMES, target: int = GRID) -> Tensor:
    """``(source, target)``: ``x @ M`` resamples the last axis linearly (end points kept)."""
    positions = torch.linspace(0, source - 1, target)
    return _interpolation(positions, torch.arange(source).float()).T.contiguous()


def _interpolation(query: Tensor, knots: Tensor) -> Tensor:
    """``(len(query), len(knots))`` weights of linear interpolation, clamped at the ends."""
    q = query.clamp(float(knots[0]), float(knots[-1]))
    right = torch.searchsorted(knots, q).clamp(1, len(knots) - 1)
    left = right - 1
    span = knots[right] - knots[left]
    w_right = (q - knots[left]) / span
    weights = torch.zeros(len(query), len(knots))
    rows = torch.arange(len(query))
    weights[rows, left] += 1 - w_right
    weights[rows, right] += w_right
    return weights


def pool_to_grid(x: Tensor) -> Tensor:
    """``(N, 1, 128, 32)`` -> ``(N, 30, 30)``: each cell's mean over its bands and frames."""
    return band_pooling().to(x) @ x.squeeze(1) @ time_resampling().to(x)
