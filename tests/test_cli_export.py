"""`sage export` (and `sage show` on a puzzle log) run as a user runs them: real files, real processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_sage
from puzzle_streams import Catalogue

from sage_core.export import read_arc_dir
from sage_core.puzzle_log import LogHeader, PuzzleLogWriter

T0 = 1_764_680_000.0


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """No plugin is needed to export puzzles: load none, so each process starts fast."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    return {**clean, "SAGE_LOAD_PLUGINS": ""}


def write_mic_log(path: Path, catalogue: Catalogue, n: int, torn: bool = False) -> Path:
    header = LogHeader("audio", "audio_puzzle", "2", "mel band (row 0 = lowest)", "time", "unix", {})
    with PuzzleLogWriter(path, header) as writer:
        for i in range(n):
            writer.append("mic", i, T0 + i, T0 + i + 1, catalogue.grid("audio", "mic", i))
    if torn:
        with open(path, "ab") as handle:
            handle.write(b'{"source":"mic","window":')
    return path


def test_export_arc_from_a_puzzle_file_and_a_puzzle_log(env, tmp_path) -> None:
    catalogue = Catalogue()
    npz = catalogue.puzzle([("talk.wav", i) for i in (4, 2, 0, 3, 1, 5, 6)]).save(tmp_path / "talk.npz")
    log = write_mic_log(tmp_path / "mic.jsonl", catalogue, 10)
    out = tmp_path / "arc"
    result = run_sage("export", str(npz), str(log), "--format", "arc", "--task", "next", "--out", str(out),
                      "--examples-per-task", "3", env=env)
    # talk.wav: 6 pairs -> 2 tasks; mic: 9 pairs -> 3 tasks; 20 % of each, rounded: 0 and 1 to evaluation.
    assert "wrote 5 task(s) (4 training, 1 evaluation; 15 example pair(s)) as arc" in result.stdout
    for subset, task in read_arc_dir(out):
        for grid_in, grid_out in task.train + task.test:
            (_, source, index), (_, next_source, next_index) = catalogue.which(grid_in), catalogue.which(grid_out)
            assert (next_source, next_index) == (source, index + 1)
        if subset == "evaluation":
            assert catalogue.which(task.test[-1][1]) == ("audio", "mic", 9)
    manifest = json.loads((out / "sage-export.json").read_text())
    assert manifest["options"]["examples_per_task"] == 3 and len(manifest["tasks"]) == 5


def test_export_hrm_pairs_of_two_modalities(env, tmp_path) -> None:
    catalogue = Catalogue()
    log = write_mic_log(tmp_path / "mic.jsonl", catalogue, 8)
    camera = catalogue.puzzle([("cam", i) for i in range(8)], "vision",
                              times=[(T0 + i + 0.4, T0 + i + 0.4) for i in range(8)]).save(tmp_path / "cam.npz")
    out = tmp_path / "hrm"
    result = run_sage("export", str(log), str(camera), "--format", "hrm", "--task", "pairs", "--out", str(out),
                      "--examples-per-task", "2", "--eval-fraction", "0.25", env=env)
    assert "wrote 4 task(s) (3 training, 1 evaluation; 8 example pair(s)) as hrm" in result.stdout
    train = np.load(out / "train" / "all__inputs.npy", allow_pickle=False)
    test_labels = np.load(out / "test" / "all__labels.npy", allow_pickle=False)
    assert train.shape == (7, 900) and test_labels.shape == (1, 900)  # 3 x 2 + 1 demonstration; 1 question
    assert catalogue.which(test_labels[0].reshape(30, 30) - 2) == ("vision", "cam", 7)
    assert json.loads((out / "identifiers.json").read_text())[0] == "<blank>"


def test_an_existing_folder_is_replaced_only_with_force(env, tmp_path) -> None:
    catalogue = Catalogue()
    npz = catalogue.puzzle([("talk.wav", i) for i in range(6)]).save(tmp_path / "talk.npz")
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    refused = run_sage("export", str(npz), "--out", str(out), env=env, check=False)
    assert refused.returncode == 2
    assert f"sage: error: {out}: exists and is not empty" in refused.stderr and "--force" in refused.stderr
    assert (out / "precious.txt").read_text() == "keep me" and len(list(out.iterdir())) == 1

    run_sage("export", str(npz), "--out", str(out), "--force", env=env)
    assert not (out / "precious.txt").exists() and (out / "training").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "talk.npz"]  # no staging folder left


def test_pairs_of_puzzles_without_times_is_one_clear_error(env, tmp_path) -> None:
    catalogue = Catalogue()
    log = write_mic_log(tmp_path / "mic.jsonl", catalogue, 4)
    untimed = catalogue.puzzle([("cam", i) for i in range(4)], "vision").save(tmp_path / "cam.npz")
    result = run_sage("export", str(log), str(untimed), "--task", "pairs", "--out", str(tmp_path / "out"),
                      env=env, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"sage: error: {untimed}: has no times: --task pairs matches puzzles of two modalities by time "
        "(puzzles from a live stream or a puzzle log carry them)"
    )
    assert not (tmp_path / "out").exists()


def test_a_torn_log_is_exported_and_shown_with_a_warning(env, tmp_path) -> None:
    catalogue = Catalogue()
    log = write_mic_log(tmp_path / "mic.jsonl", catalogue, 5, torn=True)
    warning = f"sage: warning: {log}: line 7 is an incomplete record (its writer was interrupted); skipped it, read 5"
    exported = run_sage("export", str(log), "--out", str(tmp_path / "arc"), env=env)
    assert warning in exported.stderr and "wrote 1 task(s)" in exported.stdout
    shown = run_sage("show", str(log), "--index", "-1", env=env)
    assert warning in shown.stderr
    assert "# mic#4" in shown.stdout and "audio_puzzle v2 (audio)" in shown.stdout


def test_a_task_needs_a_demonstration(env, tmp_path) -> None:
    npz = Catalogue().puzzle([("talk.wav", i) for i in range(6)]).save(tmp_path / "talk.npz")
    result = run_sage("export", str(npz), "--out", str(tmp_path / "out"), "--examples-per-task", "3",
                      "--test-examples", "3", env=env, check=False)
    assert result.returncode == 2 and "leave no demonstration" in result.stderr
    assert not (tmp_path / "out").exists()
