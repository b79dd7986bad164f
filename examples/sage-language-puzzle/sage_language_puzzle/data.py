"""Windows of text for training, split by source so held-out text is really unseen.

The embedded default is the stdlib docstring corpus, split by top-level module
(``email.message`` and ``email.parser`` land in the same split); it is unlabelled, since a
module name cannot be a class shared by the splits. A user's folder of ``*.txt`` files is
split by file; in ``root/<class>/*.txt`` each window is labelled with its sub-folder. Each
source is cut into consecutive windows; its last window is short and padded with ``END``.
The training split gets extra windows cut short at random lengths, so the model learns
where text ends.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from sage_core import SPLITS, DataReport, DataSplits, InputError, TensorListDataset, split_of
from sage_language_puzzle.config import LanguageConfig
from sage_language_puzzle.corpus import cached_corpus
from sage_language_puzzle.text import END, read_text_bytes, windows_from_bytes


def _cut_short(windows: Tensor, fraction: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``fraction * len(windows)`` copies of random windows, each ended at a random length,
    and the index of the window each copies."""
    count = int(round(fraction * len(windows)))
    if count == 0:
        return windows[:0], torch.zeros(0, dtype=torch.int64)
    generator = torch.Generator().manual_seed(seed)
    index = torch.randint(len(windows), (count,), generator=generator)
    picked = windows[index].clone()
    lengths = torch.randint(0, windows.shape[1], (count, 1), generator=generator)
    picked[torch.arange(windows.shape[1]).expand_as(picked) >= lengths] = END
    return picked, index


def _splits_from_sources(sources: dict[str, tuple[str, bytes]], config: LanguageConfig, report: DataReport,
                         classes: tuple[str, ...] | None = None) -> DataSplits:
    """``{source name: (split, bytes)}`` -> DataSplits of ``(N, window_bytes)`` windows.

    With ``classes``, a source named ``<class>/...`` labels all its windows with that class.
    """
    window = config.window_bytes
    parts: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    labels: dict[str, list[int]] = {split: [] for split in SPLITS}
    for name in sorted(sources):
        split, data = sources[name]
        parts[split].append(windows_from_bytes(data, window))
        if classes is not None:
            labels[split] += [classes.index(name.split("/", 1)[0])] * len(parts[split][-1])
    tensors = {
        split: torch.cat(parts[split]) if parts[split] else torch.zeros(0, window, dtype=torch.int64)
        for split in SPLITS
    }
    short, copied = _cut_short(tensors["train"], config.short_window_fraction)
    tensors["train"] = torch.cat([tensors["train"], short])
    labels["train"] += [labels["train"][i] for i in copied.tolist()] if classes is not None else []
    report.notes["window_bytes"] = window
    report.notes["sources_per_split"] = {s: sum(1 for v in sources.values() if v[0] == s) for s in SPLITS}
    datasets = {split: TensorListDataset(tensors[split], labels=labels[split] if classes is not None else None)
                for split in SPLITS}
    return DataSplits.from_datasets(datasets, report, classes=classes)


def stdlib_splits(config: LanguageConfig, cache_dir: Path, report: DataReport) -> DataSplits:
    corpus = cached_corpus(cache_dir)
    report.source = f"Python standard library docstrings ({len(corpus)} modules), split by top-level module"
    sources = {name: (split_of(name.split(".")[0]), text.encode("utf-8")) for name, text in corpus.items()}
    return _splits_from_sources(sources, config, report)


def text_folder_splits(config: LanguageConfig, root: Path, report: DataReport) -> DataSplits:
    """Every ``*.txt`` under ``root``, split by path; unreadable files are reported, not used.

    When every file lies in a sub-folder, the sub-folder names (sorted) are the classes.
    """
    files = sorted(Path(root).rglob("*.txt"))
    if not files:
        raise InputError(root, "no *.txt files found")
    report.source = f"text files under {root}, split by file"
    folders = {file.relative_to(root).parts[0] for file in files if len(file.relative_to(root).parts) > 1}
    labelled = all(len(file.relative_to(root).parts) > 1 for file in files)
    classes = tuple(sorted(folders)) if labelled else None
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
    return _splits_from_sources(sources, config, report, classes)
