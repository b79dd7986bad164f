"""Audio as a stream: block-by-block resampling and windows equal to the whole-file path."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch
import torchaudio

from sage_core import AudioBlock
from sage_audio_puzzle.compressor import AudioPuzzleCompressor
from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.frontend import read_audio, windows
from sage_audio_puzzle.streaming import StreamingResampler


def blocks_of(signal: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    cuts = np.cumsum(rng.integers(1, 3000, size=len(signal)))
    return np.split(signal, cuts[cuts < len(signal)])


@pytest.mark.parametrize("rate", [44_100, 48_000, 22_050, 8_000])
def test_block_by_block_resampling_equals_resampling_the_whole_signal(rate: int) -> None:
    rng = np.random.default_rng(rate)
    signal = (0.3 * rng.standard_normal(2 * rate + 1234)).astype(np.float32)
    whole = torchaudio.functional.resample(torch.from_numpy(signal), rate, 16_000).numpy()
    resampler = StreamingResampler(rate, 16_000)
    streamed = np.concatenate([resampler.push(block) for block in blocks_of(signal, rng)] + [resampler.flush()])
    assert streamed.shape == whole.shape
    np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-6)


def test_a_44k_stereo_file_streams_into_the_windows_of_the_whole_file(tmp_path, tiny_config) -> None:
    rate = 44_100
    t = np.arange(int(2.3 * rate)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, 0.5 * left], axis=1).astype(np.float32)
    path = tmp_path / "talk.wav"
    soundfile.write(path, stereo, rate, subtype="FLOAT")
    expected = windows(read_audio(path), 0.25).numpy()

    model = AudioPuzzleCompressor(tiny_config)
    windower = model.modality.stream_windower(0.25)
    got = []
    for position in range(0, len(stereo), 441):  # 10 ms blocks, as a device delivers them
        got += windower.push(AudioBlock(stereo[position : position + 441], rate, 5.0 + position / rate))
    got += windower.flush()
    assert len(got) == len(expected) == 7  # 2.3 s: 1 + ceil(1.3 / 0.25)
    for i, window in enumerate(got):
        samples, window_rate = window.data
        assert window_rate == 16_000 and samples.shape == (16_000,)
        np.testing.assert_allclose(samples, expected[i], rtol=0, atol=1e-6)
        assert window.start == pytest.approx(5.0 + 0.25 * i, abs=1e-9)


def test_a_16k_window_prepares_exactly_like_the_file(tmp_path, tiny_config) -> None:
    """At 16 kHz nothing is resampled, so a streamed window's model input is the file's, bit for bit."""
    signal = (0.2 * np.random.default_rng(0).standard_normal(16_000 * 2 + 700)).astype(np.float32)
    path = tmp_path / "clip.wav"
    soundfile.write(path, signal, 16_000, subtype="FLOAT")
    model = AudioPuzzleCompressor(tiny_config.model_copy(update={"modality": AudioConfig(window_hop_seconds=0.5)}))
    windower = model.modality.stream_windower(0.5)
    got = windower.push(AudioBlock(signal, 16_000, 0.0)) + windower.flush()
    from_file = model.modality.read_file(path)
    assert len(got) == len(from_file)
    for window, x in zip(got, from_file):
        assert torch.equal(model.modality.prepare(window.data)[0], x)
