"""The PuzzleCompressor contract: a model that maps one modality's inputs to puzzles and back.

A compressor is a ``torch.nn.Module`` that maps a batch of *model inputs* (tensors its
``Modality`` prepares from raw observations: a log-mel spectrogram, an RGB image, a window
of bytes) to puzzles and back. Everything about the observations themselves (files, data
sets, metrics, the baseline codec) belongs to the modality, reachable as
``compressor.modality``. The core trains, evaluates, saves and compares compressors only
through the members here.

Rules every implementation keeps (``sage_core.testing.check_compressor`` checks them):
- Encoding in eval mode is deterministic and batch-invariant: a sample's puzzle never
  depends on the other samples in its batch (no batch statistics, no batch-wide scaling).
- ``encode_codes`` computes no losses; ``forward`` is the training path.
- ``decode_codes(encode_codes(x))`` has the shape of ``x``.
The public ``encode``/``decode`` check every result (dtype, shape, range, finiteness), so a
plugin bug is reported by name instead of silently wrapping codes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from sage_core.config import CompressorConfig
from sage_core.errors import InputError, PluginError, SageError, exception_line
from sage_core.grid import GRID_SIZE, NUM_CODES
from sage_core.modality import Modality
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
    #: The modality class whose observations this compressor takes.
    Modality: ClassVar[type[Modality]]
    #: Bumped when a change makes old puzzles or weights incompatible.
    version: ClassVar[str] = "1"
    #: The pydantic config class; its ``modality`` field is the modality's config class.
    Config: ClassVar[type[CompressorConfig]] = CompressorConfig
    #: Whether higher codes decode to higher intensity (checked by the analyzer).
    ordered_codes: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A compressor without a config of its own gets one whose ``modality`` is its modality's."""
        super().__init_subclass__(**kwargs)
        modality = cls.__dict__.get("Modality")
        if modality is not None and "Config" not in cls.__dict__ and cls.Config is CompressorConfig:
            from pydantic import create_model

            cls.Config = create_model(f"{cls.__name__}Config", __base__=CompressorConfig,
                                      modality=(modality.Config, modality.Config()))

    def __init__(self, config: CompressorConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else self.Config()
        self.modality = type(self).Modality(self.config.modality)

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

    # --- the public API people call --------------------------------------------------

    def puzzle_meta(self, sources: tuple[str, ...] = (), times: tuple[tuple[float, float], ...] = (),
                    clock: str = "") -> PuzzleMeta:
        return PuzzleMeta(
            modality=self.modality.name,
            compressor_id=self.id,
            compressor_version=self.version,
            rows=self.modality.row_meaning,
            cols=self.modality.col_meaning,
            sources=sources,
            times=times,
            clock=clock,
        )

    def checked_codes(self, codes: Tensor, count: int) -> Tensor:
        """``codes`` if they are ``(count, 30, 30)`` integers in 0-9; else a ``PluginError`` naming us."""
        problem = None
        if not isinstance(codes, Tensor):
            problem = f"a {type(codes).__name__}, not a tensor"
        elif codes.dtype.is_floating_point or codes.dtype.is_complex or codes.dtype == torch.bool:
            problem = f"dtype {codes.dtype}, not integers"
        elif tuple(codes.shape) != (count, GRID_SIZE, GRID_SIZE):
            problem = f"shape {tuple(codes.shape)}, not ({count}, {GRID_SIZE}, {GRID_SIZE})"
        elif codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= NUM_CODES):
            problem = f"codes {int(codes.min())}..{int(codes.max())}, outside 0-{NUM_CODES - 1}"
        if problem is not None:
            raise PluginError(f"{self._made_by()}: encode_codes returned {problem}")
        return codes

    def checked_reconstruction(self, x_hat: Tensor, count: int) -> Tensor:
        """``x_hat`` if it holds ``count`` finite samples; else a ``PluginError`` naming us."""
        if not isinstance(x_hat, Tensor) or x_hat.ndim < 1 or len(x_hat) != count:
            shape = tuple(x_hat.shape) if isinstance(x_hat, Tensor) else type(x_hat).__name__
            raise PluginError(f"{self._made_by()}: decode_codes returned {shape} for {count} puzzle(s)")
        if x_hat.dtype.is_floating_point and not bool(torch.isfinite(x_hat).all()):
            raise PluginError(f"{self._made_by()}: decode_codes returned NaN or inf")
        return x_hat

    def _made_by(self) -> str:
        return f"compressor {self.id!r} ({type(self).__module__})"

    def _plugin_call(self, what: str, call: Any, *args: Any) -> Any:
        """Run plugin code; anything but a ``SageError`` becomes one line naming the compressor."""
        try:
            return call(*args)
        except SageError:
            raise
        except Exception as exc:  # noqa: BLE001 - a plugin bug must be reported by name, not as a traceback
            raise PluginError(f"{self._made_by()}: {what} raised {exception_line(exc)}") from exc

    def encode_checked(self, x: Tensor) -> Tensor:
        """``encode_codes`` on this model's device, its result checked; a plugin failure names the compressor."""
        return self.checked_codes(self._plugin_call("encode_codes", self.encode_codes, x.to(self.device)), len(x))

    def decode_checked(self, codes: Tensor) -> Tensor:
        """``decode_codes``, its result checked; a plugin failure names the compressor."""
        return self.checked_reconstruction(self._plugin_call("decode_codes", self.decode_codes, codes), len(codes))

    @torch.no_grad()
    def encode(self, x: Tensor, sources: tuple[str, ...] = (), times: tuple[tuple[float, float], ...] = (),
               clock: str = "") -> Puzzle:
        """Model inputs ``(N, *input_shape)`` -> a batch of N puzzles (eval mode)."""
        was_training = self.training
        self.eval()
        try:
            codes = self.encode_checked(x)
        finally:
            self.train(was_training)
        return Puzzle(codes.to(torch.uint8).cpu().numpy(), self.puzzle_meta(sources, times, clock))

    @torch.no_grad()
    def decode(self, puzzle: Puzzle) -> Tensor:
        """Puzzles -> reconstructed model inputs ``(N, *input_shape)`` (eval mode)."""
        made_by = (puzzle.meta.compressor_id, puzzle.meta.compressor_version)
        if made_by != (self.id, self.version):
            raise InputError(
                "puzzle",
                f"made by compressor {made_by[0]!r} version {made_by[1]}, not {self.id!r} version {self.version}"
                " (codes of another version mean something else)",
            )
        was_training = self.training
        self.eval()
        try:
            codes = torch.from_numpy(puzzle.as_batch().astype(np.int64)).to(self.device)
            return self.decode_checked(codes)
        finally:
            self.train(was_training)

    def encode_observation(self, observation: Any, source: str = "") -> Puzzle:
        """A raw observation -> its puzzles (one per window)."""
        x = self.modality.prepare(observation)
        sources = tuple(f"{source}#{i}" for i in range(len(x))) if source else ()
        return self.encode(x, sources)

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")
