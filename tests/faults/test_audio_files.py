"""Hostile WAV files through `sage encode`: no silent silence, no silent loss, no runaway resampling."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio
from cli_runner import run_sage

from sage_core import InputError, Puzzle

from sage_audio_puzzle.frontend import SAMPLE_RATE, read_audio, to_mono_16k


def tone(seconds: float, rate: int, amplitude: float = 0.3, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def encode(run: Path, wav: Path, out: Path, env: dict[str, str]):
    return run_sage("encode", str(run), str(wav), "--out", str(out), env=env, check=False)


def test_non_physical_amplitude_is_refused_not_encoded_as_silence(audio_run, cli_env, one_error_line,
                                                                   tmp_path) -> None:
    """Samples of 1e18 used to encode as all code 0: silence, from the loudest file there is."""
    wav = tmp_path / "loud.wav"
    soundfile.write(wav, tone(2.0, SAMPLE_RATE, amplitude=1e18), SAMPLE_RATE, subtype="FLOAT")
    line = one_error_line(encode(audio_run, wav, tmp_path / "p.npz", cli_env), wav, status=1)
    assert "above full scale" in line
    assert not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize("peak", [1e15, 32767.0, 1001.0])
def test_every_amplitude_far_beyond_full_scale_is_refused(peak, tmp_path) -> None:
    """1e15 used to encode as all code 9; 32767 is int16 data saved as float without scaling."""
    wav = tmp_path / "loud.wav"
    soundfile.write(wav, tone(1.0, SAMPLE_RATE, amplitude=peak), SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(InputError, match="above full scale"):
        read_audio(wav)


def test_float_audio_with_headroom_above_full_scale_still_reads(tmp_path) -> None:
    wav = tmp_path / "hot.wav"
    soundfile.write(wav, tone(1.0, SAMPLE_RATE, amplitude=4.0), SAMPLE_RATE, subtype="FLOAT")  # +12 dBFS
    assert float(read_audio(wav).abs().max()) == pytest.approx(4.0, rel=1e-3)


def test_a_wav_cut_short_is_encoded_with_a_warning_saying_what_is_missing(audio_run, cli_env, one_error_line,
                                                                          tmp_path) -> None:
    whole = tmp_path / "whole.wav"
    soundfile.write(whole, tone(2.0, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    data = whole.read_bytes()
    cut.write_bytes(data[: 44 + (len(data) - 44) // 2])  # half of the data chunk

    result = encode(audio_run, cut, tmp_path / "p.npz", cli_env)
    line = one_error_line(result, cut, status=0, kind="warning")
    assert "cut short" in line and "1.000 s" in line and "32000 bytes missing" in line
    assert len(Puzzle.load(tmp_path / "p.npz")) == 1  # what is there: 1 s of the 2


def test_a_whole_wav_gets_no_warning(tmp_path, capfd) -> None:
    wav = tmp_path / "whole.wav"
    soundfile.write(wav, tone(2.0, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
    assert read_audio(wav).shape == (2 * SAMPLE_RATE,)
    assert not capfd.readouterr().err


def test_a_streamed_wav_with_unknown_length_is_not_called_truncated(tmp_path, capfd) -> None:
    """Writers that stream set the data size to 0xFFFFFFFF ("unknown"): that is no damage."""
    wav = tmp_path / "streamed.wav"
    soundfile.write(wav, tone(1.0, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16")
    data = bytearray(wav.read_bytes())
    position = data.index(b"data")
    data[position + 4 : position + 8] = struct.pack("<I", 0xFFFFFFFF)
    wav.write_bytes(bytes(data))
    assert read_audio(wav).shape == (SAMPLE_RATE,)
    assert "warning" not in capfd.readouterr().err


def test_an_odd_sample_rate_resamples_within_a_memory_cap(tmp_path, reads_safely) -> None:
    """A 4 KB WAV at 22,051 Hz needed a 16000 x 22051 kernel (6.4 GB, 50 s); now a 119/164 ratio."""
    wav = tmp_path / "odd.wav"
    soundfile.write(wav, tone(0.09, 22_051), 22_051, subtype="PCM_16")
    assert wav.stat().st_size < 4_096
    assert reads_safely("audio", wav)["outcome"] == "ok"  # under the worker's address-space cap
    from sage_audio_puzzle.frontend import resampling_ratio

    ratio = resampling_ratio(22_051)
    assert max(ratio.numerator, ratio.denominator) <= 1_000
    assert abs(float(ratio) / (SAMPLE_RATE / 22_051) - 1) <= 1e-4


def test_the_pitch_survives_an_approximated_rate() -> None:
    """A 1 kHz tone at 22,051 Hz is still 1 kHz at 16 kHz: the ratio error is far below a bin."""
    audio = to_mono_16k(tone(4.0, 22_051, frequency=1000.0), 22_051)
    spectrum = np.abs(np.fft.rfft(audio.numpy()))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / len(audio) - 1000.0) < 0.5


@pytest.mark.parametrize("rate", [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000])
def test_common_rates_resample_exactly_as_before(rate) -> None:
    """Their ratios are small in lowest terms, so they take torchaudio's exact path unchanged."""
    samples = np.random.default_rng(rate).standard_normal(rate // 2).astype(np.float32) * 0.1
    expected = torchaudio.functional.resample(torch.from_numpy(samples), rate, SAMPLE_RATE)
    assert torch.equal(to_mono_16k(samples, rate), expected)


@pytest.mark.parametrize("rate", [500, 2_000_000])
def test_an_absurd_sample_rate_is_refused_in_one_line(rate, tmp_path) -> None:
    wav = tmp_path / f"rate-{rate}.wav"
    soundfile.write(wav, tone(0.5, 8_000), rate, subtype="PCM_16")
    with pytest.raises(InputError) as error:
        read_audio(wav)
    assert str(error.value).startswith(f"{wav}: sample rate {rate} Hz is outside 1000-1000000 Hz")
