"""``AudioPrototypeCompressor``: the research prototype's VQ-VAE as a reference for benchmarks.

Architecture, quantizer and loss follow the prototype's description (see ``prototype_net``).
One change is forced: the prototype min-max scaled each *batch* to [0, 1], which cannot be
decoded back to dB and breaks batch invariance, so here each clip is mapped from the fixed
range [-100, +20] dB to [0, 1] (the prototype's own ~120 dB batch range) and back.
Registered as a *reference* compressor: `sage encode audio` never picks it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sage_core import CompressorOutput, PuzzleCompressor

from sage_audio_puzzle.config import AudioPrototypeConfig
from sage_audio_puzzle.modality import AudioModality
from sage_audio_puzzle.frontend import FLOOR_DB
from sage_audio_puzzle.prototype_net import PrototypeDecoder, PrototypeEncoder, PrototypeVectorQuantizer

_RANGE_DB = (FLOOR_DB, 20.0)


def to_unit(x: Tensor) -> Tensor:
    lo, hi = _RANGE_DB
    return ((x - lo) / (hi - lo)).clamp(0, 1)


def from_unit(u: Tensor) -> Tensor:
    lo, hi = _RANGE_DB
    return u * (hi - lo) + lo


class AudioPrototypeCompressor(PuzzleCompressor):
    """``(N, 1, 128, 32)`` dB -> prototype VQ-VAE (unordered codes) -> dB."""

    id = "audio_prototype"
    Modality = AudioModality
    version = "1"
    Config = AudioPrototypeConfig
    ordered_codes = False

    def __init__(self, config: AudioPrototypeConfig | None = None) -> None:
        super().__init__(config)
        self.encoder = PrototypeEncoder()
        self.quantizer = PrototypeVectorQuantizer()
        self.decoder = PrototypeDecoder()

    def encode_codes(self, x: Tensor) -> Tensor:
        return self.quantizer.codes(self.encoder(to_unit(x)))

    def decode_codes(self, codes: Tensor) -> Tensor:
        return from_unit(self.decoder(self.quantizer.lookup(codes)))

    def forward(self, x: Tensor) -> CompressorOutput:
        unit = to_unit(x)
        q, codes, vq_loss = self.quantizer(self.encoder(unit))
        unit_hat = self.decoder(q)
        recon = F.mse_loss(unit_hat, unit)
        return CompressorOutput(loss=recon + vq_loss, codes=codes, reconstruction=from_unit(unit_hat),
                                logs={"recon_mse01": recon.detach(), "vq_loss": vq_loss.detach()})
