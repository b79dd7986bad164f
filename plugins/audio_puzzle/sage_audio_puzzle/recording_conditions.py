"""Turn clean synthetic clips into what a microphone in a room would have recorded.

A *recipe* is a tuple of ingredient names (``AudioConfig.augment``); each augmented copy
of a clip goes through the listed ingredients in a physical order: other voices join
(``babble``), the room reverberates (``reverb``), the room's noise floor adds (``noise``),
the microphone band-limits and colours it (``band``), the recording level is set
(``gain``), and the WAV stores 16 bits. Every ingredient fires with its own probability,
so some copies stay close to clean. Parameter ranges are fixed here (docs/audio.md gives
the measurements that chose them); the same ``seed`` gives the same samples.
"""

from __future__ import annotations

import numpy as np

from sage_audio_puzzle import augmentation as aug
from sage_audio_puzzle.frontend import SAMPLE_RATE

INGREDIENTS = ("babble", "reverb", "noise", "band", "narrowband", "gain", "loud", "file_end")
_CHUNK = 256  # clips per vectorised step: bounds memory (FFTs of 32k samples per clip)
# Banks drawn from per clip (rooms, noise floors and hums are few, recordings many): a
# random row at a random offset costs an index, where a fresh FFT per clip cost ~1 ms.
_ROOMS = 192
_NOISES = 128  # 2 s each, colour exponents spread evenly over 0 (white) .. 2 (brown)
_HUMS = 32


class Banks:
    """The recipe's random material, drawn once per ``simulate_recordings`` call."""

    def __init__(self, recipe: tuple[str, ...], rng: np.random.Generator, samples: int) -> None:
        self.rooms = self.noises = self.hums = None
        if "reverb" in recipe:
            self.rooms = aug.room_impulse_responses(rng.uniform(0.15, 0.9, _ROOMS), rng.uniform(-3.0, 15.0, _ROOMS), rng)
        if "noise" in recipe:
            self.noises = aug.coloured_noise(_NOISES, 2 * samples, np.linspace(0.0, 2.0, _NOISES), rng)
            self.hums = aug.mains_hum(_HUMS, 2 * samples, rng)

    @staticmethod
    def segments(bank: np.ndarray, count: int, samples: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` random rows of ``bank``, each from a random offset: ``(count, samples)``."""
        rows = rng.integers(0, len(bank), count)
        offsets = rng.integers(0, bank.shape[1] - samples + 1, count)
        return bank[rows[:, None], offsets[:, None] + np.arange(samples)[None, :]]


def check_recipe(recipe: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The recipe in canonical order; unknown names raise ``ValueError`` listing the known ones."""
    unknown = [name for name in recipe if name not in INGREDIENTS]
    if unknown:
        raise ValueError(f"unknown augmentation ingredient(s) {unknown}; known: {list(INGREDIENTS)}")
    return tuple(name for name in INGREDIENTS if name in recipe)


def _babble(clips: np.ndarray, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """40% of clips get 1-3 other voices (circularly shifted in time) at 0-25 dB below them."""
    out = clips.copy()
    chosen = np.flatnonzero(rng.random(len(clips)) < 0.4)
    if not chosen.size:
        return out
    samples = clips.shape[1]
    voices = rng.integers(1, 4, chosen.size)
    others = np.zeros((chosen.size, samples), dtype=np.float32)
    for k in range(3):  # the k-th other voice of every clip that has more than k
        has = voices > k
        rows = rng.integers(0, len(pool), chosen.size)
        shifts = rng.integers(0, samples, chosen.size)
        shifted = pool[rows[:, None], (np.arange(samples)[None, :] + shifts[:, None]) % samples]
        others += shifted * has[:, None]
    out[chosen] = aug.add_at_snr(clips[chosen], others, rng.uniform(0.0, 25.0, chosen.size))
    return out


def _reverb(clips: np.ndarray, rooms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """70% of clips through a room of the bank (RT60 0.15-0.9 s, direct-to-reverberant -3-15 dB)."""
    chosen = np.flatnonzero(rng.random(len(clips)) < 0.7)
    out = clips.copy()
    if chosen.size:
        wet = aug.convolve(clips[chosen], rooms[rng.integers(0, len(rooms), chosen.size)])
        # Keep the level: a room spreads energy in time, it does not make the talker louder.
        wet *= np.sqrt(aug.mean_power(clips[chosen]) / (aug.mean_power(wet) + 1e-20))[:, None].astype(np.float32)
        out[chosen] = wet
    return out


def _noise(clips: np.ndarray, banks: Banks, rng: np.random.Generator) -> np.ndarray:
    """Every clip gets a coloured (white to brown), slowly varying floor 10-50 dB below it;
    25% of floors carry mains hum as well."""
    count, samples = clips.shape
    floor = Banks.segments(banks.noises, count, samples, rng)
    floor *= aug.slow_envelope(count, samples, rng.uniform(0.0, 6.0, count), rng)
    hum = np.flatnonzero(rng.random(count) < 0.25)
    if hum.size:
        level = (10.0 ** (rng.uniform(-15.0, 5.0, hum.size) / 20.0)).astype(np.float32)[:, None]
        floor[hum] += Banks.segments(banks.hums, hum.size, samples, rng) * level
    return aug.add_at_snr(clips, floor, rng.uniform(10.0, 50.0, count))


def _band(clips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """60% of clips through a microphone/channel response: a high-pass (50-300 Hz) half the
    time; a low-pass at telephone 3.4 kHz, 4 kHz (an 8 kHz recording) or 4.5-7.9 kHz; and
    half the time a +-8 dB resonance between 300 Hz and 5 kHz."""
    count, samples = clips.shape
    chosen = np.flatnonzero(rng.random(count) < 0.6)
    out = clips.copy()
    if not chosen.size:
        return out
    n = chosen.size
    low = np.where(rng.random(n) < 0.5, rng.uniform(50.0, 300.0, n), 0.0)
    kind = rng.integers(0, 4, n)
    high = np.select([kind == 0, kind == 1, kind == 2], [3400.0, 4000.0, rng.uniform(4500.0, 7900.0, n)], SAMPLE_RATE / 2)
    response = aug.band_response(samples, low, high, order=rng.integers(2, 9, n))
    peaked = rng.random(n) < 0.5
    gain = np.where(peaked, rng.uniform(-8.0, 8.0, n), 0.0)
    response = response * aug.resonance_response(samples, rng.uniform(300.0, 5000.0, n), gain, rng.uniform(1.0, 4.0, n))
    out[chosen] = aug.apply_response(clips[chosen], response)
    return out


def _gain(clips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Recording level: every clip's peak set to -35 to -1 dBFS."""
    return aug.peak_normalise(clips, rng.uniform(-35.0, -1.0, len(clips)))


def _loud(clips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Recording level as people leave it: half the clips normalised near full scale (peak
    -12 to 0 dBFS, where most real files sit), half quieter (-35 to -12 dBFS)."""
    count = len(clips)
    peak = np.where(rng.random(count) < 0.5, rng.uniform(-12.0, 0.0, count), rng.uniform(-35.0, -12.0, count))
    return aug.peak_normalise(clips, peak)


def _narrowband(clips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """25% of clips lose everything above 4 kHz (an 8 kHz recording) or 3.4 kHz (telephone):
    a brick wall, as resampling leaves it, so the top bands hold digital silence."""
    count, samples = clips.shape
    chosen = np.flatnonzero(rng.random(count) < 0.25)
    out = clips.copy()
    if chosen.size:
        cutoff = np.where(rng.random(chosen.size) < 0.7, 4000.0, 3400.0)
        f = np.fft.rfftfreq(samples, 1.0 / SAMPLE_RATE)[None, :]
        out[chosen] = aug.apply_response(clips[chosen], (f < cutoff[:, None]).astype(np.float64))
    return out


def _file_end(clips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """25% of clips end early: their last 0.1-0.9 s is digital silence, as the zero-padded
    last window of every file that is not a whole number of seconds long."""
    count, samples = clips.shape
    chosen = np.flatnonzero(rng.random(count) < 0.25)
    out = clips.copy()
    ends = rng.integers(int(0.1 * samples), int(0.9 * samples) + 1, chosen.size)
    out[chosen] *= (np.arange(samples)[None, :] < ends[:, None]).astype(np.float32)
    return out


def simulate_recordings(clips: np.ndarray, recipe: tuple[str, ...], seed: int,
                        babble_pool: np.ndarray | None = None) -> np.ndarray:
    """``(N, 16000)`` float32 clips -> ``(N, 16000)`` "recorded" versions (16-bit steps).

    ``babble_pool``: clips other voices are drawn from (default: ``clips`` themselves). The
    same arguments give the same output; an empty recipe only quantises to 16 bits.
    """
    recipe = check_recipe(recipe)
    rng = np.random.default_rng(seed)
    pool = clips if babble_pool is None else babble_pool
    banks = Banks(recipe, rng, clips.shape[1])
    out = np.empty_like(clips, dtype=np.float32)
    for start in range(0, len(clips), _CHUNK):
        chunk = clips[start : start + _CHUNK].astype(np.float32)
        if "babble" in recipe:
            chunk = _babble(chunk, pool, rng)
        if "reverb" in recipe:
            chunk = _reverb(chunk, banks.rooms, rng)
        if "noise" in recipe:
            chunk = _noise(chunk, banks, rng)
        if "band" in recipe:
            chunk = _band(chunk, rng)
        if "narrowband" in recipe:
            chunk = _narrowband(chunk, rng)
        if "loud" in recipe:  # listed with gain, loud decides the level
            chunk = _loud(chunk, rng)
        elif "gain" in recipe:
            chunk = _gain(chunk, rng)
        chunk = aug.quantise_16bit(chunk)
        if "file_end" in recipe:
            chunk = _file_end(chunk, rng)
        out[start : start + _CHUNK] = chunk
    return out


__all__ = ["INGREDIENTS", "check_recipe", "simulate_recordings"]
