"""``AudioModality``: 1 s of 16 kHz audio <-> log-mel ``(1, 128, 32)`` dB, and how to measure it.

Rows of a puzzle are mel bands (row 0 the lowest), columns are time (left = start). Inputs
are per-clip log-mel dB on a fixed reference, so puzzles never depend on batch-mates and
loudness is kept. Every audio compressor (the puzzle model, the prototype re-implementation)
takes these inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from sage_core import DataReport, DataSplits, FigureAxes, Modality

from sage_audio_puzzle import metrics
from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.datasets import embedded_speech_splits, speech_commands_splits
from sage_audio_puzzle.frontend import (
    FRAMES,
    HOP,
    N_MELS,
    SAMPLE_RATE,
    check_samples,
    log_mel_db,
    read_audio,
    to_mono_16k,
    windows,
)
from sage_audio_puzzle.grid import pool_to_grid
from sage_audio_puzzle.synthesis import griffin_lim, join_windows, write_wav


def _mel(hz: float) -> float:
    """The HTK mel scale, as torchaudio's ``MelSpectrogram`` uses it by default."""
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_band_of(hz: float) -> float:
    """Where ``hz`` lies on the band axis (band i's centre is i; 0 Hz to Nyquist, N_MELS bands)."""
    return _mel(hz) / _mel(SAMPLE_RATE / 2) * (N_MELS + 1) - 1


class AudioModality(Modality):
    """Audio of any length, rate and channel count -> ``(W, 1, 128, 32)`` log-mel dB windows."""

    name = "audio"
    Config = AudioConfig
    row_meaning = "mel band (row 0 = lowest frequency)"
    col_meaning = "time (30 columns over 1 s)"
    figure_origin = "lower"  # spectrogram convention: low frequencies (and puzzle row 0) at the bottom
    primary_metric = "logmel_db_rmse"
    higher_is_better = False
    config: AudioConfig

    def prepare(self, observation: Any) -> Tensor:
        """Audio samples -> ``(W, 1, 128, 32)`` dB, one per 1 s window.

        ``observation``: ``(samples, sample_rate)``, or samples at 16 kHz, shaped ``(T,)`` or
        ``(T, channels)``; or a path to an audio file.
        """
        if isinstance(observation, (str, Path)):
            return self.read_file(Path(observation))
        samples, rate = observation if isinstance(observation, tuple) else (observation, SAMPLE_RATE)
        samples = check_samples(np.asarray(samples, dtype=np.float32), "observation")
        return log_mel_db(windows(to_mono_16k(samples, int(rate), "observation"), self.config.window_hop_seconds))

    def read_file(self, path: Path) -> Tensor:
        """WAV/FLAC/OGG of any length, rate and channel count -> ``(W, 1, 128, 32)`` dB."""
        return log_mel_db(windows(read_audio(Path(path)), self.config.window_hop_seconds))

    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        """``(W, 1, 128, 32)`` dB -> one WAV (Griffin-Lim) of the consecutive windows."""
        path = Path(path)
        if path.suffix.lower() != ".wav":
            path = path.with_name(path.name + ".wav")
        audio = join_windows(griffin_lim(x), self.config.window_hop_seconds)
        return [write_wav(audio, path)]

    def windows_to_join(self, times: Sequence[tuple[float, float]]) -> list[int]:
        """The windows that start at least one hop (``window_hop_seconds``) after the last one kept:
        ``write_output`` joins windows at that hop, so a stream's overlapping windows (``sage stream
        --hop 0.25``) decode to a WAV as long as the signal, not four times as long."""
        hop = self.config.window_hop_seconds
        kept: list[int] = []
        for index, (start, _) in enumerate(times):
            if not kept or start >= times[kept[-1]][0] + hop - 1e-6:
                kept.append(index)
        return kept

    def build_datasets(self, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
        """``data_path`` None -> the embedded eSpeak words; else a Speech Commands v2 folder."""
        if data_path is None:
            return embedded_speech_splits(self, cache_dir, report)
        return speech_commands_splits(self, data_path, cache_dir, report)

    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        return metrics.reconstruction_metrics(x, x_hat)

    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return metrics.baseline_codec(x)

    def cell_intensity(self, x: Tensor) -> Tensor:
        """``(N, 1, 128, 32)`` -> ``(N, 30, 30)`` mean dB of each cell's bands and frames."""
        return pool_to_grid(x)

    def figure_axes(self) -> FigureAxes:
        """Time in seconds (frame centres), mel bands labelled in Hz, dB relative to the clip's peak."""
        half_frame = HOP / 2 / SAMPLE_RATE
        return FigureAxes(
            x_label="time (s)", x_extent=(-half_frame, (FRAMES - 1) * HOP / SAMPLE_RATE + half_frame),
            y_label="frequency (Hz, mel bands)", y_extent=(-0.5, N_MELS - 0.5),
            y_ticks=tuple((mel_band_of(hz), label) for hz, label in
                          ((100, "100"), (500, "500"), (1000, "1k"), (2000, "2k"), (4000, "4k"), (8000, "8k"))),
            value_label="dB relative to the clip's peak", value_range=(-80.0, 0.0),
        )

    def to_image(self, x: Tensor) -> np.ndarray:
        """One log-mel -> ``(128, 32)`` in [0, 1] (row 0 = lowest band), 80 dB below the peak."""
        db = x.detach().float().cpu().reshape(x.shape[-2], x.shape[-1])
        image = ((db - (db.max() - 80.0)) / 80.0).clamp(0, 1)
        return image.numpy()

    def stream_windower(self, hop_seconds: float) -> Any:
        """For ``sage stream``: audio blocks of any rate -> 1 s 16 kHz windows every ``hop_seconds``."""
        from sage_audio_puzzle.streaming import AudioWindower

        return AudioWindower(hop_seconds)
