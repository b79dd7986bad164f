"""The embedded eSpeak NG default: real synthesis of a few clips, its cache and its split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from sage_core import DataReport, cache_dir, split_of

from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.embedded_data import NO_WORD, embedded_inputs
from sage_audio_puzzle.embedded_speech import WORDS, load_or_synthesize, synthesize_clips, voices
from sage_audio_puzzle.modality import AudioModality


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
    config = AudioConfig(voices=4)  # the default recipe: sentences and augmented copies too
    report = DataReport()
    splits = AudioModality(AudioConfig(voices=4)).build_datasets(None, tmp_path, report)
    names = {s: {n.split("/")[0] for n in getattr(splits, s).names} for s in ("train", "validation", "test")}
    assert names["train"].isdisjoint(names["validation"] | names["test"])
    assert all(split_of(v) == s for s, vs in names.items() for v in vs)
    held_out = len(splits.validation) + len(splits.test)
    assert held_out == 35 * len(names["validation"] | names["test"]), "held-out splits: the 35 clean words"
    train_words = 35 * len(names["train"])
    assert len(splits.train) > (1 + config.augment_copies) * train_words, "words, sentences and their copies"
    assert splits.train[0].shape == (1, 128, 32) and "sentences" in report.source


def test_synthesis_is_byte_identical_in_two_fresh_processes():
    # eSpeak NG draws from libc rand() (the whisper and f-variants jitter): each call runs a
    # fresh process with srand seeded, so repeated calls must give the very same bytes.
    first = synthesize_clips(4, words=("yes", "house"), phrases=1, progress=False)
    second = synthesize_clips(4, words=("yes", "house"), phrases=1, progress=False)
    assert first.audio.dtype == np.int16 and len(first.audio) >= 4 * 3
    assert first.audio.tobytes() == second.audio.tobytes() and first.words == second.words
    other_seed = synthesize_clips(4, words=("yes", "house"), phrases=1, seed=1, progress=False)
    assert other_seed.audio.tobytes() != first.audio.tobytes()


def test_sentences_become_windows_of_continuous_speech():
    clips = synthesize_clips(2, words=(), phrases=2, progress=False)
    assert clips.is_phrase().all() and len(clips.audio) >= 4
    audio = clips.audio.astype(np.float32) / 32767
    frames = audio.reshape(len(audio), 10, 1600)  # 0.1 s frames
    speaking = np.sqrt((frames**2).mean(axis=2)) > 0.01
    assert speaking.mean() > 0.6, "a sentence window is mostly speech, not a word in silence"


def test_cache_is_keyed_by_the_synthesis_recipe(tmp_path):
    words_only = load_or_synthesize(tmp_path, voice_count=4, progress=False)
    with_sentences = load_or_synthesize(tmp_path, voice_count=4, progress=False, phrases=1)
    assert len(list((tmp_path / "audio_puzzle").glob("espeak_words_*.npz"))) == 2
    assert not words_only.is_phrase().any() and with_sentences.is_phrase().any()
    speakers = {v for v, phrase in zip(with_sentences.voices, with_sentences.is_phrase()) if phrase}
    assert all(split_of(v) == "train" for v in speakers), "held-out voices speak only the 35 words"


def test_augmented_copies_join_training_only_and_are_reproducible(tmp_path):
    clean = AudioConfig(voices=8, phrases=0, augment=[])
    recipe = AudioConfig(voices=8, phrases=0, augment=["noise", "reverb"], augment_copies=2)
    base, _, _, _ = embedded_inputs(clean, tmp_path, progress=False)
    first, names, labels, _ = embedded_inputs(recipe, tmp_path, progress=False)
    again, _, _, _ = embedded_inputs(recipe, tmp_path, progress=False)
    assert torch.equal(first["test"], base["test"]) and torch.equal(first["validation"], base["validation"])
    assert len(first["train"]) == 3 * len(base["train"]) == len(names["train"])
    assert torch.equal(first["train"][: len(base["train"])], base["train"]), "the clean clips stay in"
    assert torch.equal(first["train"], again["train"]), "the same recipe and seed, the same data"
    words = len(base["train"])
    assert torch.equal(labels["train"][words:2 * words], labels["train"][:words]), "a copy keeps its clip's word"
    reseeded, _, _, _ = embedded_inputs(recipe.model_copy(update={"augment_seed": 1}), tmp_path, progress=False)
    assert not torch.equal(reseeded["train"], first["train"])
    copies = first["train"][len(base["train"]):]
    quietest = lambda x: x.flatten(1).quantile(0.05, dim=1).median()  # noqa: E731
    assert quietest(copies) > quietest(base["train"]) + 3, "the copies have a noise floor above the clean one"


def test_word_clips_are_labelled_by_word_and_sentences_by_none(tmp_path):
    splits = AudioModality(AudioConfig(voices=4, phrases=1, augment=[])).build_datasets(None, tmp_path, DataReport())
    assert splits.classes == WORDS
    train_names, train_labels = splits.train.names, splits.train.labels.tolist()
    for name, label in zip(train_names, train_labels):
        word = name.split("/")[1]
        assert label == (NO_WORD if word.startswith("phrase") else WORDS.index(word)), name
    assert NO_WORD in train_labels and NO_WORD not in splits.test.labels.tolist()


def test_unknown_augmentation_ingredients_are_refused_by_the_config():
    with pytest.raises(ValidationError, match="unknown augmentation ingredient"):
        AudioConfig(augment=["reverb", "echo"])
    assert AudioConfig(augment=["gain", "noise"]).augment == ["noise", "gain"]
