"""The embedded eSpeak NG default: real synthesis of a few clips, its cache and its split."""

from __future__ import annotations

import numpy as np

from sage_core import DataReport, cache_dir, split_of

from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.modality import AudioModality
from sage_audio_puzzle.embedded_speech import load_or_synthesize, synthesize_clips, voices


def test_synthesised_words_are_speech_like():
    clips = synthesize_clips(2, words=("yes", "seven", "up"), progress=False)
    assert clips.audio.shape == (6, 16_000) and clips.words == ["yes", "seven", "up"] * 2
    audio = clips.audio.astype(np.float32) / 32767
    loud = np.abs(audio) > 0.01
    assert (audio.max(1) > 0.05).all(), "every clip holds an audible word"
    assert (loud.sum(1) > 1_600).all() and (loud.sum(1) < 15_000).all(), "0.1 s to ~0.9 s of speech"
    quiet = np.abs(audio[:, :200]).mean(1)
    assert (quiet < 0.02).all(), "the word sits inside the window, with low background noise"
    assert (np.abs(audio).min(1) >= 0).all() and (audio.std(1) > 0).all()


def test_voices_differ_in_pitch_and_speed():
    voice_list = voices(24)
    assert len({v.name for v in voice_list}) == 24
    assert len({v.pitch for v in voice_list}) > 5 and len({v.rate for v in voice_list}) > 5


def test_generated_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGE_CACHE_DIR", str(tmp_path))
    first = load_or_synthesize(cache_dir(), voice_count=2, progress=False)
    files = list((tmp_path / "audio_puzzle").glob("espeak_words_*.npz"))
    assert len(files) == 1 and not list((tmp_path / "audio_puzzle").glob(".*.tmp"))
    stamp = files[0].stat().st_mtime_ns
    second = load_or_synthesize(cache_dir(), voice_count=2, progress=False)
    assert files[0].stat().st_mtime_ns == stamp
    assert np.array_equal(first.audio, second.audio) and first.voices == second.voices


def test_held_out_voices_never_speak_in_training(tmp_path):
    report = DataReport()
    splits = AudioModality(AudioConfig(voices=4)).build_datasets(None, tmp_path, report)
    names = {s: {n.split("/")[0] for n in getattr(splits, s).names} for s in ("train", "validation", "test")}
    assert names["train"].isdisjoint(names["validation"] | names["test"])
    assert all(split_of(v) == s for s, vs in names.items() for v in vs)
    assert sum(splits.sizes().values()) == 4 * 35 and splits.train[0].shape == (1, 128, 32)
