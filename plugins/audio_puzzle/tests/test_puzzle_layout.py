"""What a puzzle means: rows are mel bands (row 0 lowest), columns time, codes energy.

The model's monotone paths (the encoder adds each cell's mean energy; the decoder spreads
the code value back over its cell) make these hold from initialisation, so the tests run
on untrained tiny models and check the architecture, not luck of training.
"""

from __future__ import annotations

import numpy as np
import torch

from sage_audio_puzzle.compressor import AudioPuzzleCompressor
from sage_audio_puzzle.frontend import N_MELS, SAMPLE_RATE, log_mel_db
from sage_audio_puzzle.grid import GRID


def _codes(model: AudioPuzzleCompressor, signal: np.ndarray) -> torch.Tensor:
    return model.encode(model.modality.prepare((signal, SAMPLE_RATE))).as_batch()[0].astype(np.int64)


def _expected_row(frequency: float) -> float:
    import torchaudio

    mel = torchaudio.functional.melscale_fbanks(513, 0.0, SAMPLE_RATE / 2, N_MELS, SAMPLE_RATE)
    band = int(mel[round(frequency / (SAMPLE_RATE / 1024))].argmax())
    return band * GRID / N_MELS


def test_low_tone_lights_low_rows_and_high_tone_high_rows(tiny_config, make_tone):
    tone = make_tone
    model = AudioPuzzleCompressor(tiny_config).eval()
    for frequency in (150.0, 1000.0, 5000.0):
        codes = _codes(model, tone(frequency))
        brightest_row = int(codes.mean(axis=1).argmax())
        assert abs(brightest_row - _expected_row(frequency)) <= 1.5, (frequency, brightest_row)
    low, high = _codes(model, tone(150.0)), _codes(model, tone(5000.0))
    assert low[:5].mean() > high[:5].mean() and high[-12:].mean() > low[-12:].mean()


def test_tone_starting_half_way_lights_only_right_columns(tiny_config, make_tone):
    tone = make_tone
    model = AudioPuzzleCompressor(tiny_config).eval()
    codes = _codes(model, tone(1000.0, start=0.5))
    row = int(round(_expected_row(1000.0)))
    assert codes[:, :13].max() <= 1, "columns before 0.5 s hold only silence"
    assert codes[row, 16:].min() >= 5, "the tone's row lights up after 0.5 s"


def test_quieter_clip_gives_lower_codes(tiny_config, varied_clips):
    model = AudioPuzzleCompressor(tiny_config).eval()
    loud = torch.from_numpy(varied_clips[:7])
    quiet = loud * 0.1  # 20 dB quieter
    loud_codes = model.encode_codes(log_mel_db(loud)).float().flatten(1).mean(1)
    quiet_codes = model.encode_codes(log_mel_db(quiet)).float().flatten(1).mean(1)
    assert (quiet_codes < loud_codes).all()


def test_puzzle_is_identical_alone_and_in_any_batch(tiny_config):
    model = AudioPuzzleCompressor(tiny_config).eval()
    rng = np.random.default_rng(1)
    clips = rng.standard_normal((64, SAMPLE_RATE)).astype(np.float32) * rng.uniform(1e-4, 0.5, (64, 1)).astype(np.float32)
    x = log_mel_db(torch.from_numpy(clips))
    batched = model.encode_codes(x)
    alone = torch.cat([model.encode_codes(x[i : i + 1]) for i in range(len(x))])
    assert torch.equal(batched, alone)
    assert torch.equal(model.encode_codes(x[torch.randperm(64)]).sort(0).values, batched.sort(0).values)


def test_higher_code_decodes_to_more_energy(tiny_config):
    model = AudioPuzzleCompressor(tiny_config).eval()
    flat = torch.arange(10).view(10, 1, 1).expand(10, GRID, GRID)
    energy = model.modality.cell_intensity(model.decode_codes(flat)).flatten(1).mean(1)
    assert (energy.diff() > 0).all()
