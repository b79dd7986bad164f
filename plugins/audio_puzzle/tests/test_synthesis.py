"""Writing audio back: the inverse of the mel filterbank and Griffin-Lim, against torchaudio's own inverse."""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

from sage_audio_puzzle.frontend import HOP, N_FFT, N_MELS, SAMPLE_RATE, WINDOW_SAMPLES, log_mel_db
from sage_audio_puzzle.metrics import logmel_db_rmse
from sage_audio_puzzle.synthesis import finer_frames, griffin_lim, mel_to_power


def _voice_like(seconds_seed: int) -> np.ndarray:
    """1 s of a gliding harmonic tone (100-220 Hz, 30 partials falling 6 dB per octave) in soft noise."""
    rng = np.random.default_rng(seconds_seed)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    pitch = 100 + 120 * t
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 31)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (0.2 * wave / np.abs(wave).max() + 0.003 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)


def _clips(varied_clips: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([varied_clips, np.stack([_voice_like(0), _voice_like(1)])]))


def test_the_inverse_mel_is_non_negative_and_fits_the_bands_better_than_clipped_least_squares(varied_clips) -> None:
    x = log_mel_db(_clips(varied_clips))
    mel_power = torch.pow(10.0, x.squeeze(1) / 10.0)
    inverse = torchaudio.transforms.InverseMelScale(n_stft=N_FFT // 2 + 1, n_mels=N_MELS, sample_rate=SAMPLE_RATE)
    ours, clipped = mel_to_power(mel_power), inverse(mel_power).clamp(min=0)
    assert ours.shape == clipped.shape == (len(x), N_FFT // 2 + 1, x.shape[-1]) and bool((ours >= 0).all())

    def band_error_db(power: torch.Tensor) -> float:
        again = inverse.fb.T @ power
        return float(logmel_db_rmse(x, 10 * torch.log10(again.clamp(min=1e-10)).unsqueeze(1)).mean())

    assert band_error_db(ours) < 0.5 * band_error_db(clipped), (band_error_db(ours), band_error_db(clipped))


def _griffin_lim_at_the_models_hop(power: torch.Tensor) -> torch.Tensor:
    """torchaudio's Griffin-Lim on ``(W, 513, 32)`` STFT power at the log-mel's own hop: the reference."""
    torch.manual_seed(0)
    return torchaudio.transforms.GriffinLim(n_fft=N_FFT, hop_length=HOP, power=2.0, n_iter=32,
                                            length=WINDOW_SAMPLES)(power)


def test_griffin_lim_from_the_inverse_comes_closer_to_the_input(varied_clips) -> None:
    x = log_mel_db(_clips(varied_clips))
    inverse = torchaudio.transforms.InverseMelScale(n_stft=N_FFT // 2 + 1, n_mels=N_MELS, sample_rate=SAMPLE_RATE)
    clipped = _griffin_lim_at_the_models_hop(inverse(torch.pow(10.0, x.squeeze(1) / 10.0)).clamp(min=0))
    ours = griffin_lim(x)
    assert ours.shape == (len(x), WINDOW_SAMPLES)
    assert torch.equal(ours, griffin_lim(x)), "a fixed initial phase: the same waveform every time"
    error, reference = (float(logmel_db_rmse(x, log_mel_db(y)).mean()) for y in (ours, clipped))
    assert error < 0.75 * reference, (error, reference)


def test_finer_frames_keep_the_given_ones_and_put_the_geometric_mean_between() -> None:
    power = torch.rand(3, N_FFT // 2 + 1, 32, generator=torch.Generator().manual_seed(0)) + 0.01
    finer = finer_frames(power, 2)
    assert finer.shape == (3, N_FFT // 2 + 1, 1 + WINDOW_SAMPLES // (HOP // 2))
    assert torch.allclose(finer[..., 0:64:2], power)
    assert torch.allclose(finer[..., 1:63:2], (power[..., :-1] * power[..., 1:]).sqrt())
    assert torch.allclose(finer[..., -1], power[..., -1])  # past the last frame: held


def test_phase_found_at_the_finer_hop_comes_closer_than_at_the_models_hop(varied_clips) -> None:
    x = log_mel_db(_clips(varied_clips))
    coarse = _griffin_lim_at_the_models_hop(mel_to_power(torch.pow(10.0, x.squeeze(1) / 10.0)))
    error, reference = (float(logmel_db_rmse(x, log_mel_db(y)).mean()) for y in (griffin_lim(x), coarse))
    assert error < 0.95 * reference, (error, reference)
