"""The audio puzzle network: a tiny encoder to the 30x30 grid and a stronger decoder back.

Every one of the 900 cells is computed from its own mel bands and frames (no upsampling
of a smaller map). Both directions have a fixed *monotone path*: the encoder's latent is
the cell's mean log energy plus a learned residual, and the decoder's output is the code
value spread back over the cell's bands and frames plus a learned residual. So a higher
code means more energy from the first step, and row 0 is the lowest mel band.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_audio_puzzle.frontend import FRAMES, N_MELS
from sage_audio_puzzle.grid import GRID, band_pooling, band_spreading, neighbour_bands, time_resampling

#: Fixed affine map from dB to the network's scale: n = (dB - CENTRE) / SPAN.
DB_CENTRE = -40.0
DB_SPAN = 40.0


def normalize_db(x: Tensor) -> Tensor:
    return (x - DB_CENTRE) / DB_SPAN


def denormalize_db(n: Tensor) -> Tensor:
    return n * DB_SPAN + DB_CENTRE


class TinyEncoder(nn.Module):
    """``(N, 1, 128, 32)`` dB -> ``(N, 30, 30)`` real latents (one scalar per cell).

    Only batched matrix products (no convolutions), so it is cheap at batch 1 and a clip's
    latent is bit-identical alone or in any batch: learned band filters (each row sees only
    its own and its neighbours' mel bands), a learned time map 32 -> 30 frames, then a small
    per-cell MLP. The cell's plain mean energy is added as a fixed monotone skip, so the
    latent is ordered by energy from initialisation.
    """

    def __init__(self, filters: int, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mean_pool", band_pooling(), persistent=False)
        self.register_buffer("mean_time", time_resampling(), persistent=False)
        self.register_buffer("band_mask", neighbour_bands(), persistent=False)
        pool = band_pooling().unsqueeze(0).repeat(filters, 1, 1)
        self.band_filters = nn.Parameter(pool + 0.05 * torch.randn_like(pool) * self.band_mask)
        self.time_map = nn.Parameter(time_resampling())
        self.hidden = nn.Parameter(torch.randn(hidden, filters) / filters**0.5)
        self.hidden_bias = nn.Parameter(torch.zeros(hidden, 1))
        self.readout = nn.Parameter(torch.zeros(1, hidden))
        self.skip_gain = nn.Parameter(torch.tensor(3.0))
        self.skip_bias = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: Tensor) -> Tensor:
        n = normalize_db(x.reshape(-1, N_MELS, FRAMES))
        mean_energy = self.mean_pool @ n @ self.mean_time  # (N, 30, 30)
        filters = self.band_filters * self.band_mask
        pooled = (torch.matmul(filters.unsqueeze(0), n.unsqueeze(1)) @ self.time_map).flatten(2)  # (N, F, 900)
        residual = self.readout @ torch.relu(self.hidden @ pooled + self.hidden_bias)  # (N, 1, 900)
        return self.skip_gain * mean_energy + self.skip_bias + residual.view(-1, GRID, GRID)


def channels_last(values: Tensor) -> Tensor:
    """``(N, H, W, C)`` memory -> the ``(N, C, H, W)`` tensor (``torch.channels_last``) it holds."""
    return values.permute(0, 3, 1, 2)


def conv_one_channel(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """``conv(x)`` of a one-channel ``(N, 1, H, W)`` map, as unfold + one batched product.

    The result is channels-last, the layout the decoder's 3x3 convs run in. Why: with one
    input channel the nine taps are a small matrix; this took less than half the time of
    oneDNN's conv, forward and backward (measured, one thread).
    """
    n, _, rows, cols = x.shape
    taps = F.unfold(x, 3, padding=conv.padding, dilation=conv.dilation).transpose(1, 2)  # (N, H * W, 9)
    weight = conv.weight.view(1, conv.out_channels, -1).transpose(1, 2).expand(n, -1, -1)
    out = torch.baddbmm(conv.bias.view(1, 1, -1), taps, weight)  # (N, H * W, C)
    return channels_last(out.view(n, rows, cols, -1))


def conv_1x1(h: Tensor, conv: nn.Conv2d) -> Tensor:
    """``conv(h)`` for a 1x1 conv of a channels-last ``h``: one matrix product, channels-last out.

    Why: oneDNN's 1x1 conv here took about 2.5x the time of a plain product (measured).
    """
    n, c, rows, cols = h.shape
    flat = h.permute(0, 2, 3, 1).reshape(n * rows * cols, c)  # a view when h is channels-last
    out = torch.addmm(conv.bias, flat, conv.weight.view(-1, c).t())
    return channels_last(out.view(n, rows, cols, -1))


class ResidualBlock(nn.Module):
    """``(N, C, 30, 30) -> (N, C, 30, 30)``: x + conv(relu(conv(relu(x)))), 3x3 convs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, h: Tensor) -> Tensor:
        inner = torch.relu_(self.conv1(torch.relu(h)))  # in place: the conv's backward does not need its output
        return h + self.conv2(inner)


class AxisMixing(nn.Module):
    """``(N, C, 30, 30) -> (N, C, 30, 30)``: x + 1x1(relu(F_c @ x_c @ T_c)), one F, T per channel.

    Every cell sees its whole column (all bands: where the harmonics of this pitch fall)
    and its whole row (the whole second: this voice's level and timbre), for a fifth of a
    3x3 convolution's arithmetic (measured: steps ~15% slower with one block). Starts as
    the identity.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        eye = torch.eye(GRID).expand(channels, GRID, GRID)
        self.bands = nn.Parameter(eye + 0.02 * torch.randn(channels, GRID, GRID))
        self.frames = nn.Parameter(eye + 0.02 * torch.randn(channels, GRID, GRID))
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: Tensor) -> Tensor:
        # Channel-major (C, rows, N, cols): both maps become one product per channel over the
        # whole batch, and the 1x1 one plain matrix product (measured: ~2x faster than 256
        # small 30x30 products and a conv).
        n, c, rows, cols = h.shape
        grids = h.permute(1, 2, 0, 3).reshape(c, rows, n * cols)
        mixed = torch.relu_((self.bands @ grids).view(c, rows * n, cols) @ self.frames)
        out = torch.addmm(self.out.bias.view(-1, 1), self.out.weight.view(-1, c), mixed.view(c, -1))
        return h + out.view(-1, rows, n, cols).permute(2, 0, 1, 3)


class GridDecoder(nn.Module):
    """``(N, 30, 30)`` cell values in [0, 1] -> ``(N, 1, 128, 32)`` dB.

    Output = monotone base (the value spread over the cell's bands/frames) + a residual:
    30x30 residual convs produce ``basis`` coefficients per cell, each with its own learned
    frequency profile (30 rows -> 128 bands), then a learned time map 30 -> 32. (A 3x3
    refinement at full 128x32 resolution halved training speed; it is left out.)
    """

    def __init__(self, channels: int, blocks: int, basis: int, mixing: int = 0) -> None:
        super().__init__()
        self.register_buffer("spread", band_spreading(), persistent=False)
        self.register_buffer("base_time", time_resampling(GRID, FRAMES), persistent=False)
        self.register_buffer("cell_pool", band_pooling(), persistent=False)  # what the analyzer's cell intensity uses
        self.register_buffer("cell_time", time_resampling(), persistent=False)
        self.base_gain = nn.Parameter(torch.tensor(2.0))
        self.base_bias = nn.Parameter(torch.tensor(-1.0))
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        # Undilated: a dilated conv's weight gradient takes oneDNN's slow GEMM path (~3.5x the
        # direct kernel); without it steps are ~7% faster at the same quality (2.873 dB, measured).
        self.blocks = nn.Sequential(*(ResidualBlock(channels) for _ in range(blocks)),
                                    *(AxisMixing(channels) for _ in range(mixing)))
        self.to_basis = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, basis, 1))
        profiles = band_spreading().unsqueeze(0).repeat(basis, 1, 1)
        self.band_profiles = nn.Parameter(profiles + 0.02 * torch.randn_like(profiles))
        self.time_map = nn.Parameter(time_resampling(GRID, FRAMES))

    def forward(self, values: Tensor) -> Tensor:
        base = self.spread @ ((self.base_gain * values + self.base_bias) @ self.base_time)  # (N, 128, 32)
        # The 30x30 convs run channels-last: oneDNN then needs no layout reorders (measured).
        hidden = self.blocks(conv_one_channel(values.unsqueeze(1), self.stem))
        coefficients = conv_1x1(torch.relu(hidden), self.to_basis[1])  # (N, B, 30, 30)
        # sum_b profile_b @ coef_b @ time as ONE product over (basis, row): a third of the time.
        timed = (coefficients @ self.time_map).flatten(1, 2)  # (N, B * 30, 32)
        profiles = self.band_profiles.permute(1, 0, 2).flatten(1)  # (128, B * 30)
        detail = profiles @ timed  # (N, 128, 32)
        return denormalize_db((base + detail).unsqueeze(1))

    def level_overreach(self, values: Tensor, x_hat: Tensor, levels: int, open_ends: bool = False) -> Tensor:
        """Training term for code order: how far each cell's decoded mean energy leaves its level.

        Level k spans ``base_gain * [k, k + 1] / levels + base_bias`` on the network's scale
        (the fixed monotone path); decoding within it lets context refine a cell's energy
        without a lower code ever meaning more energy. Squared excess, mean over cells.
        ``open_ends``: the top level has no ceiling and the bottom level no floor, since
        decoding code 9 louder (or code 0 quieter) can never invert the order; loud real
        recordings otherwise saturate at the top level's ceiling.
        """
        decoded = self.cell_pool @ normalize_db(x_hat).squeeze(1) @ self.cell_time  # (N, 30, 30)
        gain, bias = self.base_gain.detach(), self.base_bias.detach()
        centre = gain * values + bias
        excess = decoded - centre
        if open_ends:
            top, bottom = values >= (levels - 1) / levels, values < 1 / levels  # codes 9 and 0 (values (k + 0.5) / levels)
            excess = torch.where(top, excess.clamp(max=0.0), torch.where(bottom, excess.clamp(min=0.0), excess))
        return torch.relu(excess.abs() - gain.abs() / (2 * levels)).pow(2).mean()


__all__ = ["TinyEncoder", "GridDecoder", "normalize_db", "denormalize_db"]
