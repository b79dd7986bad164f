"""The networks: bytes -> a few real latents per group of bytes -> byte logits.

Residual 1-D convolutions give each byte a view of its neighbours on both sides, so the
decoder can use context (English spelling) to resolve codes the quantizer made ambiguous.
LayerNorm works per position, so nothing depends on the other samples of a batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_language_puzzle.text import VOCAB


class ConvBlock(nn.Module):
    """``(N, L, D) -> (N, L, D)``: pre-norm residual conv over positions, then a linear map."""

    def __init__(self, width: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.conv = nn.Conv1d(width, width, kernel_size, padding=dilation * (kernel_size // 2), dilation=dilation)
        self.mix = nn.Linear(width, width)

    def forward(self, h: Tensor) -> Tensor:
        context = self.conv(self.norm(h).transpose(1, 2)).transpose(1, 2)
        return h + self.mix(F.gelu(context))


def _blocks(count: int, width: int, kernel_size: int) -> nn.Sequential:
    """Dilations 1, 2, 4, 1, 2, 4, ...: a wide receptive field from few layers."""
    return nn.Sequential(*(ConvBlock(width, kernel_size, 2 ** (i % 3)) for i in range(count)))


class ByteEncoder(nn.Module):
    """``(N, L)`` byte symbols -> ``(N, L / group_bytes, group_cells)`` real latents."""

    def __init__(self, width: int, layers: int, kernel_size: int, group_bytes: int, group_cells: int) -> None:
        super().__init__()
        self.group_bytes = group_bytes
        self.embed = nn.Embedding(VOCAB, width)
        self.context = _blocks(layers, width, kernel_size)
        self.to_latent = nn.Linear(group_bytes * width, group_cells)

    def forward(self, x: Tensor) -> Tensor:
        h = self.context(self.embed(x.long()))
        return self.to_latent(h.reshape(len(x), -1, self.group_bytes * h.shape[-1]))

    @torch.no_grad()
    def place(self, symbols: Tensor, latents: Tensor) -> None:
        """Start ``symbols[i]`` at latent ``latents[i]`` (one byte per group, before any context).

        Each embedding moves by the least change that puts its projection on the target,
        and the context blocks start as the identity (their last map zeroed), so every
        listed symbol starts in its own cell; training then moves all of it freely.
        """
        assert self.group_bytes == 1, "placing single symbols needs group_bytes == 1"
        for block in self.context:
            nn.init.zeros_(block.mix.weight)
            nn.init.zeros_(block.mix.bias)
        weight, bias = self.to_latent.weight, self.to_latent.bias  # (cells, width), (cells,)
        rows = self.embed.weight[symbols]
        error = latents - rows @ weight.T - bias
        self.embed.weight[symbols] = rows + error @ torch.linalg.pinv(weight).T


class LevelFeatures(nn.Module):
    """``(..., cells)`` values in (0, 1) -> ``(..., cells * levels)`` soft one-hot of the level.

    A Gaussian bump per level: at a level centre it is nearly one-hot, so the decoder can
    tell all ``levels ** cells`` cell combinations apart with one linear map, and it is
    smooth, so the straight-through gradient still reaches the encoder.
    """

    def __init__(self, levels: int = 10, sharpness: float = 2.0) -> None:
        super().__init__()
        self.levels, self.sharpness = levels, sharpness
        self.register_buffer("centres", (torch.arange(levels) + 0.5) / levels, persistent=False)

    def forward(self, values: Tensor) -> Tensor:
        distance = (values.unsqueeze(-1) - self.centres) * self.levels
        return torch.exp(-self.sharpness * distance.pow(2)).flatten(-2)


class ByteDecoder(nn.Module):
    """``(N, G, group_cells)`` quantized values in (0, 1) -> ``(N, G * group_bytes, 257)`` logits."""

    def __init__(
        self, width: int, layers: int, kernel_size: int, group_bytes: int, group_cells: int, levels: int = 0
    ) -> None:
        super().__init__()
        self.width = width
        self.features = LevelFeatures(levels) if levels else nn.Identity()
        self.from_latent = nn.Linear(group_cells * (levels or 1), group_bytes * width)
        self.context = _blocks(layers, width, kernel_size)
        self.to_logits = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, VOCAB))

    def forward(self, values: Tensor) -> Tensor:
        h = self.from_latent(self.features(values)).reshape(len(values), -1, self.width)
        return self.to_logits(self.context(h))
