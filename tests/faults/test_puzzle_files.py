"""Hostile puzzle files through `sage show` and `sage decode`: one clear line each, no traceback,
and nothing allocated for what a header merely declares."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_sage

from sage_core import InputError, Puzzle, PuzzleMeta

META = {"modality": "audio", "compressor_id": "audio_puzzle", "compressor_version": "2"}


def write_npz(path: Path, codes: np.ndarray, meta: object) -> Path:
    """A puzzle-shaped .npz with any codes and any metadata JSON (np.savez, no pickle)."""
    np.savez(path, codes=codes, meta=np.array(meta if isinstance(meta, str) else json.dumps(meta)))
    return path


def npy_with_header(header: dict[str, object], data: bytes) -> bytes:
    """An .npy member whose header says whatever ``header`` says, followed by ``data``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def write_declaring(path: Path, shape: tuple[int, ...], descr: str = "|u1") -> Path:
    """A 1 KB puzzle file whose 'codes' header declares ``shape`` (the data is 900 bytes)."""
    meta = io.BytesIO()
    np.save(meta, np.array(json.dumps(META)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("codes.npy", npy_with_header({"descr": descr, "fortran_order": False, "shape": shape},
                                                      bytes(900)))
        archive.writestr("meta.npy", meta.getvalue())
    return path


def hostile_puzzle_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each planted file with a phrase its one error line must contain."""
    codes = np.zeros((2, 30, 30), np.uint8)
    (folder / "empty.npz").write_bytes(b"")
    (folder / "text.npz").write_text("codes = [[1, 2, 3]]\nthis is a text file\n")
    return {
        "empty": (folder / "empty.npz", "empty (0 bytes)"),
        "text": (folder / "text.npz", "not a zip archive"),
        "meta is a list": (write_npz(folder / "meta-list.npz", codes, [1, 2]), "expected a JSON object"),
        "meta is a string": (write_npz(folder / "meta-str.npz", codes, '"just a string"'), "expected a JSON object"),
        "meta is not JSON": (write_npz(folder / "meta-bad.npz", codes, "{not json"), "invalid puzzle metadata"),
        "sources are numbers": (write_npz(folder / "src-int.npz", codes, {**META, "sources": [1, 2]}),
                                "'sources' must be a list of strings"),
        "sources is one string": (write_npz(folder / "src-str.npz", codes, {**META, "sources": "ab"}),
                                  "'sources' must be a list of strings"),
        "times are numbers": (write_npz(folder / "times-flat.npz", codes, {**META, "times": [1, 2]}),
                              "'times'[0] must be a [start, end] pair"),
        "times are text": (write_npz(folder / "times-text.npz", codes, {**META, "times": [["a", "b"], [0, 1]]}),
                           "'times'[0] must be a [start, end] pair"),
        "times are NaN": (write_npz(folder / "times-nan.npz", codes, {**META, "times": [[0, float("nan")], [1, 2]]}),
                          "must be finite"),
        "zero puzzles": (write_npz(folder / "zero.npz", np.zeros((0, 30, 30), np.uint8), META), "holds no puzzles"),
        "header declares 10**8 puzzles": (write_declaring(folder / "huge.npz", (10**8, 30, 30)), "declares 100000000 puzzles"),
        "header declares what 1 KB cannot hold": (write_declaring(folder / "big.npz", (1_000_000, 30, 30)),
                                                  "more than the"),
        "header declares 10**12 cells": (write_declaring(folder / "cells.npz", (10**6, 10**6)), "must have shape"),
        "header declares objects": (write_declaring(folder / "objects.npz", (1, 30, 30), "|O"), "must hold numbers"),
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    files = hostile_puzzle_files(tmp_path_factory.mktemp("puzzles"))
    assert set(files) == set(CASES)
    return files


CASES = [
    "empty", "text", "meta is a list", "meta is a string", "meta is not JSON", "sources are numbers",
    "sources is one string", "times are numbers", "times are text", "times are NaN", "zero puzzles",
    "header declares 10**8 puzzles", "header declares what 1 KB cannot hold", "header declares 10**12 cells",
    "header declares objects",
]


@pytest.mark.parametrize("case", CASES)
def test_sage_show_refuses_a_hostile_puzzle_file_in_one_line(case, planted, cli_env, one_error_line) -> None:
    path, phrase = planted[case]
    line = one_error_line(run_sage("show", str(path), env=cli_env, check=False), path)
    assert phrase in line, line


def test_sage_decode_refuses_a_hostile_puzzle_file_before_decoding(planted, audio_run, cli_env, one_error_line,
                                                                    tmp_path) -> None:
    for case in ("empty", "sources are numbers", "header declares 10**8 puzzles"):
        path, phrase = planted[case]
        result = run_sage("decode", str(audio_run), str(path), "--out", str(tmp_path / "out.wav"), env=cli_env,
                          check=False)
        assert phrase in one_error_line(result, path)
        assert not (tmp_path / "out.wav").exists()


def test_a_declared_shape_is_refused_without_allocating_it(planted, reads_safely) -> None:
    """Under the worker's address-space cap, numpy's np.load would die allocating 83.8 GB."""
    for case in ("header declares 10**8 puzzles", "header declares what 1 KB cannot hold"):
        path, _ = planted[case]
        assert reads_safely("puzzle", path)["outcome"] == "sage_error"


def test_valid_puzzles_still_round_trip_with_sources_and_times(tmp_path) -> None:
    meta = PuzzleMeta("audio", "audio_puzzle", "2", sources=("a.wav#0", "a.wav#1"), times=((0.0, 1.0), (1.0, 2.0)),
                      clock="source", extra={"note": [1, 2]})
    for codes in (np.arange(1800).reshape(2, 30, 30) % 10, np.ones((30, 30), np.int64)):
        puzzle = Puzzle(codes, meta if codes.ndim == 3 else PuzzleMeta("audio", "audio_puzzle", "2"))
        assert Puzzle.load(puzzle.save(tmp_path / "p.npz")) == puzzle
    fortran = tmp_path / "fortran.npz"
    grid = np.asfortranarray((np.arange(900).reshape(30, 30) % 10).astype(np.uint8))
    write_npz(fortran, grid, META)
    assert np.array_equal(Puzzle.load(fortran).codes, grid)


def test_a_truncated_puzzle_file_names_the_damage(tmp_path) -> None:
    path = Puzzle(np.zeros((40, 30, 30), np.uint8), PuzzleMeta(**META)).save(tmp_path / "p.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="p.npz: not a readable puzzle .npz file"):
        Puzzle.load(path)
