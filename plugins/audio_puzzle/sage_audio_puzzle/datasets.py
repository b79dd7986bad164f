"""``build_datasets`` for the audio puzzle: the embedded eSpeak words or a Speech Commands folder."""

from __future__ import annotations

from pathlib import Path

import torch

from sage_core import DataReport, DataSplits, TensorListDataset, split_of

from sage_audio_puzzle.config import AudioPuzzleConfig
from sage_audio_puzzle.embedded_speech import as_float, load_or_synthesize
from sage_audio_puzzle.frontend import log_mel_db
from sage_audio_puzzle.speech_commands import SPLITS, load_speech_commands


def voice_split(voice: str) -> str:
    """A stable 10% validation / 10% test / 80% train assignment of a voice name."""
    return split_of(voice, (0.1, 0.1))


def embedded_speech_splits(config: AudioPuzzleConfig, cache_dir: Path, report: DataReport) -> DataSplits:
    """The eSpeak words, split by voice (validation/test voices never speak in training)."""
    clips = load_or_synthesize(cache_dir, config.voices)
    report.source = f"embedded eSpeak NG speech ({config.voices} voices x 35 words)"
    split = [voice_split(voice) for voice in clips.voices]
    mels = torch.cat([log_mel_db(as_float(clips.audio[i : i + 512])) for i in range(0, len(clips.audio), 512)])
    datasets = {}
    for name in SPLITS:
        index = torch.tensor([i for i, s in enumerate(split) if s == name], dtype=torch.long)
        datasets[name] = TensorListDataset(mels[index], [f"{clips.voices[i]}/{clips.words[i]}" for i in index.tolist()])
        report.count(name, len(index))
    report.notes["voices_per_split"] = {name: len({v for v, s in zip(clips.voices, split) if s == name}) for name in SPLITS}
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
