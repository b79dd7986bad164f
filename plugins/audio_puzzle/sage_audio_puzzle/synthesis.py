"""Log-mel dB back to audio: non-negative inverse of the mel filterbank + Griffin-Lim (torchaudio), then WAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchaudio
from torch import Tensor

from sage_core import save_atomic

from sage_audio_puzzle.frontend import HOP, N_FFT, N_MELS, SAMPLE_RATE, WINDOW_SAMPLES


def mel_to_power(mel_power: Tensor, iterations: int = 30) -> Tensor:
    """``(W, 128, T)`` mel power -> ``(W, 513, T)`` STFT power: the non-negative least-squares
    inverse of the mel filterbank.

    torchaudio's ``InverseMelScale`` solves unconstrained least squares and clips the negative
    bins to zero, which leaves the mel bands under-filled; multiplicative updates (Lee and
    Seung) from that start stay non-negative and fit the bands. On 86 windows of real recordings,
    Griffin-Lim from this inverse lost 1.91 dB of log-mel against 2.83 dB (1.65 dB from the
    true STFT power); 30 updates do what 200 do.
    """
    inverse = torchaudio.transforms.InverseMelScale(n_stft=N_FFT // 2 + 1, n_mels=N_MELS, sample_rate=SAMPLE_RATE)
    filters = inverse.fb.T  # (128 mels, 201 bins)
    power = inverse(mel_power).clamp(min=torch.finfo(torch.float32).tiny)
    target = filters.T @ mel_power
    gram = filters.T @ filters
    for _ in range(iterations):
        power = power * target / (gram @ power).clamp(min=torch.finfo(torch.float32).tiny)
    return power


def finer_frames(power: Tensor, factor: int) -> Tensor:
    """``(W, F, T)`` STFT power at hop ``HOP`` -> ``(W, F, T')`` at hop ``HOP / factor``
    (``T' = 1 + WINDOW_SAMPLES // (HOP / factor)``), interpolated linearly in dB between frames.

    Frame ``k`` of the result is centred on sample ``k * HOP / factor``, so it lies at
    ``k / factor`` of the way along the given frames (the last ones held past the end).
    """
    frames = power.shape[-1]
    position = torch.arange(1 + WINDOW_SAMPLES // (HOP // factor)) / factor
    before = position.floor().long().clamp(max=frames - 1)
    after = (before + 1).clamp(max=frames - 1)
    weight = (position - before).clamp(0, 1)
    log_power = power.clamp(min=torch.finfo(torch.float32).tiny).log()
    return torch.exp(log_power[..., before] * (1 - weight) + log_power[..., after] * weight)


#: Griffin-Lim runs at a hop this many times finer than the model's frames (75 % overlap).
PHASE_HOP_FACTOR = 2


def griffin_lim(x: Tensor, iterations: int = 32) -> Tensor:
    """``(W, 1, 128, 32)`` dB -> ``(W, 16000)`` waveforms (phase estimated by Griffin-Lim).

    The log-mel frames are 512 samples apart with a 1024-sample window: 50 % overlap, too little
    redundancy for Griffin-Lim to find a consistent phase. Run at a hop of 256 (75 %) on
    frames interpolated between them, it loses less: on 84 windows of real speech, the input's
    own log-mel through this decoder lost 2.19 dB instead of 2.52 (a hop of 128: 2.46).
    """
    mel_power = torch.pow(10.0, x.detach().float().cpu().squeeze(1) / 10.0)
    spectrogram = finer_frames(mel_to_power(mel_power), PHASE_HOP_FACTOR)
    with torch.random.fork_rng():  # a fixed initial phase: the same file every time
        torch.manual_seed(0)
        transform = torchaudio.transforms.GriffinLim(n_fft=N_FFT, hop_length=HOP // PHASE_HOP_FACTOR, power=2.0,
                                                     n_iter=iterations, length=WINDOW_SAMPLES)
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
