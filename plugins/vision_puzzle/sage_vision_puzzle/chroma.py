"""The puzzle's colour channel: one chroma class per block of cells, carried by the block's code sum.

A puzzle still reads as brightness: a higher code is a brighter cell. Colour rides on the
choice between neighbouring levels. In each ``block x block`` group of cells, the sum of
the codes modulo ``classes`` names an entry of a chroma palette (entry 0 is gray). The
encoder nudges the cells whose luma lies closest to a level boundary by one level until
the sum names the block's colour (quantisation index modulation). With 5 x 5 blocks and
8 classes this costs ~0.2 dB of luma on gray photos and gives colour photos their hue
(docs/vision.md, "Colour").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_core import GRID_SIZE
from sage_vision_puzzle.metrics import luminance

#: ITU-R BT.601 (JPEG) colour difference scales: Cb = (B - Y) / 1.772, Cr = (R - Y) / 1.402.
CB_SCALE, CR_SCALE = 1.772, 1.402
#: Saturation of the palette's starting hues (|CbCr|); training moves them to the data's colours.
START_SATURATION = 0.1


def to_ycbcr(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, 3, H, W)`` RGB -> luma ``(N, 1, H, W)`` and chroma ``(N, 2, H, W)`` (Cb, Cr)."""
    y = luminance(x)
    return y, torch.cat([(x[:, 2:3] - y) / CB_SCALE, (x[:, 0:1] - y) / CR_SCALE], 1)


def from_ycbcr(y: Tensor, chroma: Tensor) -> Tensor:
    """Inverse of ``to_ycbcr`` (unclamped): luma ``(N, 1, H, W)`` + chroma ``(N, 2, H, W)`` -> RGB."""
    cb, cr = chroma[:, 0:1] * CB_SCALE, chroma[:, 1:2] * CR_SCALE
    green = y - (0.299 * cr + 0.114 * cb) / 0.587
    return torch.cat([y + cr, green, y + cb], 1)


def to_blocks(cells: Tensor, block: int) -> Tensor:
    """``(N, 30, 30)`` -> ``(N, g, g, block * block)`` with ``g = 30 / block``."""
    n, g = cells.shape[0], GRID_SIZE // block
    return cells.reshape(n, g, block, g, block).permute(0, 1, 3, 2, 4).reshape(n, g, g, block * block)


def from_blocks(blocks: Tensor, block: int) -> Tensor:
    """Inverse of ``to_blocks``."""
    n, g = blocks.shape[0], GRID_SIZE // block
    return blocks.reshape(n, g, g, block, block).permute(0, 1, 3, 2, 4).reshape(n, GRID_SIZE, GRID_SIZE)


def block_classes(codes: Tensor, block: int, classes: int) -> Tensor:
    """``(N, 30, 30)`` codes -> ``(N, g, g)`` int64: each block's code sum modulo ``classes``."""
    return to_blocks(codes.long(), block).sum(-1) % classes


def _walk(current: Tensor, where: Tensor, steps: Tensor, direction: float, levels: int,
          frozen: Tensor | None) -> tuple[Tensor, Tensor]:
    """Move ``steps`` cells of each block by one level each in ``direction``, cheapest first.

    Cells where ``frozen`` (broadcast to the blocks) is True never move. Returns the moved
    blocks and each block's added cost (inf where there is no room).
    """
    added = torch.zeros(current.shape[:-1], dtype=current.dtype, device=current.device)
    for step in range(int(steps.max()) if steps.numel() else 0):
        moved = current + direction
        cost = (moved - where) ** 2 - (current - where) ** 2
        cost = cost.masked_fill((moved < 0) | (moved > levels - 1), math.inf)
        if frozen is not None:
            cost = cost.masked_fill(frozen, math.inf)
        best, index = cost.min(-1)
        active = steps > step
        added = added + torch.where(active, best, torch.zeros_like(best))
        pick = F.one_hot(index, current.shape[-1]).to(current.dtype)
        current = current + active[..., None] * pick * direction
    return current, added


def embed_classes(codes: Tensor, position: Tensor, target: Tensor, block: int, classes: int, levels: int,
                  frozen: Tensor | None = None) -> Tensor:
    """Nudge the cheapest cells by one level at a time until every block's code sum names ``target``.

    ``codes`` ``(N, 30, 30)`` are the nearest levels of ``position`` (each cell's continuous
    level coordinate, level k centred at k); ``target`` ``(N, g, g)``. Each block tries both
    ways round the modulus (down by r, up by ``classes - r``), one cell and one level at a
    time, always the cell whose squared distance to its position grows least, and keeps the
    cheaper way. Cells where ``frozen`` ``(30, 30)`` is True (a header) keep their codes but
    count in their block's sum. Deterministic per image, so puzzles never depend on batch-mates.
    """
    if classes == 1:
        return codes
    current = to_blocks(codes.to(position.dtype), block)
    where = to_blocks(position, block)
    residue = (current.sum(-1).long() - target) % classes
    fixed = None if frozen is None else to_blocks(frozen[None], block)
    down, down_cost = _walk(current, where, residue, -1.0, levels, fixed)
    up, up_cost = _walk(current, where, (classes - residue) % classes, 1.0, levels, fixed)
    chosen = torch.where((down_cost <= up_cost)[..., None], down, up)
    return from_blocks(chosen, block).long()


class ChromaPalette(nn.Module):
    """``classes`` chroma vectors (Cb, Cr); entry 0 is fixed gray, the others are learned.

    They start as hues evenly spaced on a circle; the reconstruction loss pulls each one
    to the mean colour of the blocks assigned to it (k-means by gradient descent).
    """

    def __init__(self, classes: int) -> None:
        super().__init__()
        angles = torch.arange(classes - 1, dtype=torch.float32) * (2 * math.pi / max(1, classes - 1))
        self.hues = nn.Parameter(START_SATURATION * torch.stack([angles.cos(), angles.sin()], 1))

    def table(self) -> Tensor:
        """``(classes, 2)``: gray first, then the learned hues."""
        return torch.cat([self.hues.new_zeros(1, 2), self.hues])

    def nearest(self, chroma: Tensor) -> Tensor:
        """``(N, 2, g, g)`` block chroma -> ``(N, g, g)`` int64 class of the nearest entry."""
        table = self.table().detach()
        distance = ((chroma.permute(0, 2, 3, 1)[..., None, :] - table) ** 2).sum(-1)
        return distance.argmin(-1)

    def lookup(self, classes: Tensor) -> Tensor:
        """``(N, g, g)`` classes -> ``(N, 2, g, g)`` chroma."""
        return self.table()[classes].permute(0, 3, 1, 2)
