"""The audio front end: any audio -> 16 kHz mono 1 s windows -> log-mel dB ``(1, 128, 32)``.

The dB scale has a FIXED reference (1.0 = full scale power) and a fixed floor, computed
per clip: a clip's spectrogram never depends on other clips, and a quieter clip gets lower
values (loudness is kept, unlike the prototype's batch-wide min-max scaling).
Row 0 of the mel axis is the LOWEST band.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torchaudio
from torch import Tensor, nn

from sage_core import InputError, warn_input

SAMPLE_RATE = 16_000
N_FFT = 1024
HOP = 512
N_MELS = 128
WINDOW_SAMPLES = SAMPLE_RATE
FRAMES = 1 + WINDOW_SAMPLES // HOP  # 32
#: Fixed power floor: 1e-10 of full scale -> -100 dB. Digital silence sits here.
FLOOR_DB = -100.0
_AMIN = 10.0 ** (FLOOR_DB / 10.0)
#: Sample rates a file may declare (Hz): below 1 kHz is not audio we can use, above 1 MHz no ADC.
MIN_RATE, MAX_RATE = 1_000, 1_000_000
#: Largest sample magnitude accepted, 60 dB above full scale (1.0). Float audio may exceed full
#: scale by some mixing headroom (a few dB, rarely 24 dB), never by 60 dB: a peak that high means
#: integer samples stored as float unscaled (int16 reaches 32768) or garbage. Far above it, float32
#: mel power overflows (about 1e16) and a clip used to encode as all code 0, silence.
MAX_AMPLITUDE = 1_000.0
#: Largest numerator and denominator of the resampling ratio. torchaudio builds a kernel of
#: about ``new x orig`` values for the ratio ``new/orig`` in lowest terms (several copies while
#: building it) and does about ``new`` multiply-adds per input sample; 22051 Hz (16000/22051,
#: already in lowest terms) needed 6.4 GB and 50 s for a 4 KB file.
#: Every common rate (8k, 11.025k, 16k, 22.05k, 32k, 44.1k, 48k, 88.2k, 96k, 192k Hz) is
#: within the bound, so it is resampled exactly.
MAX_RATIO_TERM = 1_000
#: Pitch and tempo error allowed when an odd rate is resampled by a nearby ratio with smaller
#: terms (1e-4 is 0.17 cents, 0.1 ms per second); see :func:`resampling_ratio`.
RATIO_TOLERANCE = 1e-4


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


def check_sample_rate(rate: int, source: str | Path = "audio") -> int:
    """``rate`` when it is a usable sample rate (1 kHz to 1 MHz), else ``InputError`` naming ``source``."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise InputError(source, f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    return rate


def check_samples(samples: np.ndarray, source: str | Path = "audio") -> np.ndarray:
    """``samples`` when non-empty, finite and within :data:`MAX_AMPLITUDE`, else ``InputError``."""
    if samples.size == 0:
        raise InputError(source, "contains no audio samples")
    if not np.isfinite(samples).all():
        raise InputError(source, "contains NaN or inf samples")
    peak = float(np.abs(samples).max())
    if peak > MAX_AMPLITUDE:
        raise InputError(
            source,
            f"samples reach {peak:.3g}, {20 * math.log10(peak):.0f} dB above full scale (1.0): not a physical "
            f"recording (integer samples saved as float without scaling?); refusing rather than encoding garbage",
        )
    return samples


def resampling_ratio(sample_rate: int) -> Fraction:
    """``16000 / sample_rate`` as a fraction with numerator and denominator <= :data:`MAX_RATIO_TERM`.

    Exact when the ratio in lowest terms is that small (all common rates). Otherwise the
    fraction with the smallest terms within :data:`RATIO_TOLERANCE` of it, else the closest
    one within the bound: at most 5.3e-4 off for any integer rate from 1 kHz to 1 MHz (under
    1e-4 for 99% of the rates below 50 kHz). The audio then plays that much fast or slow:
    0.92 cents of pitch at worst, where people hear 5 cents; 22051 Hz becomes 16000/22051 ~ 119/164.
    """
    exact = Fraction(SAMPLE_RATE, sample_rate)
    if max(exact.numerator, exact.denominator) <= MAX_RATIO_TERM:
        return exact
    best = _bounded_fraction(exact, MAX_RATIO_TERM)
    for bound in range(1, MAX_RATIO_TERM):
        candidate = _bounded_fraction(exact, bound)
        if candidate and abs(candidate / exact - 1) <= RATIO_TOLERANCE:
            return candidate
    return best


def _bounded_fraction(ratio: Fraction, bound: int) -> Fraction:
    """The closest fraction to ``ratio`` with numerator and denominator <= ``bound`` (0 if none)."""
    if ratio <= 1:
        return ratio.limit_denominator(bound)
    inverse = (1 / ratio).limit_denominator(bound)
    return 1 / inverse if inverse else Fraction(0)


def to_mono_16k(samples: np.ndarray, sample_rate: int, source: str | Path = "audio") -> Tensor:
    """``(T,)`` or ``(T, C)`` float samples at any rate -> ``(T',)`` mono float32 at 16 kHz.

    Memory and time stay linear in ``T`` for any rate from 1 kHz to 1 MHz (see
    :func:`resampling_ratio`); other rates are refused naming ``source``.
    """
    check_sample_rate(sample_rate, source)
    audio = torch.as_tensor(np.asarray(samples, dtype=np.float32))
    if audio.ndim == 2:
        audio = audio.mean(dim=1)
    if sample_rate != SAMPLE_RATE:
        ratio = resampling_ratio(sample_rate)
        audio = torchaudio.functional.resample(audio, ratio.denominator, ratio.numerator)
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

    Raises ``InputError`` naming the file for unreadable, empty, non-finite or
    non-physically loud audio and unusable sample rates. A WAV whose data chunk is shorter
    than its header says is encoded as far as it goes, with a warning on stderr saying how
    much is missing.
    """
    import soundfile

    from sage_audio_puzzle.riff import find_truncation

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
    except Exception as exc:  # libsndfile raises several types (LibsndfileError, RuntimeError)
        raise InputError(path, f"not readable audio ({' '.join(str(exc).split())})") from None
    check_sample_rate(int(rate), path)
    check_samples(samples, path)
    truncation = find_truncation(path)
    if truncation is not None:
        warn_input(path, truncation.describe() + "; encoding what is there")
    return to_mono_16k(samples, int(rate), path)
