"""The PuzzleCompressor contract: what every modality implements.

A compressor is a ``torch.nn.Module`` that maps a batch of *model inputs* (tensors a
modality prepares from raw observations: a log-mel spectrogram, an RGB image, a
window of bytes) to puzzles and back. The core never looks inside a modality; it
trains, evaluates, saves and compares compressors only through the methods here.

Rules every implementation keeps (``sage_core.testing.check_compressor`` checks them):
- Encoding in eval mode is deterministic and batch-invariant: a sample's puzzle never
  depends on the other samples in its batch (no batch statistics, no batch-wide scaling).
- ``encode_codes`` computes no losses; ``forward`` is the training path.
- ``decode_codes(encode_codes(x))`` has the shape of ``x``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor, nn

from sage_core.config import CompressorConfig
from sage_core.puzzle import Puzzle, PuzzleMeta


@dataclass
class CompressorOutput:
    """What ``forward`` returns to the shared trainer.

    ``loss`` is minimised; ``logs`` are scalars worth plotting (detached);
    ``codes`` is ``(N, 30, 30)`` int64 in 0-9; ``reconstruction`` has the input's shape.
    """

    loss: Tensor
    codes: Tensor
    reconstruction: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)


class PuzzleCompressor(nn.Module, ABC):
    """Base class for a compressor of one modality into 30x30 puzzles of codes 0-9."""

    #: Registered id, e.g. ``"audio_puzzle"``.
    id: ClassVar[str]
    #: Modality name, e.g. ``"audio"``; ``sage compare audio`` resolves by it.
    modality: ClassVar[str]
    #: Bumped when a change makes old puzzles or weights incompatible.
    version: ClassVar[str] = "1"
    #: The pydantic config class; its defaults are the recommended setting.
    Config: ClassVar[type[CompressorConfig]] = CompressorConfig
    #: What rows and columns of the puzzle mean, for people and for metadata.
    row_meaning: ClassVar[str] = ""
    col_meaning: ClassVar[str] = ""
    #: Where figures draw row 0 of ``to_image`` and of the puzzle beside it: "upper" (images)
    #: or "lower" (spectrograms, whose lowest band is row 0); both are drawn the same way.
    figure_origin: ClassVar[Literal["upper", "lower"]] = "upper"
    #: Whether higher codes decode to higher intensity (checked by the analyzer).
    ordered_codes: ClassVar[bool] = True
    #: The modality's headline metric in ``reconstruction_metrics`` and its direction.
    primary_metric: ClassVar[str] = "mse01"
    higher_is_better: ClassVar[bool] = False

    def __init__(self, config: CompressorConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else self.Config()

    # --- the model ------------------------------------------------------------------

    @abstractmethod
    def encode_codes(self, x: Tensor) -> Tensor:
        """``(N, *input_shape)`` model inputs -> ``(N, 30, 30)`` int64 codes. No losses."""

    @abstractmethod
    def decode_codes(self, codes: Tensor) -> Tensor:
        """``(N, 30, 30)`` integer codes -> ``(N, *input_shape)`` reconstruction."""

    @abstractmethod
    def forward(self, x: Tensor) -> CompressorOutput:
        """The training path: encode, quantize, decode and compute the loss."""

    def initialize(self, batch: Tensor) -> None:
        """Called once with a training batch before the first step (e.g. k-means init)."""

    def set_progress(self, step: int, total_steps: int) -> None:
        """Called before every training step; schedules (e.g. quantizer warm-up) live here.

        Must depend only on its arguments, so a resumed run repeats the same schedule.
        """

    # --- observations -----------------------------------------------------------------

    @abstractmethod
    def prepare(self, observation: Any) -> Tensor:
        """One raw observation -> ``(W, *input_shape)`` model inputs (W windows, often 1)."""

    @abstractmethod
    def read_file(self, path: Path) -> Tensor:
        """Read one file -> ``(W, *input_shape)``; raise ``InputError`` naming the file."""

    @abstractmethod
    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        """Write ``(W, *input_shape)`` as something a person can open (WAV, PNG, text).

        ``W`` consecutive windows of one observation become one file where that makes
        sense (audio, text). When ``path`` has no suffix the plugin adds its own.
        Returns the files written.
        """

    # --- data --------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def build_datasets(
        cls, config: CompressorConfig, data_path: Path | None, cache_dir: Path, report: Any
    ) -> Any:
        """Return ``DataSplits`` of model-input tensors.

        ``data_path`` None means the embedded default (generated locally and cached in
        ``cache_dir``). Unreadable samples are recorded with ``report.skip(path, reason)``.
        """

    # --- analysis ----------------------------------------------------------------------

    @abstractmethod
    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        """Per-sample metrics ``{name: (N,)}``; must include ``primary_metric`` and ``mse01``

        (``mse01``: mean squared error with both sides scaled to [0, 1], comparable with
        the prototype's reported figures).
        """

    @abstractmethod
    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """A non-learned codec at the same budget: ``x -> (codes (N,30,30), x_hat)``."""

    @abstractmethod
    def cell_intensity(self, x: Tensor) -> Tensor:
        """``(N, *input_shape)`` -> ``(N, 30, 30)``: the intensity each cell stands for.

        Used for the code-order Spearman: code value vs decoded intensity of its cell.
        """

    def to_image(self, x: Tensor) -> np.ndarray:
        """One model input -> an image for figures: ``(H, W)`` or ``(H, W, 3)`` in [0, 1].

        Array order, like the puzzle: row 0 is drawn where ``figure_origin`` says.
        """
        array = x.detach().float().cpu().numpy()
        array = array.reshape(-1, array.shape[-1]) if array.ndim != 2 else array
        lo, hi = float(array.min()), float(array.max())
        return (array - lo) / (hi - lo + 1e-12)

    # --- the public API people call --------------------------------------------------

    def puzzle_meta(self, sources: tuple[str, ...] = ()) -> PuzzleMeta:
        return PuzzleMeta(
            modality=self.modality,
            compressor_id=self.id,
            compressor_version=self.version,
            rows=self.row_meaning,
            cols=self.col_meaning,
            sources=sources,
        )

    @torch.no_grad()
    def encode(self, x: Tensor, sources: tuple[str, ...] = ()) -> Puzzle:
        """Model inputs ``(N, *input_shape)`` -> a batch of N puzzles (eval mode)."""
        was_training = self.training
        self.eval()
        try:
            codes = self.encode_codes(x.to(self.device))
        finally:
            self.train(was_training)
        return Puzzle(codes.to(torch.uint8).cpu().numpy(), self.puzzle_meta(sources))

    @torch.no_grad()
    def decode(self, puzzle: Puzzle) -> Tensor:
        """Puzzles -> reconstructed model inputs ``(N, *input_shape)`` (eval mode)."""
        made_by = (puzzle.meta.compressor_id, puzzle.meta.compressor_version)
        if made_by != (self.id, self.version):
            from sage_core.errors import InputError

            raise InputError(
                "puzzle",
                f"made by compressor {made_by[0]!r} version {made_by[1]}, not {self.id!r} version {self.version}"
                " (codes of another version mean something else)",
            )
        was_training = self.training
        self.eval()
        try:
            codes = torch.from_numpy(puzzle.as_batch().astype(np.int64)).to(self.device)
            return self.decode_codes(codes)
        finally:
            self.train(was_training)

    def encode_observation(self, observation: Any, source: str = "") -> Puzzle:
        """A raw observation -> its puzzles (one per window)."""
        x = self.prepare(observation)
        sources = tuple(f"{source}#{i}" for i in range(len(x))) if source else ()
        return self.encode(x, sources)

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

