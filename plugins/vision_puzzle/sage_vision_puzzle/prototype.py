"""The research prototype's vision model, re-implemented from its description (docs/vision.md).

For benchmarks only: it shows what the replacement is measured against, trained with the
same trainer, data and wall-clock budget. Faithful to the description: images upscaled
to 224x224 and mapped to [-1, 1]; three strided convolutions (32, 64, 128 channels) with
batch norm to 28x28, bilinear to 30x30, 1x1 to 64 dims; a plain VQ of 10 codes x 64
dims (uniform +-0.1 init, codebook + 0.25 x commitment loss, straight-through); a
decoder of three transposed convolutions to 240x240, resized to 224, tanh, trained
against ImageNet-normalised targets. 349,187 parameters, as reported.

Two departures, both needed to fit the contract: the prototype's batch-wide test
(``if images.min() >= 0: x = 2x - 1``) is applied per image (inputs are always in
[0, 1], so it always fires), and its 224x224 output is resized back to R x R so its
reconstructions are scored on the same pixels as every other vision compressor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_core import GRID_SIZE, CompressorOutput, PuzzleCompressor
from sage_vision_puzzle.config import VisionPrototypeConfig
from sage_vision_puzzle.modality import VisionModality

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CODES, CODE_DIM, COMMITMENT = 10, 64, 0.25


def _conv_bn_relu(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.ReLU())


class VisionPrototypeCompressor(PuzzleCompressor):
    """``(N, 3, R, R)`` -> 224x224 -> VQ-VAE with 10 unordered codes -> ``(N, 3, R, R)``."""

    id = "vision_prototype"
    Modality = VisionModality
    Config = VisionPrototypeConfig
    ordered_codes = False  # a plain VQ codebook has no order: permuting it changes nothing

    config: VisionPrototypeConfig

    def __init__(self, config: VisionPrototypeConfig | None = None) -> None:
        super().__init__(config)
        self.resolution = self.config.modality.resolution
        self.encoder = nn.Sequential(
            _conv_bn_relu(nn.Conv2d(3, 32, 4, 2, 1), 32),
            _conv_bn_relu(nn.Conv2d(32, 64, 4, 2, 1), 64),
            _conv_bn_relu(nn.Conv2d(64, 128, 4, 2, 1), 128),
        )
        self.project = nn.Conv2d(128, CODE_DIM, 1)
        self.codebook = nn.Parameter(torch.empty(CODES, CODE_DIM).uniform_(-0.1, 0.1))
        self.decoder = nn.Sequential(
            _conv_bn_relu(nn.Conv2d(CODE_DIM, 128, 1), 128),
            _conv_bn_relu(nn.ConvTranspose2d(128, 64, 4, 2, 1), 64),
            _conv_bn_relu(nn.ConvTranspose2d(64, 32, 4, 2, 1), 32),
            nn.ConvTranspose2d(32, 3, 4, 2, 1),
        )
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _upscaled(self, x: Tensor) -> Tensor:
        """``(N, 3, R, R)`` -> ``(N, 3, 224, 224)`` in [0, 1]."""
        size = self.config.prototype_size
        return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)

    def _latent(self, x: Tensor) -> Tensor:
        """``(N, 3, R, R)`` -> ``(N, 30, 30, 64)`` continuous latents."""
        features = self.encoder(2 * self._upscaled(x) - 1)
        features = F.interpolate(features, size=(GRID_SIZE, GRID_SIZE), mode="bilinear", align_corners=False)
        return self.project(features).permute(0, 2, 3, 1)

    def _nearest(self, z: Tensor) -> Tensor:
        return torch.cdist(z.reshape(-1, CODE_DIM), self.codebook).argmin(1).view(z.shape[:-1])

    def encode_codes(self, x: Tensor) -> Tensor:
        return self._nearest(self._latent(x))

    def _decode_normalised(self, q: Tensor) -> Tensor:
        """``(N, 30, 30, 64)`` -> ``(N, 3, 224, 224)`` tanh output (ImageNet-normalised scale)."""
        size = self.config.prototype_size
        out = self.decoder(q.permute(0, 3, 1, 2))
        return torch.tanh(F.interpolate(out, size=(size, size), mode="bilinear", align_corners=False))

    def _to_input(self, normalised: Tensor) -> Tensor:
        """ImageNet-normalised 224x224 -> ``(N, 3, R, R)`` in [0, 1]."""
        rgb = (normalised * self.std + self.mean).clamp(0, 1)
        size = (self.resolution, self.resolution)
        return F.interpolate(rgb, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)

    def decode_codes(self, codes: Tensor) -> Tensor:
        return self._to_input(self._decode_normalised(self.codebook[codes]))

    def forward(self, x: Tensor) -> CompressorOutput:
        z = self._latent(x)
        codes = self._nearest(z)
        q = self.codebook[codes]
        codebook_loss = F.mse_loss(q, z.detach())
        commitment_loss = F.mse_loss(z, q.detach())
        normalised = self._decode_normalised(z + (q - z).detach())
        target = (self._upscaled(x) - self.mean) / self.std
        recon = F.mse_loss(normalised, target)
        loss = recon + codebook_loss + COMMITMENT * commitment_loss
        logs = {"recon": recon.detach(), "codebook": codebook_loss.detach()}
        return CompressorOutput(loss=loss, codes=codes, reconstruction=self._to_input(normalised.detach()), logs=logs)
