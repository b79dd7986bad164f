"""ARC task JSON: the format of ARC-AGI, read by HRM's ARC dataset builder.

One task per file ``<dir>/<subset>/<name>.json``::

    {"train": [{"input": G, "output": G}, ...], "test": [{"input": G, "output": G}, ...]}

where a grid ``G`` is a list of rows of ints 0-9. Our puzzles are 30x30 grids of codes
0-9, so each puzzle is one grid as it is (row 0 first; no transform, no colour mapping).
The files hold only ``train`` and ``test``: HRM's builder fails on any other key but
``name``, and the file name already is the task's name.

Writing is canonical (``json.dumps`` with its default separators, keys ``train`` then
``test``, a final newline), so reading a file we wrote and writing it again gives the same
bytes. Reading accepts any valid ARC file whose grids are 30x30; anything else is refused
with one line naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sage_core.errors import InputError

GRID_SIZE = 30
MANIFEST_NAME = "sage-export.json"
Pair = tuple[Any, Any]  # (input, output): (30, 30) uint8 grids


@dataclass(frozen=True)
class ArcTask:
    """One task: demonstration pairs (``train``) and question pairs (``test``)."""

    name: str
    train: tuple[Pair, ...]
    test: tuple[Pair, ...]

    def to_json(self) -> str:
        def pairs(items: tuple[Pair, ...]) -> list[dict[str, Any]]:
            return [{"input": grid_in.tolist(), "output": grid_out.tolist()} for grid_in, grid_out in items]

        return json.dumps({"train": pairs(self.train), "test": pairs(self.test)}) + "\n"


def _grid(value: Any, where: str) -> Any:
    import numpy as np

    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise InputError(where, "a grid must be a list of rows (lists of ints 0-9)")
    shape = f"{len(value)}x{len(value[0]) if value else 0}"
    if len(value) != GRID_SIZE or any(len(row) != GRID_SIZE for row in value):
        widths = sorted({len(row) for row in value})
        if len(widths) > 1:
            shape = f"{len(value)} rows of widths {widths[0]}..{widths[-1]}"
        raise InputError(where, f"grid is {shape}; sage puzzles are 30x30")
    cells = [cell for row in value for cell in row]
    if not all(type(cell) is int and 0 <= cell <= 9 for cell in cells):
        bad = next(cell for cell in cells if not (type(cell) is int and 0 <= cell <= 9))
        raise InputError(where, f"grid holds {bad!r}; values must be ints 0-9")
    return np.array(value, dtype=np.uint8)


def parse_arc_task(data: Any, name: str, where: str) -> ArcTask:
    """An :class:`ArcTask` from a parsed ARC JSON object; ``where`` names the file in errors."""
    if not isinstance(data, dict):
        raise InputError(where, "an ARC task must be a JSON object with 'train' and 'test'")
    parts = {}
    for part in ("train", "test"):
        examples = data.get(part)
        if not isinstance(examples, list):
            raise InputError(where, f"'{part}' must be a list of {{\"input\": grid, \"output\": grid}}")
        pairs = []
        for number, example in enumerate(examples):
            here = f"{where}: {part} example {number}"
            if not isinstance(example, dict) or "input" not in example or "output" not in example:
                raise InputError(here, "needs both 'input' and 'output' grids")
            pairs.append((_grid(example["input"], f"{here} input"), _grid(example["output"], f"{here} output")))
        parts[part] = tuple(pairs)
    return ArcTask(str(data.get("name", name)), parts["train"], parts["test"])


def read_arc_task(path: str | Path) -> ArcTask:
    """Read one ARC task file (name: the file's stem, or its ``name`` key)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a readable ARC task JSON file ({exc})") from None
    except RecursionError:  # nested deeper than Python's stack: no ARC task is
        raise InputError(path, "not a readable ARC task JSON file (nested too deeply)") from None
    return parse_arc_task(data, path.stem, str(path))


def read_arc_dir(directory: str | Path) -> list[tuple[str, ArcTask]]:
    """Every task under ``directory/<subset>/*.json`` as (subset, task), in name order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(directory, "not a directory of ARC subsets (training/, evaluation/)")
    found = []
    for subset in sorted(p for p in directory.iterdir() if p.is_dir()):
        for path in sorted(subset.glob("*.json")):
            found.append((subset.name, read_arc_task(path)))
    return found


# ---------------------------------------------------------------- puzzles


@dataclass(frozen=True)
class ArcTaskPuzzles:
    """A task's four grid lists as puzzles, each (n, 30, 30) with its own metadata."""

    name: str
    train_inputs: Any
    train_outputs: Any
    test_inputs: Any
    test_outputs: Any

    def to_task(self) -> ArcTask:
        def pairs(inputs: Any, outputs: Any) -> tuple[Pair, ...]:
            return tuple(zip(inputs.as_batch(), outputs.as_batch()))

        return ArcTask(self.name, pairs(self.train_inputs, self.train_outputs), pairs(self.test_inputs, self.test_outputs))


def _generic_meta(name: str, role: str, count: int) -> Any:
    from sage_core.puzzle import PuzzleMeta

    return PuzzleMeta("arc", "arc-task", "1", sources=tuple(f"{name}:{role}#{i}" for i in range(count)))


def _manifest_meta(manifest: dict[str, Any], refs: list[dict[str, Any]]) -> Any:
    """The metadata of the puzzles an export drew these grids from (sources, times, model)."""
    from sage_core.puzzle import PuzzleMeta

    model = manifest["models"][refs[0]["model"]]
    times = tuple(tuple(ref["time"]) for ref in refs) if all(ref.get("time") for ref in refs) else ()
    return replace(
        PuzzleMeta(
            modality=model["modality"],
            compressor_id=model["compressor_id"],
            compressor_version=model["compressor_version"],
            rows=model["rows"],
            cols=model["cols"],
            extra=model.get("extra", {}),
        ),
        sources=tuple(ref["source"] for ref in refs),
        times=times,
        clock=model["clock"] if times else "",
    )


def task_puzzles(task: ArcTask, manifest: dict[str, Any] | None = None) -> ArcTaskPuzzles:
    """The task's grids as puzzles; with an export manifest, with their original metadata."""
    import numpy as np

    from sage_core.puzzle import Puzzle

    entry = None
    if manifest is not None:
        entry = next((t for t in manifest.get("tasks", ()) if t["name"] == task.name), None)
    puzzles = []
    for part in ("train", "test"):
        pairs = getattr(task, part)
        for side, role in ((0, "input"), (1, "output")):
            grids = np.stack([pair[side] for pair in pairs]) if pairs else np.zeros((0, GRID_SIZE, GRID_SIZE), np.uint8)
            refs = [example[side] for example in entry[part]] if entry is not None else []
            meta = _manifest_meta(manifest, refs) if refs else _generic_meta(task.name, f"{part}-{role}", len(pairs))
            puzzles.append(Puzzle(grids, meta))
    return ArcTaskPuzzles(task.name, *puzzles)


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(path, f"unreadable export manifest ({exc or type(exc).__name__})") from None
    if not isinstance(manifest, dict):
        raise InputError(path, "unreadable export manifest (not a JSON object)")
    return manifest


def load_arc_puzzles(path: str | Path) -> ArcTaskPuzzles:
    """One ARC task file as puzzles; inside a ``sage export`` folder, with the puzzles' metadata.

    So a model's answer in ARC form can go back to ``sage decode`` (e.g. to hear the
    predicted next second of audio).
    """
    path = Path(path)
    task = read_arc_task(path)
    return task_puzzles(task, read_manifest(path.parent.parent))


def write_arc_tasks(directory: Path, tasks: list[tuple[str, ArcTask]]) -> list[Path]:
    """Write each (subset, task) to ``directory/<subset>/<name>.json``, atomically."""
    from sage_core.atomic import write_text_atomic

    return [write_text_atomic(directory / subset / f"{task.name}.json", task.to_json()) for subset, task in tasks]
