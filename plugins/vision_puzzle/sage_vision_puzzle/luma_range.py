"""Each image's own luma range, written in four header cells of its puzzle.

With a fixed range, a dim or low-contrast image (a gray digit on a slightly lighter
gray) uses three or four of the ten codes, and its shapes drown in one level's width.
Coding every cell relative to the image's darkest and brightest cell spends all ten
codes on the contrast that is there, as block codecs do with their per-block end points
(BTC, BC1). The decoder needs the range back, so the puzzle carries it: the 2 x 2 cells
at the bottom-right corner hold ``lo`` and ``hi`` as two base-10 digits each, on a grid
of 1/99 (the range is widened outwards to it, never clipped). The image's own content in
those four cells is filled from the row above them.

    codes[28, 28], codes[28, 29] = lo // 10, lo % 10      lo luma = lo / 99
    codes[29, 28], codes[29, 29] = hi // 10, hi % 10      hi luma = hi / 99
"""

from __future__ import annotations

import torch
from torch import Tensor

from sage_core import GRID_SIZE

#: ``lo`` and ``hi`` are indices on a grid of ``1 / RANGE_STEPS`` luma: two base-10 digits each.
RANGE_STEPS = 99
#: The narrowest range, in grid steps: a flat image's noise is not stretched to ten levels.
MIN_SPAN = 10
#: The header's first row and column: cells ``[28:30, 28:30]``.
HEADER_START = GRID_SIZE - 2


def header_mask(device: torch.device | None = None) -> Tensor:
    """``(30, 30)`` bool: True at the four header cells."""
    mask = torch.zeros(GRID_SIZE, GRID_SIZE, dtype=torch.bool, device=device)
    mask[HEADER_START:, HEADER_START:] = True
    return mask


def image_range(cell_luma: Tensor) -> Tensor:
    """``(N, 30, 30)`` mean luma per cell in [0, 1] -> ``(N, 2)`` int64 ``lo, hi`` grid indices.

    ``lo`` rounds the darkest cell down and ``hi`` the brightest up, so every cell lies in
    ``[lo, hi] / 99``; a range narrower than ``MIN_SPAN`` steps is widened upwards (or down
    at the top).
    """
    flat = cell_luma.detach().flatten(1).clamp(0, 1)
    lo = torch.floor(flat.min(1).values * RANGE_STEPS + 1e-6).long().clamp(0, RANGE_STEPS - MIN_SPAN)
    hi = torch.ceil(flat.max(1).values * RANGE_STEPS - 1e-6).long().clamp(max=RANGE_STEPS)
    return torch.stack([lo, torch.maximum(hi, lo + MIN_SPAN)], 1)


def full_range(count: int, device: torch.device | None = None) -> Tensor:
    """``(count, 2)``: the fixed range [0, 1] as grid indices."""
    return torch.tensor([0, RANGE_STEPS], device=device).expand(count, 2)


def range_luma(indices: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, 2)`` grid indices -> ``lo, hi`` luma, each ``(N, 1, 1)`` (broadcasts over cells)."""
    luma = indices.float() / RANGE_STEPS
    return luma[:, 0, None, None], luma[:, 1, None, None]


def write_header(codes: Tensor, indices: Tensor) -> Tensor:
    """``(N, 30, 30)`` codes with the header cells set to the digits of ``(N, 2)`` ``lo, hi``."""
    digits = torch.stack([indices // 10, indices % 10], -1).to(codes.dtype)  # (N, 2, 2): [lo|hi][tens|units]
    written = codes.clone()
    written[:, HEADER_START:, HEADER_START:] = digits
    return written


def read_header(codes: Tensor) -> Tensor:
    """``(N, 30, 30)`` codes -> ``(N, 2)`` int64 ``lo, hi``; any codes read as some range (``hi >= lo``)."""
    header = codes[:, HEADER_START:, HEADER_START:].long()
    indices = header[..., 0] * 10 + header[..., 1]
    return torch.stack([indices.min(1).values, indices.max(1).values], 1)


def fill_header(values: Tensor) -> Tensor:
    """``(N, 30, 30)`` cell values with the header cells replaced by the cells above them (row 27)."""
    mask = header_mask(values.device)
    return torch.where(mask, values[:, HEADER_START - 1 : HEADER_START, :], values)
