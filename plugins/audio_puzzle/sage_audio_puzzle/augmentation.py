"""What a real microphone adds to speech, synthesised: noise floors, rooms, band limits, levels.

eSpeak NG output is clean studio-like speech with digital silence around it; a microphone
in a room records a coloured, non-stationary noise floor, reverberation, a band-limited and
coloured frequency response, and very different levels. These functions add each of those
to ``(N, T)`` float32 waveforms at 16 kHz, reproducibly: every random choice comes from the
``numpy.random.Generator`` passed in, so the same seed gives the same samples. All are
vectorised over the batch (one FFT per clip), so thousands of clips take seconds.
"""

from __future__ import annotations

import numpy as np

from sage_audio_puzzle.frontend import SAMPLE_RATE


def _rfft_frequencies(samples: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    return np.fft.rfftfreq(samples, 1.0 / rate)


def coloured_noise(count: int, samples: int, exponent: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """``(count, samples)`` noise of unit RMS whose power spectrum falls as ``1 / f ** exponent``.

    0 = white, 1 = pink, 2 = brown (red); one exponent per clip or one for all. Frequencies
    below 20 Hz are held at the 20 Hz level, so brown noise does not become a DC drift.
    """
    exponent = np.broadcast_to(np.asarray(exponent, dtype=np.float64), (count,))[:, None]
    spectrum = np.fft.rfft(rng.standard_normal((count, samples)), axis=1)
    f = np.maximum(_rfft_frequencies(samples), 20.0)[None, :]
    shaped = np.fft.irfft(spectrum * f ** (-exponent / 2.0), n=samples, axis=1)
    shaped /= np.sqrt((shaped**2).mean(axis=1, keepdims=True)) + 1e-12
    return shaped.astype(np.float32)


def slow_envelope(count: int, samples: int, depth_db: np.ndarray | float, rng: np.random.Generator,
                  changes_per_second: float = 3.0) -> np.ndarray:
    """``(count, samples)`` positive gains that wander by about +-``depth_db`` dB, smoothly.

    A non-stationary noise floor (air conditioning, traffic, rustle) is not constant over a
    second: random dB values at ``changes_per_second`` knots, cosine-interpolated.
    """
    knots = int(np.ceil(changes_per_second * samples / SAMPLE_RATE)) + 2
    depth = np.broadcast_to(np.asarray(depth_db, dtype=np.float64), (count,))[:, None]
    values = rng.uniform(-1.0, 1.0, (count, knots)) * depth
    position = np.linspace(0, knots - 1.0001, samples)
    left = np.floor(position).astype(int)
    blend = (1 - np.cos(np.pi * (position - left))) / 2
    db = values[:, left] * (1 - blend) + values[:, left + 1] * blend
    return (10.0 ** (db / 20.0)).astype(np.float32)


def mean_power(audio: np.ndarray) -> np.ndarray:
    """``(N, T)`` -> ``(N,)`` mean power over the whole window (silence included)."""
    return (audio.astype(np.float64) ** 2).mean(axis=1)


def add_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: np.ndarray | float) -> np.ndarray:
    """``signal + g * noise`` with ``g`` set so ``10 log10(P(signal) / P(g noise)) = snr_db`` per clip.

    Powers are window means (:func:`mean_power`), so a short word in a long quiet window gets
    a floor relative to the whole window's energy, as a recording level meter would show.
    """
    snr = np.broadcast_to(np.asarray(snr_db, dtype=np.float64), (len(signal),))
    gain = np.sqrt(mean_power(signal) / (mean_power(noise) + 1e-20) / 10.0 ** (snr / 10.0))
    return (signal + gain[:, None].astype(np.float32) * noise).astype(np.float32)


def room_impulse_responses(rt60: np.ndarray, drr_db: np.ndarray, rng: np.random.Generator,
                           rate: int = SAMPLE_RATE, reflections: int = 6) -> np.ndarray:
    """``(N, L)`` synthetic rooms: direct path, early reflections, exponentially decaying tail.

    ``rt60`` ``(N,)``: seconds for the tail to fall 60 dB; ``drr_db`` ``(N,)``: direct-to-
    reverberant energy ratio (larger = closer microphone). Early reflections are sparse taps
    between 2 and 40 ms; the diffuse tail is Gaussian noise from 5 ms on, split into three
    bands whose decay times are 1, 0.8 and 0.55 x ``rt60`` (below 1 kHz, 1-4 kHz, above 4 kHz):
    air and walls absorb highs faster. ``L`` covers the longest ``rt60`` (at least 0.1 s);
    each response has unit energy.
    """
    rt60 = np.asarray(rt60, dtype=np.float64)[:, None]
    count = len(rt60)
    length = max(int(rt60.max() * rate), int(0.1 * rate))
    t = (np.arange(length) / rate)[None, :]
    spectrum = np.fft.rfft(rng.standard_normal((count, length)), axis=1)
    f = np.fft.rfftfreq(length, 1.0 / rate)
    tail = np.zeros((count, length))
    for low, high, factor in ((0.0, 1000.0, 1.0), (1000.0, 4000.0, 0.8), (4000.0, rate, 0.55)):
        band = np.fft.irfft(spectrum * ((f >= low) & (f < high))[None, :], length, axis=1)
        tail += band * np.exp(-6.91 * t / (factor * rt60))
    tail[:, t[0] < 0.005] = 0.0
    taps = rng.integers(int(0.002 * rate), int(0.040 * rate), (count, reflections))
    # A specular reflection is one strong tap: 2-8x the diffuse tail's per-sample RMS (~1 here).
    amplitude = rng.choice([-1.0, 1.0], (count, reflections)) * rng.uniform(2.0, 8.0, (count, reflections))
    rows = np.repeat(np.arange(count)[:, None], reflections, axis=1)
    np.add.at(tail, (rows, taps), amplitude * np.exp(-6.91 * taps / rate / rt60))
    reverberant = (tail**2).sum(axis=1)
    tail[:, 0] = np.sqrt(reverberant * 10.0 ** (np.asarray(drr_db, dtype=np.float64) / 10.0))
    return (tail / np.sqrt((tail**2).sum(axis=1, keepdims=True))).astype(np.float32)


def direct_to_reverberant_db(ir: np.ndarray) -> np.ndarray:
    """``(N, L)`` responses -> ``(N,)`` energy of sample 0 over the energy of the rest, in dB."""
    return 10.0 * np.log10(ir[:, 0].astype(np.float64) ** 2 / (ir[:, 1:].astype(np.float64) ** 2).sum(axis=1))


def decay_time_rt60(ir: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(N, L)`` responses -> ``(N,)`` RT60 in seconds, by Schroeder backward integration.

    The energy decay curve of the diffuse part (after 5 ms) is fitted between -5 and -25 dB
    (T20) and extrapolated to 60 dB: the standard measurement of a room's reverberation time.
    """
    tail = ir[:, int(0.005 * rate):].astype(np.float64) ** 2
    edc = np.cumsum(tail[:, ::-1], axis=1)[:, ::-1]
    edc_db = 10.0 * np.log10(edc / edc[:, :1] + 1e-30)
    result = np.empty(len(ir))
    t = np.arange(tail.shape[1]) / rate
    for i, curve in enumerate(edc_db):
        fit = (curve <= -5.0) & (curve >= -25.0)
        slope = np.polyfit(t[fit], curve[fit], 1)[0]
        result[i] = -60.0 / slope
    return result


def convolve(audio: np.ndarray, impulse_responses: np.ndarray) -> np.ndarray:
    """``(N, T)`` * ``(N, L)`` -> ``(N, T)``: each clip through its own filter, the tail cut at T."""
    samples = audio.shape[1]
    size = 1 << int(np.ceil(np.log2(samples + impulse_responses.shape[1])))
    spectrum = _rfft(audio, size) * _rfft(impulse_responses, size)
    return _irfft(spectrum, size)[:, :samples]


def _rfft(x: np.ndarray, size: int) -> "torch.Tensor":
    # torch's FFT: ~3x numpy's pocketfft at these sizes on one thread (measured).
    import torch

    return torch.fft.rfft(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), n=size, dim=1)


def _irfft(spectrum: "torch.Tensor", size: int) -> np.ndarray:
    import torch

    return torch.fft.irfft(spectrum, n=size, dim=1).numpy()


def band_response(samples: int, low_hz: np.ndarray, high_hz: np.ndarray, order: np.ndarray | int = 4,
                  rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(N, samples // 2 + 1)`` magnitudes of a Butterworth-shaped band-pass per clip.

    ``low_hz`` <= 0 means no high-pass; ``high_hz`` >= Nyquist means no low-pass.
    """
    f = _rfft_frequencies(samples, rate)[None, :]
    order = np.broadcast_to(np.asarray(order, dtype=np.float64), (len(low_hz),))[:, None]
    low = np.asarray(low_hz, dtype=np.float64)[:, None]
    high = np.asarray(high_hz, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore"):
        highpass = np.where(low > 0, 1.0 / np.sqrt(1.0 + (low / np.maximum(f, 1e-3)) ** (2 * order)), 1.0)
    lowpass = np.where(high < rate / 2, 1.0 / np.sqrt(1.0 + (f / high) ** (2 * order)), 1.0)
    return highpass * lowpass


def resonance_response(samples: int, centre_hz: np.ndarray, gain_db: np.ndarray, q: np.ndarray,
                       rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(N, samples // 2 + 1)`` magnitudes of a peak (or notch, gain < 0) per clip: a cheap
    microphone's or a small enclosure's resonance, on a log-frequency bell."""
    f = np.maximum(_rfft_frequencies(samples, rate), 1.0)[None, :]
    octaves = np.log2(f / np.asarray(centre_hz, dtype=np.float64)[:, None])
    width = 1.0 / np.asarray(q, dtype=np.float64)[:, None]  # bandwidth in octaves
    db = np.asarray(gain_db, dtype=np.float64)[:, None] * np.exp(-0.5 * (octaves / (width / 2)) ** 2)
    return 10.0 ** (db / 20.0)


def apply_response(audio: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """``(N, T)`` filtered by zero-phase magnitudes ``(N, T // 2 + 1)``."""
    import torch

    samples = audio.shape[1]
    return _irfft(_rfft(audio, samples) * torch.from_numpy(magnitude.astype(np.float32)), samples)


def mains_hum(count: int, samples: int, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(count, samples)`` unit-RMS 50 or 60 Hz hum with a few random harmonics."""
    t = np.arange(samples) / rate
    base = rng.choice([50.0, 60.0], count)[:, None]
    hum = np.zeros((count, samples))
    for harmonic in range(1, 6):
        amplitude = rng.uniform(0.0, 1.0, (count, 1)) / harmonic
        hum += amplitude * np.sin(2 * np.pi * harmonic * base * t + rng.uniform(0, 2 * np.pi, (count, 1)))
    hum /= np.sqrt((hum**2).mean(axis=1, keepdims=True)) + 1e-12
    return hum.astype(np.float32)


def peak_normalise(audio: np.ndarray, peak_dbfs: np.ndarray) -> np.ndarray:
    """Scale each clip so its absolute peak sits at ``peak_dbfs`` (<= 0) dB full scale."""
    peak = np.abs(audio).max(axis=1) + 1e-12
    target = 10.0 ** (np.asarray(peak_dbfs, dtype=np.float64) / 20.0)
    return (audio * (target / peak)[:, None]).astype(np.float32)


def quantise_16bit(audio: np.ndarray) -> np.ndarray:
    """Clip to [-1, 1] and round to 16-bit steps: what a WAV file stores (its own -96 dB floor)."""
    return (np.round(np.clip(audio, -1.0, 1.0) * 32767.0) / 32767.0).astype(np.float32)
