"""The core's contract suite on the audio compressors, plus their registration."""

from __future__ import annotations

import numpy as np
import torch

from sage_core.plugins import load_plugins
from sage_core.testing import check_compressor

from sage_audio_puzzle.compressor import AudioPuzzleCompressor
from sage_audio_puzzle.frontend import log_mel_db
from sage_audio_puzzle.prototype import AudioPrototypeCompressor


def _samples(clips: np.ndarray) -> torch.Tensor:
    return log_mel_db(torch.from_numpy(clips))


def test_audio_puzzle_keeps_the_contract(tiny_config, varied_clips):
    check_compressor(AudioPuzzleCompressor(tiny_config), samples=_samples(varied_clips))


def test_without_the_band_and_frame_mixing_it_keeps_the_contract(tiny_config, varied_clips):
    check_compressor(AudioPuzzleCompressor(tiny_config.model_copy(update={"decoder_mixing": 0})),
                     samples=_samples(varied_clips))


def test_the_band_and_frame_mixing_is_on_the_decode_path(tiny_config, varied_clips):
    model = AudioPuzzleCompressor(tiny_config)
    assert tiny_config.decoder_mixing == 1  # the default
    x = _samples(varied_clips)
    before = model.decode_codes(model.encode_codes(x))
    mixing = model.decoder.blocks[-1]
    torch.nn.init.normal_(mixing.out.weight)  # starts as the identity; once trained it changes the output
    assert not torch.equal(before, model.decode_codes(model.encode_codes(x)))


def test_prototype_reference_keeps_the_contract(varied_clips):
    check_compressor(AudioPrototypeCompressor(), samples=_samples(varied_clips[:4]))


def test_plugin_registers_both_compressors_and_the_speech_commands_source():
    registry = load_plugins()
    assert registry.compressor("audio_puzzle").load() is AudioPuzzleCompressor
    assert registry.compressor("audio_prototype").load() is AudioPrototypeCompressor
    assert registry.data_source("speech_commands").modality == "audio"


def test_encode_path_computes_no_gradients(tiny_config, varied_clips):
    model = AudioPuzzleCompressor(tiny_config)
    x = _samples(varied_clips).requires_grad_(True)
    codes = model.encode_codes(x)
    assert codes.dtype == torch.int64 and not codes.requires_grad


def test_the_shipped_run_loads_and_encodes_a_recording(tmp_path) -> None:
    """The weights in the package fit this version of the model (re-ship after a version bump)."""
    import numpy as np
    import soundfile

    from sage_core.plugins import load_plugins
    from sage_core.rundir import RunDirectory
    from sage_core.runs import load_compressor

    spec = load_plugins().compressor("audio_puzzle")
    shipped = spec.shipped_path()
    assert shipped is not None, "sage-audio-puzzle ships its default run (benchmarks/ship_default_models.py)"
    made = RunDirectory(shipped).shipped()
    assert made and made["command"].startswith("sage train audio_puzzle") and RunDirectory(shipped).evaluation()
    model = load_compressor(shipped)
    talk = tmp_path / "talk.wav"
    soundfile.write(talk, (0.3 * np.sin(2 * np.pi * 180 * np.arange(24_000) / 16_000)).astype(np.float32), 16_000)
    puzzle = model.encode(model.modality.read_file(talk))
    assert len(puzzle) == 2 and puzzle.meta.compressor_version == model.version
