"""Image measures shared by the vision compressors: luminance per cell, PSNR, SSIM, the baseline codec.

All take RGB batches ``(N, 3, H, W)`` in [0, 1] and return per-image values.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sage_core import GRID_SIZE, NUM_CODES

#: ITU-R BT.601 luma weights, as JPEG uses on gamma-encoded RGB.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def luminance(x: Tensor) -> Tensor:
    """``(N, 3, H, W)`` -> ``(N, 1, H, W)`` luma in [0, 1]."""
    weights = x.new_tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def cell_luminance(x: Tensor) -> Tensor:
    """``(N, 3, H, W)`` -> ``(N, 30, 30)``: the mean luma of the patch each cell covers."""
    return F.adaptive_avg_pool2d(luminance(x), GRID_SIZE).squeeze(1)


def mse01(x: Tensor, x_hat: Tensor) -> Tensor:
    """Per-image mean squared error on [0, 1] RGB: ``(N,)``."""
    return ((x - x_hat) ** 2).flatten(1).mean(1)


def psnr_db(x: Tensor, x_hat: Tensor) -> Tensor:
    """Per-image PSNR with data range 1, ``(N,)``; capped at 100 dB for identical images."""
    return -10.0 * torch.log10(mse01(x, x_hat).clamp_min(1e-10))


def _gaussian_window(size: int, sigma: float, like: Tensor) -> Tensor:
    coords = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(3, 1, size, size)


def ssim(x: Tensor, x_hat: Tensor, window: int = 7, sigma: float = 1.5) -> Tensor:
    """Per-image SSIM (Wang et al. 2004) with a Gaussian window, averaged over RGB: ``(N,)``.

    A 7-pixel window (scikit-image's default size) fits the 30-pixel images this
    plugin also supports; only windows fully inside the image count.
    """
    c1, c2 = 0.01**2, 0.03**2
    w = _gaussian_window(window, sigma, x)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, w, groups=3)

    mu_x, mu_y = blur(x), blur(x_hat)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(x_hat * x_hat) - mu_y**2
    cov = blur(x * x_hat) - mu_x * mu_y
    score = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return score.flatten(1).mean(1)


def image_metrics(x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
    """``{psnr_db, ssim, mse01}``, each ``(N,)``, at the model's input resolution."""
    x_hat = x_hat.clamp(0, 1)
    return {"psnr_db": psnr_db(x, x_hat), "ssim": ssim(x, x_hat), "mse01": mse01(x, x_hat)}


def luminance_codes(x: Tensor) -> Tensor:
    """``(N, 3, H, W)`` -> ``(N, 30, 30)`` int64: each cell's mean luma on 10 uniform levels."""
    return torch.clamp(torch.floor(cell_luminance(x) * NUM_CODES), 0, NUM_CODES - 1).long()


def gray_from_codes(codes: Tensor, resolution: int) -> Tensor:
    """``(N, 30, 30)`` codes -> ``(N, 3, R, R)`` gray image: level centres, bilinearly upsampled."""
    levels = (codes.float() + 0.5) / NUM_CODES
    gray = F.interpolate(levels[:, None], size=(resolution, resolution), mode="bilinear", align_corners=False)
    return gray.expand(-1, 3, -1, -1)


def baseline_codec(x: Tensor) -> tuple[Tensor, Tensor]:
    """The non-learned codec at the same budget (900 cells x 10 codes, nothing else).

    Each cell stores its mean luma quantised to 10 uniform levels on the fixed range
    [0, 1]; decoding upsamples the level centres bilinearly to a gray image. Chroma
    and per-image ranges would need bits the puzzle does not have, so none are kept.
    ``(N, 3, R, R) -> (codes (N, 30, 30), x_hat (N, 3, R, R))``.
    """
    codes = luminance_codes(x)
    return codes, gray_from_codes(codes, x.shape[-1])
