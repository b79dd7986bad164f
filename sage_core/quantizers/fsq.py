"""Finite scalar quantization with one scalar per cell (Mentzer et al., 2023, arXiv 2309.15505).

Each cell's latent is squashed to (0, 1) and rounded to one of ``levels`` evenly spaced
values. Codes are ordered by construction: a higher code is a higher latent value. There
is no codebook to collapse, so every level is reachable from the first step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FiniteScalarQuantizer(nn.Module):
    """``(...)`` real latents -> ``(values (...) in (0, 1), codes (...) int64 in [0, levels))``.

    ``values`` are the level centres ``(code + 0.5) / levels`` with a straight-through
    gradient to the squashed latent.
    """

    def __init__(self, levels: int = 10) -> None:
        super().__init__()
        self.levels = levels

    def squash(self, z: Tensor) -> Tensor:
        """Real latents -> (0, 1); the continuous value before rounding."""
        return torch.sigmoid(z)

    def codes_from_squashed(self, u: Tensor) -> Tensor:
        return torch.clamp(torch.floor(u * self.levels), max=self.levels - 1).long()

    def codes_from_latent(self, z: Tensor) -> Tensor:
        """The encode path: codes only, no straight-through bookkeeping."""
        return self.codes_from_squashed(self.squash(z))

    def values_from_codes(self, codes: Tensor) -> Tensor:
        return (codes.float() + 0.5) / self.levels

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        u = self.squash(z)
        codes = self.codes_from_squashed(u)
        q = self.values_from_codes(codes)
        return u + (q - u).detach(), codes
