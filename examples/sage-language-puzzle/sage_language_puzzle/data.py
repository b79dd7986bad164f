"""Windows of text for training, split by source so held-out text is really unseen.

The embedded default is the stdlib docstring corpus, split by top-level module
(``email.message`` and ``email.parser`` land in the same split). A user's folder of
``*.txt`` files is split by file. Each source is cut into consecutive windows; its last
window is short and padded with ``END``. The training split gets extra windows cut short
at random lengths, so the model learns where text ends.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from sage_core import SPLITS, DataReport, DataSplits, InputError, TensorListDataset, split_of
from sage_language_puzzle.config import LanguageConfig
from sage_language_puzzle.corpus import cached_corpus
from sage_language_puzzle.text import END, read_text_bytes, windows_from_bytes


def _cut_short(windows: Tensor, fraction: float, seed: int = 0) -> Tensor:
    """``fraction * len(windows)`` copies of random windows, each ended at a random length."""
    count = int(round(fraction * len(windows)))
    if count == 0:
        return windows[:0]
    generator = torch.Generator().manual_seed(seed)
    picked = windows[torch.randint(len(windows), (count,), generator=generator)].clone()
    lengths = torch.randint(0, windows.shape[1], (count, 1), generator=generator)
    picked[torch.arange(windows.shape[1]).expand_as(picked) >= lengths] = END
    return picked


def _splits_from_sources(sources: dict[str, tuple[str, bytes]], config: LanguageConfig, report: DataReport) -> DataSplits:
    """``{source name: (split, bytes)}`` -> DataSplits of ``(N, window_bytes)`` windows."""
    window = config.window_bytes
    parts: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    for name in sorted(sources):
        split, data = sources[name]
        parts[split].append(windows_from_bytes(data, window))
    tensors = {
        split: torch.cat(parts[split]) if parts[split] else torch.zeros(0, window, dtype=torch.int64)
        for split in SPLITS
    }
    tensors["train"] = torch.cat([tensors["train"], _cut_short(tensors["train"], config.short_window_fraction)])
    report.notes["window_bytes"] = window
    report.notes["sources_per_split"] = {s: sum(1 for v in sources.values() if v[0] == s) for s in SPLITS}
    return DataSplits.from_datasets({split: TensorListDataset(tensors[split]) for split in SPLITS}, report)


def stdlib_splits(config: LanguageConfig, cache_dir: Path, report: DataReport) -> DataSplits:
    corpus = cached_corpus(cache_dir)
    report.source = f"Python standard library docstrings ({len(corpus)} modules), split by top-level module"
    sources = {
        name: (split_of(name.split(".")[0]), text.encode("utf-8")) for name, text in corpus.items()
    }
    return _splits_from_sources(sources, config, report)


def text_folder_splits(config: LanguageConfig, root: Path, report: DataReport) -> DataSplits:
    """Every ``*.txt`` under ``root``, split by path; unreadable files are reported, not used."""
    files = sorted(Path(root).rglob("*.txt"))
    if not files:
        raise InputError(root, "no *.txt files found")
    report.source = f"text files under {root}, split by file"
    sources = {}
    for file in files:
        key = file.relative_to(root).as_posix()
        split = split_of(key)
        try:
            sources[key] = (split, read_text_bytes(file))
        except InputError as exc:
            report.skip(file, exc.problem, split)
    if not any(split == "train" for split, _ in sources.values()):
        raise InputError(root, "no readable text file fell into the training split")
    return _splits_from_sources(sources, config, report)
