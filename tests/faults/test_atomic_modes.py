"""Atomic writes give files the mode a plain ``open(path, "w")`` would, not mkstemp's private 0o600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from sage_core import Puzzle, PuzzleMeta
from sage_core.atomic import write_json_atomic, write_text_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """``umask(value)`` for this test; the process's own umask is restored after it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_new_files_and_folders_follow_the_umask(mask, umask, tmp_path) -> None:
    umask(mask)
    plain = tmp_path / "plain.txt"
    with open(plain, "w") as handle:
        handle.write("x")
    atomic = write_text_atomic(tmp_path / "new" / "deeper" / "atomic.txt", "x")
    assert _mode(atomic) == _mode(plain) == 0o666 & ~mask
    assert _mode(atomic.parent) == _mode(atomic.parent.parent) == 0o777 & ~mask
    puzzle = Puzzle(np.zeros((30, 30), np.uint8), PuzzleMeta("audio", "a", "1")).save(tmp_path / "p.npz")
    assert _mode(puzzle) == 0o666 & ~mask


def test_replacing_a_file_keeps_its_mode(umask, tmp_path) -> None:
    umask(0o022)
    path = write_json_atomic(tmp_path / "state.json", {"step": 1})
    path.chmod(0o640)
    write_json_atomic(path, {"step": 2})
    assert _mode(path) == 0o640 and '"step": 2' in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left behind
