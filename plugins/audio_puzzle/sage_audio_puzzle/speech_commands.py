"""A local Speech Commands v2 folder -> log-mel tensors split by speaker.

Layout: ``root/<word>/<speaker>_nohash_<n>.wav``; ``validation_list.txt`` and
``testing_list.txt`` (relative paths) are authoritative; without them the data set's own
sha1 rule assigns each speaker to a split. Folders starting with ``_`` are not words.
Each clip is labelled with its word (the folder name); the classes are the word folders in
sorted order, the same in every split. Unreadable files are skipped and reported with path
and reason, never replaced by silence. The log-mels and labels of a folder are computed
once and cached (keyed by the recipe version, the file list and sizes).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from sage_core import SPLITS, DataReport, InputError, cached_arrays

from sage_audio_puzzle.frontend import fit_to_window, log_mel_db, read_audio

_MAX_PERCENTAGE = 2**27 - 1
#: Bump when what a cache holds changes, so older caches are rebuilt (2: word labels).
CACHE_RECIPE = 2


@dataclass
class SpeechCommandsData:
    """Per split: log-mels ``(N, 1, 128, 32)`` float16 dB and labels ``(N,)``; ``classes`` names them."""

    mels: dict[str, Tensor]
    labels: dict[str, Tensor]
    classes: tuple[str, ...]


def word_of(relative_path: str) -> str:
    """The word a clip speaks: its folder, ``yes/0a7c2a8d_nohash_0.wav`` -> ``yes``."""
    return relative_path.split("/", 1)[0]


def split_by_hash(relative_path: str) -> str:
    """The data set README's rule: the speaker part of the name, sha1, 10% / 10% / 80%."""
    speaker = re.sub(r"_nohash_.*$", "", Path(relative_path).name)
    percentage = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % (_MAX_PERCENTAGE + 1)) * (100.0 / _MAX_PERCENTAGE)
    if percentage < 10:
        return "validation"
    if percentage < 20:
        return "test"
    return "train"


def list_clips(root: Path) -> list[tuple[str, str]]:
    """Every ``(relative path, split)`` of a word clip under ``root``, sorted."""
    listed: dict[str, str] = {}
    lists = {"validation": root / "validation_list.txt", "test": root / "testing_list.txt"}
    use_lists = all(path.exists() for path in lists.values())
    if use_lists:
        for split, path in lists.items():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    listed[line.strip().replace("\\", "/")] = split
    clips = []
    for wav in sorted(root.glob("*/*.wav")):
        if wav.parent.name.startswith("_"):
            continue
        relative = wav.relative_to(root).as_posix()
        split = listed.get(relative, "train") if use_lists else split_by_hash(relative)
        clips.append((relative, split))
    return clips


def _cache_path(root: Path, clips: list[tuple[str, str]], cache_dir: Path) -> Path:
    digest = hashlib.sha1(f"recipe {CACHE_RECIPE}\n{root.resolve()}".encode())
    for relative, split in clips:
        digest.update(f"{relative}\t{split}\t{(root / relative).stat().st_size}\n".encode())
    return Path(cache_dir) / "audio_puzzle" / f"speech_commands_{digest.hexdigest()[:16]}.npz"


def load_speech_commands(root: Path, cache_dir: Path, report: DataReport, batch: int = 512) -> SpeechCommandsData:
    """Log-mels and word labels per split; skipped files are in ``report`` (and the cache)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "is not a folder (expected a Speech Commands v2 root)")
    clips = list_clips(root)
    if not clips:
        raise InputError(root, "holds no <word>/*.wav files (expected the Speech Commands v2 layout)")
    report.source = f"Speech Commands folder {root}"
    report.notes["split_rule"] = "lists" if (root / "validation_list.txt").exists() else "sha1 of speaker"
    classes = tuple(sorted({word_of(relative) for relative, _ in clips}))

    def build() -> dict[str, np.ndarray]:
        scratch = DataReport()
        mels, labels = _compute(root, clips, classes, scratch, batch)
        skipped = np.array([[s.path, s.reason, s.split] for s in scratch.skipped], dtype=str).reshape(-1, 3)
        return {"skipped": skipped, "classes": np.array(classes, dtype=str),
                **{s: mels[s].numpy() for s in SPLITS}, **{f"labels_{s}": labels[s].numpy() for s in SPLITS}}

    arrays = cached_arrays(_cache_path(root, clips, cache_dir), build, report)
    for path, reason, split in arrays["skipped"].tolist():
        report.skip(path, reason, split)
    return SpeechCommandsData(mels={split: torch.from_numpy(arrays[split]) for split in SPLITS},
                              labels={split: torch.from_numpy(arrays[f"labels_{split}"]) for split in SPLITS},
                              classes=tuple(str(word) for word in arrays["classes"].tolist()))


def _compute(root: Path, clips: list[tuple[str, str]], classes: tuple[str, ...], report: DataReport,
             batch: int) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """Log-mels ``(N, 1, 128, 32)`` float16 and labels ``(N,)`` per split, of the clips that could be read."""
    from rich.progress import Progress

    waves: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    mels: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    labels: dict[str, list[int]] = {split: [] for split in SPLITS}
    with Progress(transient=True) as bar:
        task = bar.add_task("reading Speech Commands (once, then cached)", total=len(clips))
        for relative, split in clips:
            try:
                waves[split].append(fit_to_window(read_audio(root / relative)))
                labels[split].append(classes.index(word_of(relative)))
            except InputError as exc:
                report.skip(root / relative, exc.problem, split)
            if len(waves[split]) >= batch:
                mels[split].append(log_mel_db(torch.stack(waves[split])).half())
                waves[split] = []
            bar.advance(task)
    for split in SPLITS:
        if waves[split]:
            mels[split].append(log_mel_db(torch.stack(waves[split])).half())
    stacked = {s: torch.cat(mels[s]) if mels[s] else torch.zeros(0, 1, 128, 32, dtype=torch.float16) for s in SPLITS}
    return stacked, {s: torch.tensor(labels[s], dtype=torch.int64) for s in SPLITS}
