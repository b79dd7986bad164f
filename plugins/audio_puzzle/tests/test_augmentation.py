"""Simulated recording conditions: each one does what it claims, measured on real signals."""

from __future__ import annotations

import numpy as np
import pytest

from sage_audio_puzzle import augmentation as aug
from sage_audio_puzzle.frontend import SAMPLE_RATE
from sage_audio_puzzle.recording_conditions import INGREDIENTS, check_recipe, simulate_recordings


def slope_db_per_decade(noise: np.ndarray) -> float:
    """Fitted power-spectrum slope of ``(T,)`` noise between 50 Hz and 7 kHz."""
    f = np.fft.rfftfreq(noise.size, 1 / SAMPLE_RATE)
    power = np.abs(np.fft.rfft(noise)) ** 2
    band = (f > 50) & (f < 7000)
    return float(np.polyfit(np.log10(f[band]), 10 * np.log10(power[band]), 1)[0])


def band_energy_db(audio: np.ndarray, low: float, high: float) -> float:
    f = np.fft.rfftfreq(audio.size, 1 / SAMPLE_RATE)
    power = np.abs(np.fft.rfft(audio)) ** 2
    return float(10 * np.log10(power[(f >= low) & (f < high)].sum() / power.sum()))


@pytest.fixture
def speech_like() -> np.ndarray:
    """``(6, 16000)``: harmonic 'vowels' of 0.4 s at several pitches inside silence."""
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    clips = np.zeros((6, SAMPLE_RATE), dtype=np.float32)
    for i, pitch in enumerate((100, 130, 170, 210, 250, 300)):
        voiced = sum(np.sin(2 * np.pi * k * pitch * t) / k for k in range(1, 20))
        clips[i, 4000:10400] = 0.3 * voiced[4000:10400] / np.abs(voiced).max()
    return clips


def test_noise_colours_have_their_spectral_slopes():
    rng = np.random.default_rng(0)
    noise = aug.coloured_noise(3, 32_000, np.array([0.0, 1.0, 2.0]), rng)
    assert noise.shape == (3, 32_000) and noise.dtype == np.float32
    assert np.allclose(np.sqrt((noise**2).mean(axis=1)), 1.0, atol=1e-3)
    slopes = [slope_db_per_decade(n) for n in noise]
    assert slopes == pytest.approx([0.0, -10.0, -20.0], abs=1.5), "white 0, pink -10, brown -20 dB per decade"


def test_noise_is_added_at_the_requested_snr(speech_like):
    noise = aug.coloured_noise(6, SAMPLE_RATE, 1.0, np.random.default_rng(1))
    snr = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    mixed = aug.add_at_snr(speech_like, noise, snr)
    measured = 10 * np.log10(aug.mean_power(speech_like) / aug.mean_power(mixed - speech_like))
    assert measured == pytest.approx(snr, abs=0.05)


def test_slow_envelope_wanders_within_its_depth():
    envelope = aug.slow_envelope(4, SAMPLE_RATE, np.array([0.0, 2.0, 6.0, 6.0]), np.random.default_rng(2))
    db = 20 * np.log10(envelope)
    assert np.allclose(db[0], 0.0)
    assert (np.abs(db[1:]).max(axis=1) <= np.array([2.0, 6.0, 6.0]) + 1e-4).all()
    assert np.abs(np.diff(db[2])).max() < 0.01, "smooth: no jumps between samples"


def test_rooms_decay_at_their_rt60_with_their_direct_to_reverberant_ratio():
    rt60 = np.array([0.2, 0.5, 0.9])
    drr = np.array([-3.0, 5.0, 15.0])
    ir = aug.room_impulse_responses(rt60, drr, np.random.default_rng(3))
    assert np.allclose((ir.astype(np.float64) ** 2).sum(axis=1), 1.0, atol=1e-4)
    assert aug.direct_to_reverberant_db(ir) == pytest.approx(drr, abs=0.01)
    # The nominal RT60 is the decay below 1 kHz; highs decay faster (down to 0.55x).
    # Zero-phase filtering is circular: pad, so nothing wraps round onto the tail.
    tail = np.concatenate([ir[:, 1:], np.zeros_like(ir)], axis=1)
    low = aug.apply_response(tail, aug.band_response(tail.shape[1], np.zeros(3), np.full(3, 800.0), order=8))
    assert aug.decay_time_rt60(low[:, : ir.shape[1]]) == pytest.approx(rt60, rel=0.15)
    broadband = aug.decay_time_rt60(ir)
    assert ((broadband > 0.5 * rt60) & (broadband < 1.05 * rt60)).all()


def test_band_limits_remove_what_they_claim():
    noise = aug.coloured_noise(2, SAMPLE_RATE, 0.0, np.random.default_rng(4))
    response = aug.band_response(SAMPLE_RATE, np.array([300.0, 0.0]), np.array([3400.0, SAMPLE_RATE / 2]), order=8)
    phone, untouched = aug.apply_response(noise, response)
    assert band_energy_db(phone, 5000, 8000) < -30 and band_energy_db(phone, 0, 150) < -40
    f = np.fft.rfftfreq(SAMPLE_RATE, 1 / SAMPLE_RATE)
    passband = (f > 500) & (f < 3000)
    kept = (np.abs(np.fft.rfft(phone)[passband]) ** 2).sum() / (np.abs(np.fft.rfft(noise[0])[passband]) ** 2).sum()
    assert 10 * np.log10(kept) > -0.5, "the pass band is kept"
    assert np.allclose(untouched, noise[1], atol=1e-5), "no limits: the signal unchanged"
    peak = aug.resonance_response(SAMPLE_RATE, np.array([1000.0]), np.array([8.0]), np.array([2.0]))[0]
    assert 20 * np.log10(peak[np.argmin(np.abs(f - 1000))]) == pytest.approx(8.0, abs=0.01)
    assert 20 * np.log10(peak[np.argmin(np.abs(f - 6000))]) == pytest.approx(0.0, abs=0.1)


def test_convolution_with_a_unit_impulse_is_the_identity(speech_like):
    impulse = np.zeros((6, 100), dtype=np.float32)
    impulse[:, 0] = 1.0
    assert np.allclose(aug.convolve(speech_like, impulse), speech_like, atol=1e-5)


@pytest.mark.parametrize("recipe", [(), ("noise",), INGREDIENTS])
def test_simulated_recordings_keep_shape_and_are_reproducible(speech_like, recipe):
    first = simulate_recordings(speech_like, recipe, seed=7)
    again = simulate_recordings(speech_like, recipe, seed=7)
    assert first.shape == speech_like.shape and first.dtype == np.float32
    assert np.array_equal(first, again), "same seed, same samples"
    assert np.allclose(first * 32767, np.round(first * 32767), atol=1e-3), "16-bit steps, as a WAV stores"
    if recipe:
        assert not np.array_equal(first, simulate_recordings(speech_like, recipe, seed=8))


def test_each_ingredient_changes_what_it_should(speech_like):
    silence = slice(0, 3000)  # before the 'vowel': digital silence in the clean clips
    noisy = simulate_recordings(speech_like, ("noise",), seed=0)
    assert (np.abs(noisy[:, silence]).max(axis=1) > 0).all(), "a noise floor where there was silence"
    reverberant = simulate_recordings(speech_like, ("reverb",), seed=0)
    after = slice(10_500, 12_000)  # just after the vowel ends: only a room keeps it ringing
    assert (np.abs(reverberant[:, after]).max(axis=1) > 1e-3).sum() >= 2
    levels = simulate_recordings(speech_like, ("gain",), seed=0)
    peaks = 20 * np.log10(np.abs(levels).max(axis=1))
    assert ((peaks >= -35.1) & (peaks <= -0.9)).all() and np.ptp(peaks) > 3
    banded = simulate_recordings(np.tile(speech_like, (4, 1)), ("band",), seed=0)
    highs = [band_energy_db(clip, 4200, 8000) for clip in banded]
    clean = band_energy_db(speech_like[0], 4200, 8000)
    assert min(highs) < clean - 20, "some clips lose their highs (telephone / 8 kHz recordings)"
    narrow = simulate_recordings(np.tile(speech_like, (4, 1)), ("narrowband",), seed=0)
    cut = [band_energy_db(clip, 4200, 8000) < -60 for clip in narrow]
    assert 0 < sum(cut) < len(cut), "some clips, not all, hold (almost) nothing above 4 kHz"
    loud = simulate_recordings(np.tile(speech_like, (4, 1)), ("gain", "loud"), seed=0)
    peaks = 20 * np.log10(np.abs(loud).max(axis=1))
    assert ((peaks >= -35.1) & (peaks <= 0.01)).all() and (peaks > -12).sum() >= 6, "loud decides: many near full scale"
    ended = simulate_recordings(np.tile(speech_like, (4, 1)), ("noise", "file_end"), seed=0)
    silent_tail = [SAMPLE_RATE - np.flatnonzero(clip)[-1] - 1 for clip in ended]
    cut = [t for t in silent_tail if t > 50]  # a noise sample may round to 0 by chance; a file end is long
    assert 0 < len(cut) < len(ended) and all(1500 <= t <= 14_500 for t in cut), "some files end 0.1-0.9 s early"


def test_unknown_ingredients_are_refused():
    with pytest.raises(ValueError, match="unknown augmentation ingredient"):
        check_recipe(("reverb", "echo"))
    assert check_recipe(("gain", "noise", "reverb")) == ("reverb", "noise", "gain")
