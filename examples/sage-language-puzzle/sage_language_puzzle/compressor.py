"""``LanguagePuzzleCompressor``: a window of text bytes -> one 30x30 puzzle -> the bytes.

Codes are learned (finite scalar quantization of a learned latent), not ordered by byte
value; the layout of bytes in cells is the modality's (``LanguageModality``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sage_core import GRID_SIZE, CompressorOutput, FiniteScalarQuantizer, PuzzleCompressor
from sage_language_puzzle.config import LanguagePuzzleConfig
from sage_language_puzzle.modality import LanguageModality
from sage_language_puzzle.model import ByteDecoder, ByteEncoder
from sage_language_puzzle.text import END, VOCAB

LEVELS = 10


def symbols_from_logits(logits: Tensor) -> Tensor:
    """``(N, L, 257)`` logits -> ``(N, L)`` symbols: bytes up to the text's end, then ``END``.

    The text ends after the last position whose best symbol is a byte; an ``END`` predicted
    before that is a decoding error, so that position takes its most likely byte instead of
    cutting the rest of the window off.
    """
    positions = torch.arange(logits.shape[1], device=logits.device).expand(logits.shape[:2])
    is_byte = logits.argmax(-1) != END
    length = torch.where(is_byte, positions + 1, 0).max(dim=1, keepdim=True).values
    return torch.where(positions < length, logits[..., :END].argmax(-1), END)


class LanguagePuzzleCompressor(PuzzleCompressor):
    """``(N, window_bytes)`` int64 symbols (bytes 0-255, ``END`` = 256) <-> ``(N, 30, 30)`` codes."""

    id = "language_puzzle"
    Modality = LanguageModality
    version = "1"
    Config = LanguagePuzzleConfig
    ordered_codes = False
    config: LanguagePuzzleConfig

    def __init__(self, config: LanguagePuzzleConfig | None = None) -> None:
        super().__init__(config)
        c, layout = self.config, self.config.modality
        self.encoder = ByteEncoder(c.width, c.encoder_layers, c.kernel_size, layout.group_bytes, layout.group_cells)
        self.quantizer = FiniteScalarQuantizer(LEVELS)
        self.decoder = ByteDecoder(c.width, c.decoder_layers, c.kernel_size, layout.group_bytes, layout.group_cells,
                                   LEVELS if c.level_features else 0)

    def initialize(self, batch: Tensor) -> None:
        """Start the first batch's symbols, most frequent first, in distinct cell combinations.

        Random initial latents pile up in the middle cells (sigmoid of small values), so
        symbols start out sharing codes and rare ones rarely win a cell of their own. The
        placement is random; only the starting point is chosen, training moves everything.
        """
        c = self.config.modality
        if not self.config.spread_init or c.group_bytes != 1:
            return
        counts = torch.bincount(batch.flatten().long().cpu(), minlength=VOCAB)
        seen = counts.nonzero().flatten()
        slots = LEVELS**c.group_cells
        symbols = seen[counts[seen].argsort(descending=True, stable=True)][:slots]
        cells = torch.randperm(slots)[: len(symbols)]
        digits = cells.unsqueeze(1) // LEVELS ** torch.arange(c.group_cells - 1, -1, -1) % LEVELS
        latents = torch.logit((digits.float() + 0.5) / LEVELS)
        self.encoder.place(symbols.to(batch.device), latents.to(batch.device))

    # --- the model ------------------------------------------------------------------

    def encode_codes(self, x: Tensor) -> Tensor:
        codes = self.quantizer.codes_from_latent(self.encoder(x))
        return codes.reshape(len(x), GRID_SIZE, GRID_SIZE)

    def decode_codes(self, codes: Tensor) -> Tensor:
        values = self.quantizer.values_from_codes(codes.reshape(len(codes), -1, self.config.modality.group_cells))
        return symbols_from_logits(self.decoder(values))

    def forward(self, x: Tensor) -> CompressorOutput:
        latent = self.encoder(x)
        values, codes = self.quantizer(latent)
        logits = self.decoder(values)
        cross_entropy = F.cross_entropy(logits.flatten(0, 1), x.long().flatten())
        # squared distance, in cells, from each squashed latent to its cell centre: a symbol
        # stays in the cell it holds unless decoding it elsewhere is clearly better
        offset = (self.quantizer.squash(latent) - self.quantizer.values_from_codes(codes)) * LEVELS
        commitment = offset.pow(2).mean()
        symbols = symbols_from_logits(logits.detach())
        return CompressorOutput(
            loss=cross_entropy + self.config.commitment * commitment,
            codes=codes.reshape(len(x), GRID_SIZE, GRID_SIZE),
            reconstruction=symbols,
            logs={
                "cross_entropy": cross_entropy.detach(),
                "commitment": commitment.detach(),
                "symbol_accuracy": (symbols == x).float().mean(),
            },
        )
