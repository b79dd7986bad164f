"""HRM's puzzle-dataset arrays, written directly (what its ARC builder makes with ``num_aug=0``).

Layout under the output folder::

    identifiers.json                 names of puzzle identifiers; index 0 is "<blank>"
    train/ test/                     one folder per split, each with
      dataset.json                   PuzzleDatasetMetadata (keys below)
      all__inputs.npy                uint8 (N, 900): the input grid of each example
      all__labels.npy                uint8 (N, 900): its answer grid
      all__puzzle_identifiers.npy    int32 (P,): each puzzle's identifier
      all__puzzle_indices.npy        int32 (P + 1,): puzzle p is examples [i[p], i[p+1]); 0 .. N
      all__group_indices.npy         int32 (G + 1,): group g is puzzles [j[g], j[g+1]); 0 .. P

A grid is flattened row-major to 900 tokens: PAD 0, EOS 1, code c -> c + 2 (vocab 12). A
full 30x30 grid has no PAD and no EOS. Without augmentation each group holds one puzzle
(G == P). As in HRM's builder, a ``training`` task is one puzzle of the train split with
all its examples (demonstrations and questions); an ``evaluation`` task gives the train
split a puzzle of its demonstrations and the test split a puzzle of its questions, under
the same identifier.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage_core.export.arc import ArcTask, Pair

PAD_ID = 0
EOS_ID = 1
CODE_OFFSET = 2
VOCAB_SIZE = 12
SEQ_LEN = 900
BLANK_IDENTIFIER = "<blank>"
SET_NAME = "all"
SPLITS = ("train", "test")


@dataclass
class HrmSplit:
    """One split's arrays (see the module docstring for shapes and meaning)."""

    inputs: Any
    labels: Any
    puzzle_identifiers: Any
    puzzle_indices: Any
    group_indices: Any

    def metadata(self, num_identifiers: int) -> dict[str, Any]:
        """The keys of HRM's ``PuzzleDatasetMetadata``, as its ARC builder fills them."""
        examples, puzzles = len(self.inputs), len(self.puzzle_identifiers)
        return {
            "pad_id": PAD_ID,
            "ignore_label_id": PAD_ID,
            "blank_identifier_id": 0,
            "vocab_size": VOCAB_SIZE,
            "seq_len": SEQ_LEN,
            "num_puzzle_identifiers": num_identifiers,
            "total_groups": len(self.group_indices) - 1,
            "mean_puzzle_examples": examples / puzzles if puzzles else 0.0,
            "sets": [SET_NAME],
        }


def encode_grids(grids: list[Any]) -> Any:
    """(30, 30) code grids -> uint8 (N, 900) tokens, code c as c + 2."""
    import numpy as np

    if not grids:
        return np.zeros((0, SEQ_LEN), dtype=np.uint8)
    return (np.stack(grids).reshape(len(grids), SEQ_LEN).astype(np.uint8) + CODE_OFFSET).astype(np.uint8)


def _build_split(puzzles: list[tuple[int, tuple[Pair, ...]]]) -> HrmSplit:
    import numpy as np

    inputs, labels, identifiers, puzzle_indices = [], [], [], [0]
    for identifier, pairs in puzzles:
        inputs += [pair[0] for pair in pairs]
        labels += [pair[1] for pair in pairs]
        identifiers.append(identifier)
        puzzle_indices.append(len(inputs))
    return HrmSplit(
        inputs=encode_grids(inputs),
        labels=encode_grids(labels),
        puzzle_identifiers=np.array(identifiers, dtype=np.int32),
        puzzle_indices=np.array(puzzle_indices, dtype=np.int32),
        group_indices=np.arange(len(identifiers) + 1, dtype=np.int32),  # one puzzle per group
    )


def build_hrm(tasks: list[tuple[str, ArcTask]]) -> tuple[list[str], dict[str, HrmSplit]]:
    """Identifier names and the ``train``/``test`` splits for (subset, task) pairs, in that order."""
    identifiers = [BLANK_IDENTIFIER]
    train: list[tuple[int, tuple[Pair, ...]]] = []
    test: list[tuple[int, tuple[Pair, ...]]] = []
    for subset, task in tasks:
        identifiers.append(task.name)
        identifier = len(identifiers) - 1
        if subset == "evaluation":
            train.append((identifier, task.train))
            test.append((identifier, task.test))
        else:
            train.append((identifier, task.train + task.test))
    return identifiers, {"train": _build_split(train), "test": _build_split(test)}


def _npy_bytes(array: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_hrm(directory: Path, tasks: list[tuple[str, ArcTask]]) -> dict[str, HrmSplit]:
    """Write the HRM dataset for (subset, task) pairs under ``directory``, every file atomically."""
    from sage_core.atomic import write_bytes_atomic, write_text_atomic

    identifiers, splits = build_hrm(tasks)
    for name, split in splits.items():
        folder = directory / name
        for field in ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices"):
            write_bytes_atomic(folder / f"{SET_NAME}__{field}.npy", _npy_bytes(getattr(split, field)))
        write_text_atomic(folder / "dataset.json", json.dumps(split.metadata(len(identifiers))) + "\n")
    write_text_atomic(directory / "identifiers.json", json.dumps(identifiers) + "\n")
    return splits
