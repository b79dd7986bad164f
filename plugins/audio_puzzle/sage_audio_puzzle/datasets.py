"""The audio data sets: the embedded eSpeak words (labelled by word) or a Speech Commands folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from sage_core import SPLITS, DataReport, DataSplits, InputError, TensorListDataset, split_of

from sage_audio_puzzle.embedded_speech import WORDS, as_float, load_or_synthesize
from sage_audio_puzzle.frontend import log_mel_db
from sage_audio_puzzle.speech_commands import load_speech_commands

if TYPE_CHECKING:  # pragma: no cover
    from sage_audio_puzzle.modality import AudioModality


def embedded_speech_splits(modality: AudioModality, cache_dir: Path, report: DataReport) -> DataSplits:
    """The eSpeak words, split by voice (validation/test voices never speak in training).

    Each clip is labelled with its word (one of the 35 Speech Commands words).
    """
    voices = modality.config.voices
    clips = load_or_synthesize(cache_dir, voices)
    report.source = f"embedded eSpeak NG speech ({voices} voices x {len(WORDS)} words)"
    split = [split_of(voice) for voice in clips.voices]
    mels = torch.cat([log_mel_db(as_float(clips.audio[i : i + 512])) for i in range(0, len(clips.audio), 512)])
    labels = torch.tensor([WORDS.index(word) for word in clips.words])
    datasets = {}
    for name in SPLITS:
        index = torch.tensor([i for i, s in enumerate(split) if s == name], dtype=torch.long)
        names = [f"{clips.voices[i]}/{clips.words[i]}" for i in index.tolist()]
        datasets[name] = TensorListDataset(mels[index], names, labels[index])
    report.notes["voices_per_split"] = {name: len({v for v, s in zip(clips.voices, split) if s == name}) for name in SPLITS}
    return DataSplits.from_datasets(datasets, report, classes=WORDS)


def speech_commands_splits(modality: AudioModality, path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
    """A local Speech Commands v2 folder, split by speaker (the data set's own lists or rule).

    Each clip is labelled with its word (its folder); the classes are the word folders, sorted.
    """
    if path is None:
        raise InputError("--data", "the speech_commands source needs --data PATH (a Speech Commands v2 folder)")
    data = load_speech_commands(Path(path), cache_dir, report)
    datasets = {s: TensorListDataset(data.mels[s].float(), labels=data.labels[s]) for s in SPLITS}
    return DataSplits.from_datasets(datasets, report, classes=data.classes)
