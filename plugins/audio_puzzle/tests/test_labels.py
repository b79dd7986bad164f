"""Word labels of the audio data: aligned with the clips, kept by the caches, shown in the data report."""

from __future__ import annotations

import json

import torch

from sage_core import NO_LABEL, DataReport, labels_of

from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.embedded_speech import WORDS
from sage_audio_puzzle.modality import AudioModality

#: Few voices and sentences, one augmented copy: every kind of sample, quickly.
SMALL = AudioConfig(voices=4, phrases=1, augment_copies=1)


def test_embedded_words_are_labelled_by_the_word_spoken_in_every_split(tmp_path):
    first, again = DataReport(), DataReport()
    splits = AudioModality(SMALL).build_datasets(None, tmp_path, first)
    cached = AudioModality(SMALL).build_datasets(None, tmp_path, again)  # from the cache now
    assert splits.classes == WORDS
    for split in ("train", "validation", "test"):
        dataset = splits.split(split)
        labels = labels_of(dataset)
        assert labels is not None and len(labels) == len(dataset)
        for name, label in zip(dataset.names, labels.tolist()):
            spoken = name.split("/", 1)[1].split("~")[0]  # "voice/word" or "voice/word~copy"
            assert (WORDS[label] == spoken) if spoken in WORDS else label == NO_LABEL, (name, label)
        assert torch.equal(labels, labels_of(cached.split(split)))
        words = sum(1 for name in dataset.names if name.split("/", 1)[1].split("~")[0] in WORDS)
        assert sum(first.class_counts[split].values()) == words
        assert first.no_class_counts.get(split, 0) == len(dataset) - words
    assert first.no_class_counts["train"] > 0  # the sentence windows: no single word
    written = json.loads(json.dumps(first.as_dict()))
    assert written["classes"] == list(WORDS) and written["class_counts"] == again.as_dict()["class_counts"]
