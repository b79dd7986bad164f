"""Damaged and failed runs through the real CLI: every damaged file is one line naming it, a failed
resume leaves a run as it was, a run at its limit trains no step, a damaged log line or summary
does not block a resume for good.

The commands run in processes forked from a warmed-up interpreter (``warm_sage``): each is the
real ``sage`` entry point in its own process, without paying seconds of imports per command.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

#: The toy run finished its 2 epochs at step 8: one more epoch allowed, one more step taken.
RESUME_ONE_MORE = ("-o", "train.epochs=3", "--max-steps", "9", "--no-evaluate")


def last(run: Path) -> str:
    return (run / "checkpoints" / "last").read_text().strip()


def truncate(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def edit_json(path: Path, change: Callable[[dict], object]) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def point_both(run: Path, text: bytes) -> Path:
    """Both pointers hold ``text``; the line names the one its command reads (resume: last, the others: best)."""
    for name in ("best", "last"):
        (run / "checkpoints" / name).write_bytes(text)
    return run / "checkpoints"


#: Damage -> (plant it: returns the file the line must name, the commands that must refuse in one line,
#: a phrase of that line). Each command is the run's own: resume, evaluate, encode or compare.
DAMAGES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...], str]] = {
    "trainer state truncated": (lambda r: truncate(r / "checkpoints" / f"{last(r)}.state.pt"), ("resume",),
                                "unreadable trainer state"),
    "trainer state replaced by text": (
        lambda r: (r / "checkpoints" / f"{last(r)}.state.pt").write_text("hello") and r / "checkpoints" / f"{last(r)}.state.pt",
        ("resume",), "unreadable trainer state"),
    "weights truncated": (lambda r: truncate(r / "checkpoints" / f"{last(r)}.safetensors"),
                          ("resume", "evaluate", "encode"), "unreadable weights"),
    "weights header tampered": (
        lambda r: (r / "checkpoints" / f"{last(r)}.safetensors").write_bytes(
            b"\xff" * 16 + (r / "checkpoints" / f"{last(r)}.safetensors").read_bytes()[16:])
        and r / "checkpoints" / f"{last(r)}.safetensors",
        ("resume", "encode"), "unreadable weights"),
    "pointer names a missing checkpoint": (lambda r: point_both(r, b"step-00000099\n"), ("resume", "encode"),
                                           "step-00000099"),
    "pointer names a path outside": (lambda r: point_both(r, b"../../other/checkpoints/step-00000008\n"),
                                     ("resume", "encode", "evaluate"), "not a checkpoint pointer"),
    "pointer is binary garbage": (lambda r: point_both(r, b"\xff\x00\xfe\n"), ("resume", "encode"),
                                  "not a checkpoint pointer"),
    "config.json without compressor_id": (lambda r: edit_json(r / "config.json", lambda d: d.pop("compressor_id")),
                                          ("resume", "evaluate", "encode", "compare"), "compressor_id: Field required"),
    "config.json config of the wrong type": (
        lambda r: edit_json(r / "config.json", lambda d: d.__setitem__("config", "abc")),
        ("resume", "evaluate", "encode", "compare"), "config: Input should be a valid dictionary"),
    "config.json value of the wrong type": (
        lambda r: edit_json(r / "config.json", lambda d: d["config"].__setitem__("channels", "many")),
        ("resume", "evaluate", "encode"), "does not fit toy_puzzle"),
    "config.json not JSON": (lambda r: (r / "config.json").write_text("{oops") and r / "config.json",
                             ("resume", "evaluate", "encode", "compare"), "unreadable"),
    "summary.json not JSON": (lambda r: (r / "summary.json").write_text("{") and r / "summary.json",
                              ("evaluate", "compare"), "unreadable"),
    "summary.json of the wrong type": (lambda r: edit_json(r / "summary.json", lambda d: d.__setitem__("status", 5)),
                                       ("evaluate", "compare"), "not a valid summary.json"),
}


def commands(run: Path, fields: Path) -> dict[str, tuple[str, ...]]:
    return {
        "resume": ("train", "--resume", str(run), *RESUME_ONE_MORE),
        "evaluate": ("evaluate", str(run)),
        "encode": ("encode", str(run), str(fields), "--out", str(run.parent / "p.npz")),
        "compare": ("compare", str(run)),
    }


@pytest.fixture
def fields(tmp_path: Path) -> Path:
    path = tmp_path / "fields.npy"
    np.save(path, np.random.default_rng(0).random((2, 30, 30)).astype(np.float32))
    return path


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_run_file_is_one_line_naming_it(damage, toy_copy, fields, warm_sage, one_error_line, snapshot) -> None:
    plant, refusing, phrase = DAMAGES[damage]
    damaged = plant(toy_copy)
    before = snapshot(toy_copy)
    for name in refusing:
        result = warm_sage.run(*commands(toy_copy, fields)[name], check=False)
        assert phrase in one_error_line(result, damaged), (name, result.stderr)
    assert not (toy_copy.parent / "p.npz").exists()
    assert snapshot(toy_copy) == before  # a refused command changes nothing


def test_a_damaged_summary_does_not_block_a_resume(toy_copy, fields, warm_sage) -> None:
    (toy_copy / "summary.json").write_text("{")
    warm_sage.run("encode", str(toy_copy), str(fields), "--out", str(toy_copy.parent / "p.npz"))  # needs no summary
    result = warm_sage.run("train", "--resume", str(toy_copy), *RESUME_ONE_MORE)
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith(f"sage: warning: {toy_copy / 'summary.json'}: unreadable")
    assert json.loads((toy_copy / "summary.json").read_text())["steps"] == 9


def test_damaged_metrics_lines_are_dropped_and_reported_not_fatal(toy_copy, warm_sage) -> None:
    """One bad line must not block a resume for good: it is named, left out, and the resume goes on."""
    metrics = toy_copy / "metrics.jsonl"
    good = metrics.read_text().splitlines()
    metrics.write_text("\n".join(["garbage", *good, '{"step": "x"}', "[1]", '{"split": "train", "step": 8, "lo'])
                       + "\n")
    warm_sage.run("compare", str(toy_copy))  # reading skips them
    result = warm_sage.run("train", "--resume", str(toy_copy), *RESUME_ONE_MORE)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"sage: warning: {metrics}: line(s) 1, {len(good) + 2}")
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]  # every line a record again
    assert [row["step"] for row in rows][: len(good)] == [json.loads(line)["step"] for line in good]
    assert max(row["step"] for row in rows) == 9
    again = warm_sage.run("train", "--resume", str(toy_copy), "--max-steps", "10", "--no-evaluate")
    assert not again.stderr.strip()  # nothing left to drop


def test_a_failed_resume_leaves_a_finished_run_as_it_was_and_findable(toy_copy, fields, warm_sage, snapshot,
                                                                     one_error_line, tmp_path) -> None:
    """A failed resume used to rewrite summary.json as failed: the run vanished from `sage encode ID`."""
    before = snapshot(toy_copy)
    for failing in (("--data", str(tmp_path / "nothing-here")), ("--source", "toy_npy_folder")):
        result = warm_sage.run("train", "--resume", str(toy_copy), "--no-evaluate", *failing, check=False)
        one_error_line(result, "--data" if failing[0] == "--source" else failing[1])
        assert snapshot(toy_copy) == before
    found = warm_sage.run("encode", "toy_puzzle", str(fields), "--out", str(tmp_path / "p.npz"),
                          "--runs-root", str(toy_copy.parent))
    assert "wrote 2 puzzle(s)" in found.stdout


def test_resuming_a_run_at_its_limit_trains_no_step(toy_copy, warm_sage, snapshot) -> None:
    """A run resumed with a step limit it had already passed used to train one more step ("step 9/2")."""
    checkpoints = {k: v for k, v in snapshot(toy_copy).items() if k.startswith("checkpoints/")}
    result = warm_sage.run("train", "--resume", str(toy_copy), "-o", "train.epochs=3", "--max-steps", "2",
                           "--no-evaluate")  # epochs left to train, steps not
    assert not [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert {k: v for k, v in snapshot(toy_copy).items() if k.startswith("checkpoints/")} == checkpoints
    rows = [json.loads(line) for line in (toy_copy / "metrics.jsonl").read_text().splitlines()]
    assert max(row["step"] for row in rows) == 8
    assert json.loads((toy_copy / "summary.json").read_text())["steps"] == 8


def test_a_new_run_that_fails_before_its_first_checkpoint_leaves_no_folder(warm_sage, one_error_line,
                                                                           tmp_path) -> None:
    """It used to leave a folder that demanded --resume of the next attempt."""
    run = tmp_path / "run"
    result = warm_sage.run("train", "toy_puzzle", "--data", str(tmp_path / "nothing-here"), "--out", str(run),
                           check=False)
    one_error_line(result, tmp_path / "nothing-here")
    assert not run.exists()
    warm_sage.run("train", "toy_puzzle", "--out", str(run), "--max-steps", "1", "--no-evaluate", "-o",
                  "modality.train_samples=16", "-o", "modality.eval_samples=4", "-o", "train.batch_size=8")
    assert json.loads((run / "summary.json").read_text())["steps"] == 1
