"""Audio reconstruction metrics and the non-learned baseline codec.

``logmel_db_rmse``: RMS difference in dB between input and reconstruction log-mel, both
clamped to at most 80 dB below the *input clip's* peak, so digital silence (-100 dB here,
-inf in principle) cannot dominate the score. Per clip, then averaged by the caller.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sage_audio_puzzle.frontend import FLOOR_DB, FRAMES, N_MELS
from sage_audio_puzzle.grid import GRID

DYNAMIC_RANGE_DB = 80.0
#: Fixed dB range used for ``mse01`` (both sides scaled to [0, 1] on the same fixed scale).
MSE01_RANGE = (FLOOR_DB, 60.0)


def clamp_below_peak(x: Tensor, reference: Tensor, range_db: float = DYNAMIC_RANGE_DB) -> Tensor:
    """``(N, 1, 128, 32)`` dB -> the same, raised to at least ``peak(reference) - range_db`` per clip."""
    floor = reference.flatten(1).amax(1).view(-1, 1, 1, 1) - range_db
    return torch.maximum(x, floor)


def logmel_db_rmse(x: Tensor, x_hat: Tensor) -> Tensor:
    """``(N, 1, 128, 32)`` x2 -> ``(N,)`` dB RMSE on the peak-referenced 80 dB scale."""
    diff = clamp_below_peak(x_hat, x) - clamp_below_peak(x, x)
    return diff.pow(2).flatten(1).mean(1).sqrt()


def mse01(x: Tensor, x_hat: Tensor) -> Tensor:
    """``(N,)`` MSE with both sides mapped from the fixed dB range to [0, 1]."""
    lo, hi = MSE01_RANGE
    scale = lambda t: ((t - lo) / (hi - lo)).clamp(0, 1)  # noqa: E731
    return (scale(x) - scale(x_hat)).pow(2).flatten(1).mean(1)


def reconstruction_metrics(x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
    """Per-clip metrics ``{name: (N,)}``; ``active_db_rmse`` counts cells within 40 dB of the peak."""
    target = clamp_below_peak(x, x)
    diff = clamp_below_peak(x_hat, x) - target
    active = (target >= x.flatten(1).amax(1).view(-1, 1, 1, 1) - 40.0).float()
    active_mse = (diff.pow(2) * active).flatten(1).sum(1) / active.flatten(1).sum(1).clamp(min=1)
    return {"logmel_db_rmse": logmel_db_rmse(x, x_hat), "active_db_rmse": active_mse.sqrt(), "mse01": mse01(x, x_hat)}


def baseline_codec(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, 1, 128, 32)`` -> codes ``(N, 30, 30)`` and ``x_hat``: resize to 30x30, 10 uniform
    levels between the clip's own min and max, resize back (bilinear)."""
    small = F.interpolate(x, size=(GRID, GRID), mode="area").squeeze(1)
    lo = small.flatten(1).amin(1).view(-1, 1, 1)
    hi = small.flatten(1).amax(1).view(-1, 1, 1)
    span = (hi - lo).clamp(min=1e-6)
    codes = torch.clamp(torch.floor((small - lo) / span * 10), 0, 9).long()
    values = lo + (codes.float() + 0.5) / 10 * span
    x_hat = F.interpolate(values.unsqueeze(1), size=(N_MELS, FRAMES), mode="bilinear", align_corners=False)
    return codes, x_hat
