"""The audio front end: any audio -> 16 kHz mono 1 s windows -> log-mel dB ``(1, 128, 32)``.

The dB scale has a FIXED reference (1.0 = full scale power) and a fixed floor, computed
per clip: a clip's spectrogram never depends on other clips, and a quieter clip gets lower
values (loudness is kept, unlike the prototype's batch-wide min-max scaling).
Row 0 of the mel axis is the LOWEST band.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchaudio
from torch import Tensor, nn

from sage_core import InputError

SAMPLE_RATE = 16_000
N_FFT = 1024
HOP = 512
N_MELS = 128
WINDOW_SAMPLES = SAMPLE_RATE
FRAMES = 1 + WINDOW_SAMPLES // HOP  # 32
#: Fixed power floor: 1e-10 of full scale -> -100 dB. Digital silence sits here.
FLOOR_DB = -100.0
_AMIN = 10.0 ** (FLOOR_DB / 10.0)


class LogMelFrontEnd(nn.Module):
    """``(N, 16000)`` waveforms in [-1, 1] -> ``(N, 1, 128, 32)`` log-mel power in dB.

    dB = 10 log10(max(mel power, 1e-10)); reference fixed at 1.0, floor -100 dB.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, power=2.0
        )

    def forward(self, waveform: Tensor) -> Tensor:
        power = self.mel(waveform.float())[..., :FRAMES]
        return (10.0 * torch.log10(power.clamp(min=_AMIN))).unsqueeze(1)


_FRONT_END: LogMelFrontEnd | None = None


def log_mel_db(waveform: Tensor) -> Tensor:
    """``(N, 16000)`` waveforms -> ``(N, 1, 128, 32)`` dB (a shared front-end instance)."""
    global _FRONT_END
    if _FRONT_END is None:
        _FRONT_END = LogMelFrontEnd()
    with torch.no_grad():
        return _FRONT_END(waveform)


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> Tensor:
    """``(T,)`` or ``(T, C)`` float samples at any rate -> ``(T',)`` mono float32 at 16 kHz."""
    audio = torch.as_tensor(np.asarray(samples, dtype=np.float32))
    if audio.ndim == 2:
        audio = audio.mean(dim=1)
    if sample_rate != SAMPLE_RATE:
        audio = torchaudio.functional.resample(audio, sample_rate, SAMPLE_RATE)
    return audio


def fit_to_window(audio: Tensor) -> Tensor:
    """``(T,)`` -> ``(16000,)``: shorter clips zero-padded at the end, longer ones cut."""
    if audio.shape[0] >= WINDOW_SAMPLES:
        return audio[:WINDOW_SAMPLES]
    return torch.nn.functional.pad(audio, (0, WINDOW_SAMPLES - audio.shape[0]))


def windows(audio: Tensor, hop_seconds: float = 1.0) -> Tensor:
    """``(T,)`` 16 kHz audio -> ``(W, 16000)`` 1 s windows every ``hop_seconds``; the last padded."""
    hop = max(1, int(round(hop_seconds * SAMPLE_RATE)))
    count = 1 if audio.shape[0] <= WINDOW_SAMPLES else 1 + int(np.ceil((audio.shape[0] - WINDOW_SAMPLES) / hop))
    return torch.stack([fit_to_window(audio[i * hop : i * hop + WINDOW_SAMPLES]) for i in range(count)])


def read_audio(path: Path) -> Tensor:
    """Read WAV/FLAC/OGG (anything libsndfile reads) -> ``(T,)`` mono 16 kHz float32.

    Raises ``InputError`` naming the file for unreadable, empty or non-finite audio.
    """
    import soundfile

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
    except Exception as exc:  # libsndfile raises several types (LibsndfileError, RuntimeError)
        raise InputError(path, f"not readable audio ({exc})") from None
    if samples.size == 0:
        raise InputError(path, "contains no audio samples")
    if not np.isfinite(samples).all():
        raise InputError(path, "contains NaN or inf samples")
    return to_mono_16k(samples, int(rate))
