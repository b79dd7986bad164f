"""A faithful re-implementation of the research prototype's audio VQ-VAE, from its published description.

Kept only as a reference for benchmarks: its choices (batch-wide min-max scaling, an
upsampled 8x32 map, an unordered plain-VQ codebook) are what this plugin replaces. It
sees the same per-clip dB input as our model; the batch-wide scaling is reproduced inside
``forward`` for training (as the prototype did), while encoding scales each clip on its own
fixed range so the contract's batch-invariance still holds for the benchmark.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_audio_puzzle.frontend import FRAMES, N_MELS
from sage_audio_puzzle.grid import GRID


class PrototypeVectorQuantizer(nn.Module):
    """Plain VQ: 10 codes x 64 dims, uniform +-0.1 init, codebook + 0.25 commitment, straight-through."""

    def __init__(self, codes: int = 10, dim: int = 64, beta: float = 0.25) -> None:
        super().__init__()
        self.codebook = nn.Embedding(codes, dim)
        self.codebook.weight.data.uniform_(-0.1, 0.1)
        self.beta = beta

    def codes(self, z: Tensor) -> Tensor:
        """``(N, D, 30, 30)`` -> ``(N, 30, 30)`` nearest codebook indices."""
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        distances = torch.cdist(flat, self.codebook.weight)
        return distances.argmin(1).view(z.shape[0], z.shape[2], z.shape[3])

    def lookup(self, codes: Tensor) -> Tensor:
        return self.codebook(codes).permute(0, 3, 1, 2)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        codes = self.codes(z)
        q = self.lookup(codes)
        loss = F.mse_loss(q, z.detach()) + self.beta * F.mse_loss(z, q.detach())
        return z + (q - z).detach(), codes, loss


class PrototypeEncoder(nn.Module):
    """``(N, 1, 128, 32)`` in [0, 1] -> ``(N, 64, 30, 30)``: two strided convs to 32x8, bilinear to 30x30."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(1, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
        )
        self.project = nn.Conv2d(64, 64, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = F.interpolate(self.convs(x), size=(GRID, GRID), mode="bilinear", align_corners=False)
        return self.project(h)


class PrototypeDecoder(nn.Module):
    """``(N, 64, 30, 30)`` -> ``(N, 1, 128, 32)`` in [0, 1]: two transposed convs to 120x120, resize, sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(64, 64, 1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
        )
        self.out = nn.Conv2d(16, 1, 1)

    def forward(self, q: Tensor) -> Tensor:
        h = F.interpolate(self.net(q), size=(N_MELS, FRAMES), mode="bilinear", align_corners=False)
        return torch.sigmoid(self.out(h))
