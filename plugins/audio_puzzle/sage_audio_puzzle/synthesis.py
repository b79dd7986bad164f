"""Log-mel dB back to audio: inverse mel filterbank + Griffin-Lim (torchaudio), then WAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchaudio
from torch import Tensor

from sage_core import save_atomic

from sage_audio_puzzle.frontend import HOP, N_FFT, N_MELS, SAMPLE_RATE, WINDOW_SAMPLES


def griffin_lim(x: Tensor, iterations: int = 32) -> Tensor:
    """``(W, 1, 128, 32)`` dB -> ``(W, 16000)`` waveforms (phase estimated by Griffin-Lim)."""
    power = torch.pow(10.0, x.detach().float().cpu().squeeze(1) / 10.0)
    inverse_mel = torchaudio.transforms.InverseMelScale(n_stft=N_FFT // 2 + 1, n_mels=N_MELS, sample_rate=SAMPLE_RATE)
    spectrogram = inverse_mel(power).clamp(min=0)
    with torch.random.fork_rng():  # a fixed initial phase: the same file every time
        torch.manual_seed(0)
        transform = torchaudio.transforms.GriffinLim(n_fft=N_FFT, hop_length=HOP, power=2.0, n_iter=iterations,
                                                     length=WINDOW_SAMPLES)
        return transform(spectrogram)


def join_windows(waveforms: Tensor, hop_seconds: float = 1.0) -> Tensor:
    """``(W, 16000)`` windows taken every ``hop_seconds`` -> ``(T,)`` one signal (each window
    contributes its first hop; the last window in full)."""
    hop = min(WINDOW_SAMPLES, max(1, int(round(hop_seconds * SAMPLE_RATE))))
    parts = [w[:hop] for w in waveforms[:-1]] + [waveforms[-1]]
    return torch.cat(parts)


def write_wav(audio: Tensor, path: Path) -> Path:
    """``(T,)`` float audio -> 16-bit PCM WAV at 16 kHz, written atomically."""
    import soundfile

    samples = np.clip(audio.numpy(), -1.0, 1.0)

    def write(tmp: Path) -> None:
        soundfile.write(str(tmp), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")

    return save_atomic(path, write)
