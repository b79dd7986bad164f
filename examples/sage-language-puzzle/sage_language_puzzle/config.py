"""The language configs; torch-free so ``sage info language_puzzle`` stays light."""

from __future__ import annotations

from pydantic import Field, model_validator

from sage_core import CELLS, CompressorConfig, ModalityConfig, TrainingConfig


class LanguageConfig(ModalityConfig):
    """How text fills a puzzle: ``group_bytes`` bytes in each ``group_cells`` consecutive cells."""

    group_bytes: int = Field(1, ge=1, description="bytes encoded together into one group of cells")
    group_cells: int = Field(2, ge=1, description="cells per group; the window is 900 * group_bytes / group_cells bytes")
    short_window_fraction: float = Field(
        0.2, ge=0, le=1, description="extra training windows cut short at random, to teach the end symbol"
    )

    @model_validator(mode="after")
    def _groups_tile_the_grid(self) -> LanguageConfig:
        if CELLS % self.group_cells:
            raise ValueError(f"group_cells={self.group_cells} must divide the {CELLS} cells of a puzzle")
        return self

    @property
    def window_bytes(self) -> int:
        """Bytes of text one puzzle carries."""
        return CELLS // self.group_cells * self.group_bytes


class LanguagePuzzleConfig(CompressorConfig):
    """Defaults are the recommended setting: 450 bytes per puzzle (2 cells per byte)."""

    modality: LanguageConfig = LanguageConfig()
    width: int = Field(48, ge=8, description="channels of the byte embedding and the conv blocks")
    encoder_layers: int = Field(0, ge=0, description="residual conv blocks before the quantizer")
    decoder_layers: int = Field(3, ge=1, description="residual conv blocks after the quantizer")
    kernel_size: int = Field(3, ge=1, description="odd conv kernel width, in bytes")
    spread_init: bool = Field(True, description="start the first batch's symbols in distinct cells (then learned)")
    level_features: bool = Field(True, description="the decoder reads each cell as a soft one-hot of its 10 levels")
    commitment: float = Field(3.0, ge=0, description="weight of the pull of each latent to its cell centre")
    train: TrainingConfig = TrainingConfig(
        epochs=100, max_steps=300, batch_size=32, eval_batch_size=128, lr=2e-3, warmup_steps=50
    )

    @model_validator(mode="after")
    def _odd_kernel(self) -> LanguagePuzzleConfig:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={self.kernel_size} must be odd")
        return self
