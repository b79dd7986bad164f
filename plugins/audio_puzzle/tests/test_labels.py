"""Word labels of the audio data: aligned with the clips, kept by the caches, shown in the data report."""

from __future__ import annotations

import json

import torch

from sage_core import DataReport, labels_of

from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.embedded_speech import WORDS
from sage_audio_puzzle.modality import AudioModality


def test_embedded_words_are_labelled_by_the_word_spoken_in_every_split(tmp_path):
    first, again = DataReport(), DataReport()
    splits = AudioModality(AudioConfig(voices=4)).build_datasets(None, tmp_path, first)
    cached = AudioModality(AudioConfig(voices=4)).build_datasets(None, tmp_path, again)  # from the cache now
    assert splits.classes == WORDS
    for split in ("train", "validation", "test"):
        dataset = splits.split(split)
        labels = labels_of(dataset)
        assert labels is not None and len(labels) == len(dataset)
        assert [WORDS[i] for i in labels.tolist()] == [name.split("/")[1] for name in dataset.names]
        assert torch.equal(labels, labels_of(cached.split(split)))
        voices = len({name.split("/")[0] for name in dataset.names})
        assert first.class_counts.get(split, {word: 0 for word in WORDS}) == {word: voices for word in WORDS}
    written = json.loads(json.dumps(first.as_dict()))
    assert written["classes"] == list(WORDS) and written == again.as_dict() | {"notes": written["notes"]}
