"""The audio data sets: the embedded eSpeak words (labelled by word) or a Speech Commands folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sage_core import SPLITS, DataReport, DataSplits, InputError, TensorListDataset, split_of

from sage_audio_puzzle.embedded_data import embedded_inputs
from sage_audio_puzzle.embedded_speech import WORDS
from sage_audio_puzzle.speech_commands import load_speech_commands

if TYPE_CHECKING:  # pragma: no cover
    from sage_audio_puzzle.modality import AudioModality


def embedded_speech_splits(modality: AudioModality, cache_dir: Path, report: DataReport) -> DataSplits:
    """The eSpeak words (and training sentences), split by voice: held-out voices never speak in training.

    Each word clip is labelled with its word (one of the 35 Speech Commands words); sentence
    windows carry the label -1 (no single word).
    """
    config = modality.config
    inputs, names, labels, clips = embedded_inputs(config, cache_dir)
    report.source = (f"embedded eSpeak NG speech ({config.voices} voices x {len(WORDS)} words"
                     + (f", {config.phrases} sentences per training voice" if config.phrases else "")
                     + (f"; {config.augment_copies} augmented copies ({', '.join(config.augment)})" if config.augment else "")
                     + ")")
    datasets = {name: TensorListDataset(inputs[name], names[name], labels[name]) for name in SPLITS}
    report.notes["voices_per_split"] = {name: len({v for v in clips.voices if split_of(v) == name}) for name in SPLITS}
    return DataSplits.from_datasets(datasets, report, classes=WORDS)


def speech_commands_splits(modality: AudioModality, path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
    """A local Speech Commands v2 folder, split by speaker (the data set's own lists or rule)."""
    if path is None:
        raise InputError("--data", "the speech_commands source needs --data PATH (a Speech Commands v2 folder)")
    mels = load_speech_commands(Path(path), cache_dir, report)
    return DataSplits.from_datasets({s: TensorListDataset(mels[s].float()) for s in SPLITS}, report)
