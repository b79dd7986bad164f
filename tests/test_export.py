"""`sage_core.export`: puzzles to ARC task JSON and HRM arrays, checked against what HRM asserts.

HRM's ARC builder (sapientinc/HRM, dataset/build_arc_dataset.py) reads
``<dir>/<subset>/<name>.json`` and asserts, for every grid, ``ndim == 2``, both sides
<= 30 and every value in 0-9. It reads only the keys ``train``, ``test`` and ``name``
(any other key fails), sends the ``test`` pairs of subset ``evaluation`` to its test
split and everything else to train, and needs at least one example on each side of an
evaluation task. Its arrays: inputs/labels uint8 (N, 900) with PAD 0, EOS 1, colour c as
c + 2; puzzle_identifiers, puzzle_indices and group_indices int32, the indices running
from 0 to N (examples) and to P (puzzles); dataset.json holds PuzzleDatasetMetadata;
identifiers.json lists names with "<blank>" at 0. Its ARC evaluator takes an underscore
in a name as the mark of an augmented copy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from puzzle_streams import Catalogue

from sage_core import InputError, Puzzle, SageError
from sage_core.atomic import staged_directory
from sage_core.export import (
    ExportOptions,
    Grouping,
    export_puzzles,
    load_arc_puzzles,
    read_arc_dir,
    read_arc_task,
)
from sage_core.export.arc import parse_arc_task

METADATA_KEYS = {
    "pad_id", "ignore_label_id", "blank_identifier_id", "vocab_size", "seq_len",
    "num_puzzle_identifiers", "total_groups", "mean_puzzle_examples", "sets",
}


def save(puzzle: Puzzle, path: Path) -> Path:
    return puzzle.save(path)


def shuffled_two_source_files(tmp_path: Path, catalogue: Catalogue, with_times: bool) -> list[Path]:
    """Sources a.wav (13 windows) and b.wav (9 windows), interleaved and shuffled over two files."""
    windows = [("a.wav", i) for i in range(13)] + [("b.wav", i) for i in range(9)]
    order = np.random.default_rng(1).permutation(len(windows))
    shuffled = [windows[i] for i in order]
    times = [(100.0 + 2 * i, 101.0 + 2 * i) for _, i in shuffled] if with_times else None
    half = len(shuffled) // 2
    first = catalogue.puzzle(shuffled[:half], times=times[:half] if times else None)
    second = catalogue.puzzle(shuffled[half:], times=times[half:] if times else None)
    return [save(first, tmp_path / "one.npz"), save(second, tmp_path / "two.npz")]


def arc_examples(out: Path) -> list[tuple[str, str, list, list]]:
    """(subset, task name, train pairs, test pairs) of every exported task file."""
    return [(subset, task.name, list(task.train), list(task.test)) for subset, task in read_arc_dir(out)]


@pytest.mark.parametrize("with_times", [False, True], ids=["by-index", "by-time"])
def test_next_pairs_every_window_with_the_next_one_of_its_own_source(tmp_path, with_times) -> None:
    catalogue = Catalogue()
    files = shuffled_two_source_files(tmp_path, catalogue, with_times)
    out = tmp_path / "arc"
    summary = export_puzzles(files, out, ExportOptions(grouping=Grouping(examples_per_task=4, test_examples=1)))

    seen = []
    for _subset, _name, train, test in arc_examples(out):
        chain = [(catalogue.which(i), catalogue.which(o)) for i, o in train + test]
        for (modality, source, index), (_, next_source, next_index) in chain:
            assert next_source == source and next_index == index + 1
        # Within a task the pairs follow each other, questions last.
        assert [pair[0][2] for pair in chain] == list(range(chain[0][0][2], chain[0][0][2] + len(chain)))
        seen += [(pair[0][1], pair[0][2]) for pair in chain]
    # a.wav: 12 pairs = 3 tasks of 4; b.wav: 8 pairs = 2 tasks of 4. Nothing lost, nothing twice.
    assert sorted(seen) == [("a.wav", i) for i in range(12)] + [("b.wav", i) for i in range(8)]
    assert summary.training + summary.evaluation == 5 and summary.examples == 20


def test_no_next_pair_is_made_across_a_missing_window(tmp_path) -> None:
    catalogue = Catalogue()
    windows = [("mic", i) for i in (0, 1, 2, 3, 4, 6, 7, 8, 9, 10)]
    path = save(catalogue.puzzle(windows), tmp_path / "mic.npz")
    out = tmp_path / "arc"
    summary = export_puzzles([path], out, ExportOptions(grouping=Grouping(4, 1, eval_fraction=0.0)))
    pairs = [(catalogue.which(i)[2], catalogue.which(o)[2]) for *_, train, test in arc_examples(out) for i, o in train + test]
    assert (4, 6) not in pairs and len(pairs) == 8
    assert any("missing window" in note for note in summary.notes)


def test_time_split_keeps_evaluation_after_training_in_every_stream(tmp_path) -> None:
    catalogue = Catalogue()
    files = shuffled_two_source_files(tmp_path, catalogue, with_times=True)
    out = tmp_path / "arc"
    export_puzzles(files, out, ExportOptions(grouping=Grouping(2, 1, split="time", eval_fraction=0.3)))
    latest_training: dict[str, int] = {}
    earliest_evaluation: dict[str, int] = {}
    for subset, _name, train, test in arc_examples(out):
        _, source, index = catalogue.which(train[0][0])
        if subset == "training":
            latest_training[source] = max(latest_training.get(source, -1), catalogue.which(test[-1][1])[2])
        else:
            earliest_evaluation[source] = min(earliest_evaluation.get(source, 99), index)
    # a.wav: 6 tasks -> 2 evaluation; b.wav: 4 tasks -> 1 evaluation (30 %, rounded to nearest).
    assert set(earliest_evaluation) == {"a.wav", "b.wav"}
    for source, first in earliest_evaluation.items():
        assert latest_training[source] <= first
    subsets = [subset for subset, *_ in arc_examples(out)]
    assert subsets.count("evaluation") == 3 and subsets.count("training") == 7


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_source_split_holds_out_whole_streams_whatever_the_file_order(tmp_path) -> None:
    catalogue = Catalogue()
    first = save(catalogue.puzzle([(f"speaker{s}.wav", i) for s in range(3) for i in range(5)]), tmp_path / "1.npz")
    second = save(catalogue.puzzle([(f"speaker{s}.wav", i) for s in range(3, 5) for i in range(5)]), tmp_path / "2.npz")
    options = ExportOptions(grouping=Grouping(2, 1, split="source", eval_fraction=0.4))
    export_puzzles([first, second], tmp_path / "a", options)
    by_source: dict[str, set[str]] = {}
    for subset, _name, train, _test in arc_examples(tmp_path / "a"):
        by_source.setdefault(catalogue.which(train[0][0])[1], set()).add(subset)
    assert len(by_source) == 5 and all(len(subsets) == 1 for subsets in by_source.values())
    assert sum(subsets == {"evaluation"} for subsets in by_source.values()) == 2

    export_puzzles([second, first], tmp_path / "b", options)
    task_files = {k: v for k, v in files_of(tmp_path / "a").items() if k != "sage-export.json"}
    assert task_files == {k: v for k, v in files_of(tmp_path / "b").items() if k != "sage-export.json"}


def test_the_same_export_twice_gives_the_same_bytes(tmp_path) -> None:
    files = shuffled_two_source_files(tmp_path, Catalogue(), with_times=True)
    for fmt in ("arc", "hrm"):
        export_puzzles(files, tmp_path / f"{fmt}1", ExportOptions(format=fmt))
        export_puzzles(files, tmp_path / f"{fmt}2", ExportOptions(format=fmt))
        assert files_of(tmp_path / f"{fmt}1") == files_of(tmp_path / f"{fmt}2")


# ---------------------------------------------------------------- pairs


def audio_and_camera(tmp_path: Path, catalogue: Catalogue, clock: str = "unix") -> tuple[Path, Path]:
    """10 s of 1 s audio windows, and camera snapshots every ~1 s with jitter; one snapshot late."""
    t0 = 1_764_680_000.0
    audio = catalogue.puzzle([("mic", i) for i in range(10)], "audio",
                             times=[(t0 + i, t0 + i + 1) for i in range(10)], clock=clock)
    shots = [0.45, 1.6, 2.5, 3.3, 4.55, 5.5, 6.4, 8.9, 9.5]  # nothing near 7.5: window 7 has no partner
    camera = catalogue.puzzle([("cam", i) for i in range(len(shots))], "vision",
                              times=[(t0 + s, t0 + s) for s in shots], clock=clock)
    # Shuffled order inside the camera file: matching must not depend on it.
    order = np.random.default_rng(2).permutation(len(shots))
    camera = Puzzle(camera.codes[order], camera.meta.select(list(order)))
    return save(audio, tmp_path / "audio.npz"), save(camera, tmp_path / "camera.npz")


def test_pairs_joins_each_window_with_the_other_modality_nearest_in_time(tmp_path) -> None:
    catalogue = Catalogue()
    audio, camera = audio_and_camera(tmp_path, catalogue)
    out = tmp_path / "arc"
    summary = export_puzzles([audio, camera], out, ExportOptions(task="pairs", tolerance=0.3,
                                                                 grouping=Grouping(3, 1, eval_fraction=0.0)))
    matched = {}
    for *_, train, test in arc_examples(out):
        for grid_in, grid_out in train + test:
            (m_in, _, i), (m_out, _, shot) = catalogue.which(grid_in), catalogue.which(grid_out)
            assert (m_in, m_out) == ("audio", "vision")
            matched[i] = shot
    # Audio window i spans [i, i+1) s: midpoint i + 0.5. Window 7 (7.5) is 1.1 s from the nearest snapshot
    # and window 8 (8.5) 0.4 s from 8.9: both beyond 0.3 s, so neither pairs.
    assert matched == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 9: 8}
    assert any("2 audio puzzle(s) had no vision puzzle within 0.3 s" in note for note in summary.notes)


def test_pairs_refuses_puzzles_without_times_naming_the_file(tmp_path) -> None:
    catalogue = Catalogue()
    audio, _camera = audio_and_camera(tmp_path, catalogue)
    untimed = save(catalogue.puzzle([("cam", i) for i in range(3)], "vision"), tmp_path / "untimed.npz")
    with pytest.raises(InputError, match=r"untimed\.npz: has no times: --task pairs matches"):
        export_puzzles([audio, untimed], tmp_path / "out", ExportOptions(task="pairs"))
    assert not (tmp_path / "out").exists()


def test_pairs_refuses_two_clocks_and_a_single_modality(tmp_path) -> None:
    catalogue = Catalogue()
    audio, _ = audio_and_camera(tmp_path, catalogue, clock="unix")
    (tmp_path / "other").mkdir()
    _, camera = audio_and_camera(tmp_path / "other", catalogue, clock="source")
    with pytest.raises(SageError, match="different clocks"):
        export_puzzles([audio, camera], tmp_path / "out", ExportOptions(task="pairs"))
    with pytest.raises(SageError, match="needs puzzles of two modalities; these files hold only audio"):
        export_puzzles([audio], tmp_path / "out", ExportOptions(task="pairs"))


# ---------------------------------------------------------------- ARC files


def test_arc_files_meet_what_hrms_builder_asserts(tmp_path) -> None:
    files = shuffled_two_source_files(tmp_path, Catalogue(), with_times=True)
    out = tmp_path / "arc"
    export_puzzles(files, out, ExportOptions(format="arc"))
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["evaluation", "training"]
    paths = sorted(out.glob("*/*.json"))
    assert len(paths) == 5
    for path in paths:
        data = json.loads(path.read_text())
        assert set(data) == {"train", "test"}, path
        assert data["train"] and data["test"], path
        assert "_" not in path.stem
        for example in data["train"] + data["test"]:
            assert set(example) == {"input", "output"}
            for grid in (example["input"], example["output"]):
                array = np.array(grid)
                assert array.ndim == 2 and array.shape == (30, 30)
                assert array.dtype.kind == "i" and array.min() >= 0 and array.max() <= 9


def test_arc_json_round_trips_exactly_through_puzzles(tmp_path) -> None:
    catalogue = Catalogue()
    files = shuffled_two_source_files(tmp_path, catalogue, with_times=True)
    out = tmp_path / "arc"
    export_puzzles(files, out, ExportOptions(format="arc"))
    for path in sorted(out.glob("*/*.json")):
        puzzles = load_arc_puzzles(path)
        assert puzzles.to_task().to_json().encode() == path.read_bytes()
        # The grids come back with the metadata of the puzzles they were drawn from.
        inputs = puzzles.train_inputs
        assert inputs.meta.compressor_id == "audio_puzzle" and inputs.meta.clock == "unix"
        for k, source in enumerate(inputs.meta.sources):
            _, name, index = catalogue.which(inputs.codes[k])
            assert source == f"{name}#{index}"
            assert inputs.meta.times[k] == (100.0 + 2 * index, 101.0 + 2 * index)


def test_any_valid_arc_file_of_30x30_grids_keeps_its_grids(tmp_path) -> None:
    rng = np.random.default_rng(3)
    grids = rng.integers(0, 10, size=(6, 30, 30))
    foreign = {
        "name": "from-elsewhere",
        "test": [{"input": grids[4].tolist(), "output": grids[5].tolist()}],
        "train": [{"input": grids[0].tolist(), "output": grids[1].tolist()},
                  {"input": grids[2].tolist(), "output": grids[3].tolist()}],
    }
    path = tmp_path / "task.json"
    path.write_text(json.dumps(foreign, indent=3))
    puzzles = load_arc_puzzles(path)
    assert puzzles.name == "from-elsewhere" and len(puzzles.train_inputs) == 2 and len(puzzles.test_outputs) == 1
    again = parse_arc_task(json.loads(puzzles.to_task().to_json()), puzzles.name, "again")
    grids_again = [grid for pair in again.train + again.test for grid in pair]
    assert len(grids_again) == 6
    assert all(np.array_equal(a, b) for a, b in zip(grids_again, grids))


@pytest.mark.parametrize(
    ("grid_change", "problem"),
    [
        (lambda g: g[:29], "train example 1 output: grid is 29x30; sage puzzles are 30x30"),
        (lambda g: [row[:10] for row in g], "grid is 30x10"),
        (lambda g: [g[0] + [1]] + g[1:], "30 rows of widths 30..31"),
        (lambda g: [[10] + g[0][1:]] + g[1:], "grid holds 10; values must be ints 0-9"),
        (lambda g: [[1.5] + g[0][1:]] + g[1:], "grid holds 1.5"),
    ],
)
def test_a_grid_that_is_not_a_puzzle_is_refused_naming_the_file(tmp_path, grid_change, problem) -> None:
    grid = np.zeros((30, 30), dtype=int).tolist()
    data = {"train": [{"input": grid, "output": grid}, {"input": grid, "output": grid_change(grid)}],
            "test": [{"input": grid, "output": grid}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=problem) as caught:
        read_arc_task(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- HRM arrays


def test_hrm_arrays_meet_hrms_schema_and_hold_the_arc_tasks(tmp_path) -> None:
    files = shuffled_two_source_files(tmp_path, Catalogue(), with_times=True)
    options = dict(grouping=Grouping(3, 1, eval_fraction=0.3))
    export_puzzles(files, tmp_path / "arc", ExportOptions(format="arc", **options))
    export_puzzles(files, tmp_path / "hrm", ExportOptions(format="hrm", **options))
    hrm = tmp_path / "hrm"

    identifiers = json.loads((hrm / "identifiers.json").read_text())
    tasks = read_arc_dir(tmp_path / "arc")
    assert identifiers[0] == "<blank>" and sorted(identifiers[1:]) == sorted(t.name for _, t in tasks)
    assert len(set(identifiers)) == len(identifiers)

    # What HRM's builder makes of the ARC folder with num_aug=0: a training task is one puzzle of all
    # its pairs (train split); an evaluation task gives its demonstrations to the train split and its
    # questions to the test split, under the same identifier.
    expected: dict[str, dict[str, list]] = {"train": {}, "test": {}}
    for subset, task in tasks:
        if subset == "evaluation":
            expected["train"][task.name] = list(task.train)
            expected["test"][task.name] = list(task.test)
        else:
            expected["train"][task.name] = list(task.train) + list(task.test)

    for split in ("train", "test"):
        folder = hrm / split
        arrays = {f: np.load(folder / f"all__{f}.npy", allow_pickle=False)
                  for f in ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")}
        inputs, labels = arrays["inputs"], arrays["labels"]
        identifiers_of_puzzles = arrays["puzzle_identifiers"]
        puzzle_indices, group_indices = arrays["puzzle_indices"], arrays["group_indices"]
        n, p = len(inputs), len(identifiers_of_puzzles)
        assert inputs.dtype == labels.dtype == np.uint8 and inputs.shape == labels.shape == (n, 900)
        for index_array in (identifiers_of_puzzles, puzzle_indices, group_indices):
            assert index_array.dtype == np.int32
        # Full 30x30 grids: no PAD (0), no EOS (1), every code c stored as c + 2.
        assert inputs.min() >= 2 and inputs.max() <= 11 and labels.min() >= 2 and labels.max() <= 11
        assert puzzle_indices[0] == 0 and puzzle_indices[-1] == n and np.all(np.diff(puzzle_indices) > 0)
        assert group_indices[0] == 0 and group_indices[-1] == p and np.all(np.diff(group_indices) > 0)
        assert len(puzzle_indices) == p + 1
        assert np.all((identifiers_of_puzzles >= 1) & (identifiers_of_puzzles < len(identifiers)))

        metadata = json.loads((folder / "dataset.json").read_text())
        assert set(metadata) == METADATA_KEYS
        assert (metadata["seq_len"], metadata["vocab_size"], metadata["pad_id"]) == (900, 12, 0)
        assert (metadata["ignore_label_id"], metadata["blank_identifier_id"]) == (0, 0)
        assert metadata["num_puzzle_identifiers"] == len(identifiers)
        assert metadata["total_groups"] == len(group_indices) - 1 and metadata["sets"] == ["all"]
        assert metadata["mean_puzzle_examples"] == pytest.approx(n / p)

        got = {}
        for k in range(p):
            rows = range(puzzle_indices[k], puzzle_indices[k + 1])
            got[identifiers[identifiers_of_puzzles[k]]] = [
                ((inputs[r] - 2).reshape(30, 30), (labels[r] - 2).reshape(30, 30)) for r in rows
            ]
        assert sorted(got) == sorted(expected[split])
        for name, pairs in expected[split].items():
            assert len(got[name]) == len(pairs)
            for (a, b), (c, d) in zip(got[name], pairs):
                assert np.array_equal(a, c) and np.array_equal(b, d)
    assert len(expected["test"]) > 0


# ---------------------------------------------------------------- all or nothing


def test_a_failed_export_leaves_no_folder_and_keeps_an_old_one(tmp_path) -> None:
    good = shuffled_two_source_files(tmp_path, Catalogue(), with_times=False)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a puzzle file")
    with pytest.raises(InputError, match="bad.npz"):
        export_puzzles([*good, bad], tmp_path / "new", ExportOptions())
    assert not (tmp_path / "new").exists()

    export_puzzles(good, tmp_path / "old", ExportOptions())
    before = files_of(tmp_path / "old")
    with pytest.raises(InputError, match="bad.npz"):
        export_puzzles([*good, bad], tmp_path / "old", ExportOptions(force=True))
    assert files_of(tmp_path / "old") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "old", "one.npz", "two.npz"]


def test_a_folder_being_built_is_not_seen_until_complete(tmp_path) -> None:
    target = tmp_path / "out"
    (target / "keep").mkdir(parents=True)
    (target / "keep" / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with staged_directory(target, force=True) as staging:
            (staging / "half.txt").write_text("half")
            assert not (target / "half.txt").exists()
            raise RuntimeError("disk full")
    assert files_of(target) == {"keep/old.txt": b"old"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with staged_directory(target, force=True) as staging:
        (staging / "new.txt").write_text("new")
    assert files_of(target) == {"new.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
