"""Shared helpers for the audio puzzle tests: tiny configs and synthetic signals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sage_audio_puzzle.config import AudioPuzzleConfig
from sage_audio_puzzle.frontend import SAMPLE_RATE


def tone(frequency: float, seconds: float = 1.0, amplitude: float = 0.5, start: float = 0.0,
         rate: int = SAMPLE_RATE) -> np.ndarray:
    """A sine of ``frequency`` Hz, silent before ``start`` seconds: ``(seconds * rate,)`` float32."""
    t = np.arange(int(seconds * rate)) / rate
    signal = amplitude * np.sin(2 * np.pi * frequency * t)
    signal[t < start] = 0.0
    return signal.astype(np.float32)


@pytest.fixture
def make_tone():
    """The ``tone`` helper, for tests that shape their own signals."""
    return tone


@pytest.fixture
def tiny_config() -> AudioPuzzleConfig:
    return AudioPuzzleConfig(encoder_filters=2, encoder_hidden=4, decoder_channels=4, decoder_blocks=1, decoder_basis=2)


@pytest.fixture
def varied_clips() -> np.ndarray:
    """``(8, 16000)``: tones, chirps, noise bursts and silence at several levels."""
    rng = np.random.default_rng(0)
    clips = [tone(f, amplitude=a) for f, a in ((150, 0.5), (900, 0.05), (3000, 0.3), (6000, 0.01))]
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    clips.append((0.3 * np.sin(2 * np.pi * (200 + 3000 * t) * t)).astype(np.float32))
    clips.append((0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32))
    burst = np.zeros(SAMPLE_RATE, dtype=np.float32)
    burst[4000:6000] = 0.5 * rng.standard_normal(2000)
    clips.append(burst)
    clips.append(np.zeros(SAMPLE_RATE, dtype=np.float32))
    return np.stack(clips)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)
