"""The Puzzle type: validation, lossless save/load without pickle, rendering."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sage_core import InputError, Puzzle, PuzzleMeta
from sage_core.puzzle import PALETTE, concatenate

META = PuzzleMeta("audio", "audio_puzzle", "1", rows="mel band (row 0 = lowest)", cols="time")


def random_codes(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, size=shape, dtype=np.uint8)


@pytest.mark.parametrize(
    ("codes", "problem"),
    [
        (np.zeros((30, 29), dtype=np.uint8), "shape"),
        (np.zeros((2, 3, 30, 30), dtype=np.uint8), "shape"),
        (np.full((30, 30), 10, dtype=np.int64), "0-9"),
        (np.full((30, 30), -1, dtype=np.int64), "0-9"),
        (np.full((30, 30), np.nan), "NaN"),
        (np.full((30, 30), 1.5), "whole numbers"),
        (np.array([["a"] * 30] * 30), "dtype"),
    ],
)
def test_invalid_codes_get_a_clear_error(codes: np.ndarray, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        Puzzle(codes, META)


def test_save_load_is_lossless_and_keeps_metadata(tmp_path) -> None:
    meta = PuzzleMeta(**{**META.__dict__, "sources": ("a.wav#0", "a.wav#1", "b.wav#0")})
    puzzle = Puzzle(random_codes(3, 30, 30), meta)
    path = puzzle.save(tmp_path / "p.npz")
    loaded = Puzzle.load(path)
    assert loaded == puzzle
    assert loaded.codes.dtype == np.uint8
    assert loaded.meta.rows.startswith("mel band")
    # The format is plain arrays: numpy opens it with pickle disabled.
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"codes", "meta"}


def test_loading_a_bad_file_names_it(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="bad.npz"):
        Puzzle.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, something=np.zeros(3))
    with pytest.raises(InputError, match="not a puzzle file"):
        Puzzle.load(other)
    with pytest.raises(InputError, match="no such file"):
        Puzzle.load(tmp_path / "missing.npz")


def test_out_of_range_codes_in_a_file_are_rejected(tmp_path) -> None:
    path = tmp_path / "tampered.npz"
    np.savez(path, codes=np.full((30, 30), 12, dtype=np.uint8), meta=np.array(META.to_json()))
    with pytest.raises(InputError, match="tampered.npz"):
        Puzzle.load(path)


def test_text_rendering_is_digits_row_by_row() -> None:
    codes = np.zeros((30, 30), dtype=np.uint8)
    codes[0, :3] = [1, 2, 3]
    codes[29, 29] = 9
    lines = Puzzle(codes, META).to_text().splitlines()
    assert len(lines) == 30 and all(len(line) == 30 for line in lines)
    assert lines[0].startswith("123000") and lines[29].endswith("09")


def test_png_uses_the_fixed_palette(tmp_path) -> None:
    codes = np.arange(900).reshape(30, 30) % 10
    paths = Puzzle(codes, META).save_png(tmp_path / "p.png", cell=4)
    image = np.asarray(Image.open(paths[0]).convert("RGB"))
    assert image.shape == (120, 120, 3)
    for code in range(10):
        row, col = divmod(int(np.flatnonzero(codes == code)[0]), 30)
        assert tuple(image[row * 4, col * 4]) == PALETTE[code]


def test_batch_png_writes_one_file_per_puzzle(tmp_path) -> None:
    paths = Puzzle(random_codes(3, 30, 30), META).save_png(tmp_path / "p.png")
    assert [p.name for p in paths] == ["p-0000.png", "p-0001.png", "p-0002.png"]
    assert all(p.exists() for p in paths)


def test_indexing_and_concatenation_keep_sources() -> None:
    a = Puzzle(random_codes(2, 30, 30, seed=1), PuzzleMeta(**{**META.__dict__, "sources": ("a#0", "a#1")}))
    b = Puzzle(random_codes(30, 30, seed=2), PuzzleMeta(**{**META.__dict__, "sources": ("b#0",)}))
    joined = concatenate([a, b])
    assert len(joined) == 3 and joined.meta.sources == ("a#0", "a#1", "b#0")
    assert np.array_equal(joined[2].codes, b.codes) and joined[1].meta.sources == ("a#1",)
    other = Puzzle(random_codes(30, 30), PuzzleMeta("vision", "vision_puzzle", "1"))
    with pytest.raises(ValueError, match="different compressors"):
        concatenate([a, other])


def test_times_survive_save_load_indexing_and_concatenation(tmp_path) -> None:
    meta = PuzzleMeta(**{**META.__dict__, "sources": ("mic#0", "mic#1"), "times": ((0.0, 1.0), (0.25, 1.25)),
                         "clock": "unix"})
    puzzle = Puzzle(random_codes(2, 30, 30), meta)
    loaded = Puzzle.load(puzzle.save(tmp_path / "p.npz"))
    assert loaded == puzzle and loaded.meta.times == ((0.0, 1.0), (0.25, 1.25))
    assert loaded[-1].meta.times == ((0.25, 1.25),) and loaded[-1].meta.sources == ("mic#1",)
    joined = concatenate([loaded, loaded[0]])
    assert joined.meta.times == ((0.0, 1.0), (0.25, 1.25), (0.0, 1.0)) and joined.meta.clock == "unix"
    with pytest.raises(InputError, match="1 times for 2 puzzles"):
        Puzzle(random_codes(2, 30, 30), PuzzleMeta(**{**META.__dict__, "times": ((0.0, 1.0),)}))
