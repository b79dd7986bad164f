"""``AudioPuzzleCompressor``: log-mel ``(1, 128, 32)`` dB -> 30x30 puzzle -> log-mel.

A code is the cell's energy on 10 ordered levels (FSQ, one scalar per cell); rows are mel
bands (row 0 the lowest), columns are time. The inputs come from ``AudioModality``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sage_core import CompressorOutput, FiniteScalarQuantizer, PuzzleCompressor

from sage_audio_puzzle import metrics
from sage_audio_puzzle.config import AudioPuzzleConfig
from sage_audio_puzzle.modality import AudioModality
from sage_audio_puzzle.model import DB_SPAN, GridDecoder, TinyEncoder


def level_balance(u: Tensor, samples: int = 2048) -> Tensor:
    """How far the cells' squashed latents ``u`` (any shape, in (0, 1)) are from uniform.

    Squared 1-D Wasserstein distance between a strided subset of ``u`` and U(0, 1): zero
    when every FSQ level is used equally (3.32 bits per cell). A training-only loss term;
    encoding never sees it. 2048 samples (not all 14400 cells of a batch of 16): the sort cost
    ~3% of a step, and the trained model's quality is unchanged (measured).
    """
    flat = u.reshape(-1)
    subset = flat[:: max(1, flat.numel() // samples)]
    quantiles = (torch.arange(subset.numel(), device=u.device, dtype=u.dtype) + 0.5) / subset.numel()
    return (subset.sort().values - quantiles).pow(2).mean()


class AudioPuzzleCompressor(PuzzleCompressor):
    """``(N, 1, 128, 32)`` dB -> ``(N, 30, 30)`` ordered codes -> ``(N, 1, 128, 32)`` dB."""

    id = "audio_puzzle"
    Modality = AudioModality
    version = "2"
    Config = AudioPuzzleConfig
    ordered_codes = True
    config: AudioPuzzleConfig

    def __init__(self, config: AudioPuzzleConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.encoder = TinyEncoder(c.encoder_filters, c.encoder_hidden)
        self.quantizer = FiniteScalarQuantizer(10)
        self.decoder = GridDecoder(c.decoder_channels, c.decoder_blocks, c.decoder_basis, c.decoder_mixing)
        self.continuous = False

    def set_progress(self, step: int, total_steps: int) -> None:
        """Train as a plain autoencoder for the first ``continuous_warmup`` of the run."""
        self.continuous = step < self.config.continuous_warmup * total_steps

    def encode_codes(self, x: Tensor) -> Tensor:
        return self.quantizer.codes_from_latent(self.encoder(x))

    def decode_codes(self, codes: Tensor) -> Tensor:
        return self.decoder(self.quantizer.values_from_codes(codes))

    def forward(self, x: Tensor) -> CompressorOutput:
        latent = self.encoder(x)
        values, codes = self.quantizer(latent)
        if self.continuous and self.training:
            values = self.quantizer.squash(latent)
        x_hat = self.decoder(values)
        target = metrics.clamp_below_peak(x, x, self.config.loss_floor_db)
        error = metrics.clamp_below_peak(x_hat, x, self.config.loss_floor_db) - target
        recon = error.pow(2).mean() / DB_SPAN**2
        balance = level_balance(self.quantizer.squash(latent))
        order = self.decoder.level_overreach(values, x_hat, self.quantizer.levels, self.config.code_order_open_ends)
        loss = recon + self.config.code_balance * balance + self.config.code_order * order
        with torch.no_grad():
            db_rmse = error.pow(2).flatten(1).mean(1).sqrt().mean()
        return CompressorOutput(loss=loss, codes=codes, reconstruction=x_hat,
                                logs={"db_rmse": db_rmse, "level_balance": balance.detach(), "level_overreach": order.detach()})
