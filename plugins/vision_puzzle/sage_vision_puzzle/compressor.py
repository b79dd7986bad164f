"""The vision puzzle compressor: ``(N, 3, R, R)`` RGB in [0, 1] -> ``(N, 30, 30)`` codes -> RGB.

Every cell is computed from its own ``R/30 x R/30`` patch (plus context from 3x3
convolutions at the cell grid), so all 900 cells carry independent information.

Code order, by construction: each cell's latent is the logit of the patch's mean luma
(relative to the image's own luma range, ``luma_range.py``) moved by a learned
correction of at most ``code_reach`` levels, and the decoder's output is a gray image
of the code's level (bilinearly upsampled, in that range) plus a learned residual. Both
learned parts start at zero. Colour rides on the luma codes (``chroma.py``): each
block's code sum names a palette chroma, and the decoder adds it. So an untrained model
is the luma quantiser with range and colour: all ten codes are used from the first
step, a higher code decodes to a brighter cell, and training adds detail and better
colour on top without discovering an order.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_core import GRID_SIZE, CompressorOutput, FiniteScalarQuantizer, PuzzleCompressor
from sage_vision_puzzle.chroma import ChromaPalette, block_classes, embed_classes, from_ycbcr, to_ycbcr
from sage_vision_puzzle.config import VisionPuzzleConfig
from sage_vision_puzzle.luma_range import (fill_header, full_range, header_mask, image_range, range_luma,
                                           read_header, write_header)
from sage_vision_puzzle.metrics import cell_luminance
from sage_vision_puzzle.modality import VisionModality

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
    """Cell values ``(N, 30, 30)`` in (0, 1), their luma and chroma ``(N, 2, 30, 30)`` -> ``(N, 3, R, R)`` residual.

    The residual is zero at initialisation. Dilated blocks widen the context cheaply:
    edges come from the neighbours, and colour follows them.
    """

    def __init__(self, patch: int, channels: int, blocks: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(4, channels, 3, padding=1)
        self.blocks = nn.Sequential(*(ResidualBlock(channels, dilation=2 ** (i % 3)) for i in range(blocks)))
        self.head = nn.Conv2d(channels, 3 * patch * patch, 1)
        self.shuffle = nn.PixelShuffle(patch)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, values: Tensor, luma: Tensor, chroma: Tensor) -> Tensor:
        features = F.relu(self.blocks(self.embed(torch.cat([values[:, None] - 0.5, luma[:, None] - 0.5, chroma], 1))))
        return self.shuffle(self.head(features))


class VisionPuzzleCompressor(PuzzleCompressor):
    """RGB images ``(N, 3, R, R)`` -> puzzles; code 0 = darkest cell, 9 = brightest, block sums = colour.

    With ``luma_range = "image"`` (the default) the codes span the image's own darkest to
    brightest cell, and the four header cells at the bottom right say which luma that is.
    """

    id = "vision_puzzle"
    Modality = VisionModality
    version = "3"
    Config = VisionPuzzleConfig
    ordered_codes = True

    config: VisionPuzzleConfig

    def __init__(self, config: VisionPuzzleConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.resolution = c.modality.resolution
        patch = self.resolution // GRID_SIZE
        self.encoder = CellEncoder(patch, c.channels, c.encoder_blocks)
        self.quantizer = FiniteScalarQuantizer(10)
        self.palette = ChromaPalette(c.chroma_classes)
        self.decoder = CellDecoder(patch, c.channels, c.decoder_blocks)

    @property
    def has_header(self) -> bool:
        return self.config.luma_range == "image"

    def luma_range(self, x: Tensor) -> Tensor:
        """``(N, 3, R, R)`` -> ``(N, 2)`` int64 ``lo, hi`` on the header's grid (0-99): what the codes span."""
        if self.has_header:
            return image_range(cell_luminance(x))
        return full_range(len(x), x.device)

    def latent(self, x: Tensor, luma_range: Tensor) -> Tensor:
        """``(N, 3, R, R)`` -> ``(N, 30, 30)``: logit of each cell's mean luma within the range, moved by the
        learned correction (at most ``code_reach`` levels, so a code stays a brightness)."""
        lo, hi = range_luma(luma_range)
        relative = (cell_luminance(x) - lo) / (hi - lo)
        correction = self.encoder(x)
        if self.config.code_reach is None:
            return torch.logit(relative.clamp(LOGIT_MARGIN, 1 - LOGIT_MARGIN)) + correction
        reach = self.config.code_reach / self.quantizer.levels
        moved = relative + reach * torch.tanh(correction)
        return torch.logit(moved.clamp(LOGIT_MARGIN, 1 - LOGIT_MARGIN))

    def codes_with_colour(self, x: Tensor, squashed: Tensor, luma_range: Tensor) -> Tensor:
        """Nearest levels of the squashed latents plus the range's header, nudged so block sums name colours."""
        c = self.config
        levels = self.quantizer.levels
        _, chroma = to_ycbcr(x)
        block_chroma = F.adaptive_avg_pool2d(chroma, GRID_SIZE // c.chroma_block)
        target = self.palette.nearest(block_chroma)
        codes = self.quantizer.codes_from_squashed(squashed)
        position = squashed * levels - 0.5
        frozen = None
        if self.has_header:
            codes = write_header(codes, luma_range)
            frozen = header_mask(codes.device)
            position = torch.where(frozen, codes.to(position.dtype), position)
        return embed_classes(codes, position, target, c.chroma_block, c.chroma_classes, levels, frozen)

    def encode_codes(self, x: Tensor) -> Tensor:
        luma_range = self.luma_range(x)
        return self.codes_with_colour(x, self.quantizer.squash(self.latent(x, luma_range)), luma_range)

    def decode_values(self, values: Tensor, codes: Tensor) -> Tensor:
        """Cell values ``(N, 30, 30)`` in (0, 1) and their codes -> ``(N, 3, R, R)`` in [0, 1]."""
        c = self.config
        size = (self.resolution, self.resolution)
        if self.has_header:
            lo, hi = range_luma(read_header(codes))
            values = fill_header(values)
        else:
            lo, hi = range_luma(full_range(len(codes), codes.device))
        luma = lo + (hi - lo) * values
        block_chroma = self.palette.lookup(block_classes(codes, c.chroma_block, c.chroma_classes))
        gray = F.interpolate(luma[:, None], size=size, mode="bilinear", align_corners=False)
        chroma = F.interpolate(block_chroma, size=size, mode="bilinear", align_corners=False)
        cell_chroma = block_chroma.repeat_interleave(c.chroma_block, 2).repeat_interleave(c.chroma_block, 3)
        return torch.clamp(from_ycbcr(gray, chroma) + self.decoder(values, luma, cell_chroma), 0, 1)

    def decode_codes(self, codes: Tensor) -> Tensor:
        return self.decode_values(self.quantizer.values_from_codes(codes), codes)

    def forward(self, x: Tensor) -> CompressorOutput:
        """Loss: mean over images of log(1 + MSE / 1e-4), i.e. mean per-image PSNR, the metric we report.

        Plain MSE lets a few badly coloured images dominate; the floor (40 dB) keeps
        near-perfect images from dominating instead. The loss is >= 0 (0 = perfect).
        """
        luma_range = self.luma_range(x)
        squashed = self.quantizer.squash(self.latent(x, luma_range))
        codes = self.codes_with_colour(x, squashed.detach(), luma_range)
        values = squashed + (self.quantizer.values_from_codes(codes) - squashed).detach()  # straight through
        x_hat = self.decode_values(values, codes)
        mse = ((x_hat - x) ** 2).flatten(1).mean(1)
        loss = torch.log1p(mse / LOSS_FLOOR).mean()
        logs = {"mse": mse.mean().detach(), "psnr_db": (-10 * torch.log10(mse.clamp_min(1e-10))).mean().detach()}
        return CompressorOutput(loss=loss, codes=codes, reconstruction=x_hat, logs=logs)
