"""The vision puzzle compressor: ``(N, 3, R, R)`` RGB in [0, 1] -> ``(N, 30, 30)`` codes -> RGB.

Every cell is computed from its own ``R/30 x R/30`` patch (plus context from 3x3
convolutions at the cell grid), so all 900 cells carry independent information.

Code order, by construction: each cell's latent is the logit of the patch's mean luma
plus a learned correction, and the decoder's output is a gray image of the code's
level (bilinearly upsampled) plus a learned residual. Both learned parts start at zero,
so an untrained model is exactly the luma quantiser of ``baseline_codec``: all ten
codes are used from the first step, and a higher code decodes to a brighter cell.
Training adds colour and detail on top without having to discover an order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_core import GRID_SIZE, CompressorOutput, FiniteScalarQuantizer
from sage_vision_puzzle.config import VisionPuzzleConfig
from sage_vision_puzzle.image_compressor import ImageCompressor
from sage_vision_puzzle.metrics import cell_luminance

#: Mean luma is clamped to this margin before the logit, so black and white stay finite.
LOGIT_MARGIN = 0.02
#: Per-image MSE floor in the loss (40 dB PSNR).
LOSS_FLOOR = 1e-4


class ResidualBlock(nn.Module):
    """``(N, C, 30, 30) -> (N, C, 30, 30)``: x + conv(relu(conv(relu(x)))); starts as identity."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class CellEncoder(nn.Module):
    """``(N, 3, R, R)`` in [0, 1] -> ``(N, 30, 30)`` latent correction (zero at initialisation)."""

    def __init__(self, patch: int, channels: int, blocks: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, channels, kernel_size=patch, stride=patch)
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)))
        self.head = nn.Conv2d(channels, 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(F.relu(self.blocks(self.embed(x - 0.5)))).squeeze(1)


class CellDecoder(nn.Module):
    """``(N, 30, 30)`` cell values in (0, 1) -> ``(N, 3, R, R)`` residual (zero at initialisation).

    Dilated blocks widen the context cheaply: colour and edges come from the neighbours.
    """

    def __init__(self, patch: int, channels: int, blocks: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.Sequential(*(ResidualBlock(channels, dilation=2 ** (i % 3)) for i in range(blocks)))
        self.head = nn.Conv2d(channels, 3 * patch * patch, 1)
        self.shuffle = nn.PixelShuffle(patch)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, values: Tensor) -> Tensor:
        features = F.relu(self.blocks(self.embed(values[:, None] - 0.5)))
        return self.shuffle(self.head(features))


class VisionPuzzleCompressor(ImageCompressor):
    """RGB images ``(N, 3, R, R)`` -> puzzles; code 0 = darkest cell, 9 = brightest."""

    id = "vision_puzzle"
    Config = VisionPuzzleConfig
    ordered_codes = True

    config: VisionPuzzleConfig

    def __init__(self, config: VisionPuzzleConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        patch = c.resolution // GRID_SIZE
        self.encoder = CellEncoder(patch, c.channels, c.encoder_blocks)
        self.quantizer = FiniteScalarQuantizer(10)
        self.decoder = CellDecoder(patch, c.channels, c.decoder_blocks)

    def latent(self, x: Tensor) -> Tensor:
        """``(N, 3, R, R)`` -> ``(N, 30, 30)``: logit of each cell's mean luma + learned correction."""
        luma = cell_luminance(x).clamp(LOGIT_MARGIN, 1 - LOGIT_MARGIN)
        return torch.logit(luma) + self.encoder(x)

    def encode_codes(self, x: Tensor) -> Tensor:
        return self.quantizer.codes_from_latent(self.latent(x))

    def decode_values(self, values: Tensor) -> Tensor:
        """``(N, 30, 30)`` cell values in (0, 1) -> ``(N, 3, R, R)`` in [0, 1]."""
        size = (self.resolution, self.resolution)
        gray = F.interpolate(values[:, None], size=size, mode="bilinear", align_corners=False)
        return torch.clamp(gray + self.decoder(values), 0, 1)

    def decode_codes(self, codes: Tensor) -> Tensor:
        return self.decode_values(self.quantizer.values_from_codes(codes))

    def forward(self, x: Tensor) -> CompressorOutput:
        """Loss: mean over images of log(1 + MSE / 1e-4), i.e. mean per-image PSNR, the metric we report.

        Plain MSE lets a few badly coloured images dominate; the floor (40 dB) keeps
        near-perfect images from dominating instead. The loss is >= 0 (0 = perfect).
        """
        values, codes = self.quantizer(self.latent(x))
        x_hat = self.decode_values(values)
        mse = ((x_hat - x) ** 2).flatten(1).mean(1)
        loss = torch.log1p(mse / LOSS_FLOOR).mean()
        logs = {"mse": mse.mean().detach(), "psnr_db": (-10 * torch.log10(mse.clamp_min(1e-10))).mean().detach()}
        return CompressorOutput(loss=loss, codes=codes, reconstruction=x_hat, logs=logs)
