"""``build_datasets`` for the audio puzzle: the embedded eSpeak words or a Speech Commands folder."""

from __future__ import annotations

from pathlib import Path

from sage_core import DataReport, DataSplits, TensorListDataset

from sage_audio_puzzle.config import AudioPuzzleConfig
from sage_audio_puzzle.embedded_data import SPLITS, embedded_inputs, voice_split
from sage_audio_puzzle.speech_commands import load_speech_commands


def embedded_speech_splits(config: AudioPuzzleConfig, cache_dir: Path, report: DataReport) -> DataSplits:
    """The eSpeak words, split by voice (validation/test voices never speak in training)."""
    inputs, names, clips = embedded_inputs(config, cache_dir)
    report.source = (f"embedded eSpeak NG speech ({config.voices} voices x 35 words"
                     + (f", {config.phrases} sentences per training voice" if config.phrases else "")
                     + (f"; {config.augment_copies} augmented copies ({', '.join(config.augment)})" if config.augment else "")
                     + ")")
    datasets = {}
    for name in SPLITS:
        datasets[name] = TensorListDataset(inputs[name], names[name])
        report.count(name, len(inputs[name]))
    report.notes["voices_per_split"] = {name: len({v for v in clips.voices if voice_split(v) == name}) for name in SPLITS}
    return DataSplits(datasets["train"], datasets["validation"], datasets["test"], report)


def speech_commands_splits(config: AudioPuzzleConfig, path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
    """A local Speech Commands v2 folder, split by speaker (the data set's own lists or rule)."""
    if path is None:
        from sage_core import InputError

        raise InputError("--data", "the speech_commands source needs --data PATH (a Speech Commands v2 folder)")
    mels = load_speech_commands(Path(path), cache_dir, report)
    return DataSplits(*(TensorListDataset(mels[s].float()) for s in SPLITS), report=report)


def build_audio_datasets(config: AudioPuzzleConfig, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
    """``data_path`` None -> the embedded default; else a Speech Commands v2 folder."""
    if data_path is None:
        return embedded_speech_splits(config, cache_dir, report)
    return speech_commands_splits(config, data_path, cache_dir, report)
