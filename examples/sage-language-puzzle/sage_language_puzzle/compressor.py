"""``LanguagePuzzleCompressor``: a window of text bytes -> one 30x30 puzzle -> the bytes.

Every group of ``group_bytes`` bytes is written into ``group_cells`` consecutive cells
(row-major), so a puzzle row is a stretch of text read left to right. Codes are learned
(finite scalar quantization of a learned latent), not ordered by byte value.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from sage_core import (
    GRID_SIZE,
    CompressorOutput,
    DataReport,
    DataSplits,
    FiniteScalarQuantizer,
    InputError,
    PuzzleCompressor,
    write_bytes_atomic,
)
from sage_language_puzzle.config import LanguagePuzzleConfig
from sage_language_puzzle.data import stdlib_splits, text_folder_splits
from sage_language_puzzle.metrics import baseline_codec, text_metrics
from sage_language_puzzle.model import ByteDecoder, ByteEncoder
from sage_language_puzzle.text import END, VOCAB, bytes_from_windows, read_text_bytes, windows_from_bytes

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
    modality = "language"
    version = "1"
    Config = LanguagePuzzleConfig
    row_meaning = "a stretch of text, read left to right (cells follow the bytes row-major)"
    col_meaning = "position within the stretch; group_cells consecutive cells encode group_bytes bytes"
    ordered_codes = False
    primary_metric = "char_accuracy"
    higher_is_better = True

    def __init__(self, config: LanguagePuzzleConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.window_bytes = c.window_bytes
        self.encoder = ByteEncoder(c.width, c.encoder_layers, c.kernel_size, c.group_bytes, c.group_cells)
        self.quantizer = FiniteScalarQuantizer(LEVELS)
        self.decoder = ByteDecoder(
            c.width, c.decoder_layers, c.kernel_size, c.group_bytes, c.group_cells, LEVELS if c.level_features else 0
        )

    def initialize(self, batch: Tensor) -> None:
        """Start the first batch's symbols, most frequent first, in distinct cell combinations.

        Random initial latents pile up in the middle cells (sigmoid of small values), so
        symbols start out sharing codes and rare ones rarely win a cell of their own. The
        placement is random; only the starting point is chosen, training moves everything.
        """
        c = self.config
        if not c.spread_init or c.group_bytes != 1:
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
        values = self.quantizer.values_from_codes(codes.reshape(len(codes), -1, self.config.group_cells))
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

    # --- observations -----------------------------------------------------------------

    def prepare(self, observation: str | bytes) -> Tensor:
        """Text (``str``, encoded as UTF-8) or raw ``bytes`` -> ``(W, window_bytes)`` windows."""
        if isinstance(observation, str):
            observation = observation.encode("utf-8")
        if not isinstance(observation, (bytes, bytearray)):
            raise InputError("observation", f"expected str or bytes, got {type(observation).__name__}")
        return windows_from_bytes(bytes(observation), self.window_bytes)

    def read_file(self, path: Path) -> Tensor:
        """A UTF-8 text file -> ``(W, window_bytes)``; a long file gives several windows."""
        return windows_from_bytes(read_text_bytes(Path(path)), self.window_bytes)

    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        """Windows -> one file of their bytes in order (``.txt`` added when there is no suffix)."""
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".txt")
        return [write_bytes_atomic(path, bytes_from_windows(x))]

    # --- data --------------------------------------------------------------------------

    @classmethod
    def build_datasets(
        cls, config: LanguagePuzzleConfig, data_path: Path | None, cache_dir: Path, report: DataReport
    ) -> DataSplits:
        """``data_path`` None: stdlib docstrings; else a folder of ``*.txt`` files."""
        if data_path is None:
            return stdlib_splits(config, cache_dir, report)
        return text_folder_splits(config, Path(data_path), report)

    # --- analysis ----------------------------------------------------------------------

    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        return text_metrics(x, x_hat)

    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Three decimal digits per symbol: the first 300 bytes of a window, losslessly."""
        return baseline_codec(x)

    def cell_intensity(self, x: Tensor) -> Tensor:
        """The byte value in [0, 1] (``END`` = 1) that each cell helps encode (group mean)."""
        c = self.config
        groups = x.float().reshape(len(x), -1, c.group_bytes).mean(-1) / END
        return groups.repeat_interleave(c.group_cells, dim=1).reshape(len(x), GRID_SIZE, GRID_SIZE)

    def to_image(self, x: Tensor) -> np.ndarray:
        """One window -> ``(rows, 30)`` byte values in [0, 1], text read row by row."""
        rows = -(-x.numel() // GRID_SIZE)
        padded = F.pad(x.detach().cpu().float().flatten(), (0, rows * GRID_SIZE - x.numel()), value=END)
        return (padded / END).reshape(rows, GRID_SIZE).numpy()

