"""Reading real audio files of any rate, channel count and length, and writing WAV back."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from sage_core import InputError

from sage_audio_puzzle.compressor import AudioPuzzleCompressor
from sage_audio_puzzle.config import AudioPuzzleConfig
from sage_audio_puzzle.frontend import SAMPLE_RATE, log_mel_db


def _model(hop: float = 1.0) -> AudioPuzzleCompressor:
    return AudioPuzzleCompressor(AudioPuzzleConfig(decoder_channels=4, decoder_blocks=1, modality={"window_hop_seconds": hop}))


def test_other_rate_and_stereo_match_the_16k_mono_spectrogram(tmp_path, make_tone):
    mono16 = make_tone(440.0, amplitude=0.3)
    stereo44 = np.stack([make_tone(440.0, amplitude=0.3, rate=44_100)] * 2, axis=1)
    soundfile.write(tmp_path / "a.wav", mono16, SAMPLE_RATE)
    soundfile.write(tmp_path / "b.wav", stereo44, 44_100)
    a, b = _model().modality.read_file(tmp_path / "a.wav"), _model().modality.read_file(tmp_path / "b.wav")
    assert a.shape == b.shape == (1, 1, 128, 32)
    loud = a > a.max() - 40  # compare where there is energy: resampling differs at the noise floor
    assert (a - b)[loud].abs().max() < 1.0


def test_short_clip_is_padded_with_silence(tmp_path, make_tone):
    soundfile.write(tmp_path / "short.wav", make_tone(1000.0, seconds=0.4), SAMPLE_RATE)
    x = _model().modality.read_file(tmp_path / "short.wav")
    assert x.shape == (1, 1, 128, 32)
    assert x[0, 0, :, -5:].max() <= -99.0, "the padded tail is digital silence"
    assert x[0, 0, :, :10].max() > 0.0


@pytest.mark.parametrize("hop, windows", [(1.0, 4), (0.5, 6)])
def test_long_file_becomes_consecutive_windows(tmp_path, make_tone, hop, windows):
    signal = np.concatenate([make_tone(300.0, seconds=1.0), np.zeros(SAMPLE_RATE, np.float32), make_tone(3000.0, seconds=1.5)])
    soundfile.write(tmp_path / "long.flac", signal, SAMPLE_RATE)
    model = _model(hop)
    x = model.modality.read_file(tmp_path / "long.flac")
    assert x.shape == (windows, 1, 128, 32)
    puzzle = model.encode(x)
    assert puzzle.as_batch().shape == (windows, 30, 30)
    samples, rate = soundfile.read(tmp_path / "long.flac", dtype="float32")
    stream = model.encode_observation((samples, rate), source="long")
    assert stream.meta.sources[0] == "long#0"
    assert np.array_equal(stream.as_batch(), puzzle.as_batch())


def test_ogg_is_read(tmp_path, make_tone):
    soundfile.write(tmp_path / "t.ogg", make_tone(500.0, seconds=2.0), SAMPLE_RATE, format="OGG", subtype="VORBIS")
    assert _model().modality.read_file(tmp_path / "t.ogg").shape == (2, 1, 128, 32)


def test_unreadable_file_names_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(InputError) as error:
        _model().modality.read_file(bad)
    assert "broken.wav" in str(error.value) and "not readable audio" in str(error.value)


def test_write_output_gives_a_readable_wav_of_the_right_length(tmp_path, make_tone):
    model = _model()
    x = log_mel_db(torch.from_numpy(np.stack([make_tone(440.0), make_tone(880.0)])))
    written = model.modality.write_output(x, tmp_path / "decoded")
    assert written == [tmp_path / "decoded.wav"]
    audio, rate = soundfile.read(written[0])
    assert rate == SAMPLE_RATE and audio.shape == (2 * SAMPLE_RATE,)
    again = log_mel_db(torch.from_numpy(audio[:SAMPLE_RATE].astype(np.float32))[None])
    assert int(again[0, 0].mean(1).argmax()) == int(x[0, 0].mean(1).argmax()), "the tone's band survives"
