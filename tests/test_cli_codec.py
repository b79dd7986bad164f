"""`sage encode`, `sage decode` and `sage show` on a real (tiny) trained run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from cli_runner import run_sage

from sage_core import Puzzle


@pytest.fixture(scope="module")
def toy_run(plugin_site, healthy_env, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    run_sage("train", "toy_puzzle", "--max-steps", "3", "--out", str(runs / "toy_puzzle" / "r1"), env=healthy_env)
    return runs


def write_fields(folder, name: str, count: int) -> str:
    path = folder / name
    fields = np.random.default_rng(count).random((count, 30, 30)).astype(np.float32)
    np.save(path, fields if count > 1 else fields[0])
    return str(path)


def test_encode_decode_round_trip_through_files(toy_run, healthy_env, tmp_path) -> None:
    one = write_fields(tmp_path, "one.npy", 1)
    three = write_fields(tmp_path, "three.npy", 3)
    out = tmp_path / "p.npz"
    result = run_sage("encode", "toy_puzzle", one, three, "--out", str(out), "--png",
                      "--runs-root", str(toy_run), env=healthy_env)
    assert "wrote 4 puzzle(s) from 2 file(s)" in result.stdout
    puzzle = Puzzle.load(out)
    assert puzzle.codes.shape == (4, 30, 30)
    assert puzzle.meta.sources == (f"{one}#0", f"{three}#0", f"{three}#1", f"{three}#2")
    assert len(list(tmp_path.glob("p-*.png"))) == 4

    decoded_dir = tmp_path / "decoded"
    run_sage("decode", "toy", str(out), "--out", str(decoded_dir), "--runs-root", str(toy_run), env=healthy_env)
    assert np.load(decoded_dir / "three.npy").shape == (3, 30, 30)
    assert np.load(decoded_dir / "one.npy").shape == (1, 30, 30)

    shown = run_sage("show", str(out), "--index", "1", env=healthy_env).stdout
    assert f"# {three}#0" in shown and len(shown.strip().splitlines()[-1]) == 30


def test_a_puzzle_of_another_compressor_version_is_refused(toy_run, healthy_env, tmp_path) -> None:
    """After a plugin upgrade changed what codes mean, old puzzles are not silently misread."""
    out = tmp_path / "p.npz"
    run_sage("encode", "toy_puzzle", write_fields(tmp_path, "one.npy", 1), "--out", str(out),
             "--runs-root", str(toy_run), env=healthy_env)
    puzzle = Puzzle.load(out)
    old = tmp_path / "old.npz"
    Puzzle(puzzle.codes, dataclasses.replace(puzzle.meta, compressor_version="0")).save(old)
    result = run_sage("decode", "toy", str(old), "--out", str(tmp_path / "decoded"), "--runs-root", str(toy_run),
                      env=healthy_env, check=False)
    assert result.returncode != 0
    assert f"{old}: made by compressor" in result.stderr and "version 0" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "decoded").exists() or not any((tmp_path / "decoded").iterdir())


def test_a_bad_file_is_named_and_the_rest_still_encoded(toy_run, healthy_env, tmp_path) -> None:
    good = write_fields(tmp_path, "good.npy", 2)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"definitely not numpy")
    out = tmp_path / "p.npz"
    result = run_sage("encode", str(toy_run / "toy_puzzle" / "r1"), good, str(bad), "--out", str(out),
                      env=healthy_env, check=False)
    assert result.returncode == 1
    assert f"{bad}: not a readable .npy file" in result.stderr
    assert len(Puzzle.load(out)) == 2


def test_no_run_yet_names_the_command_to_run(healthy_env, tmp_path, plugin_site) -> None:
    field = write_fields(tmp_path, "f.npy", 1)
    result = run_sage("encode", "toy_puzzle", field, "--out", str(tmp_path / "p.npz"),
                      "--runs-root", str(tmp_path / "empty"), env=healthy_env, check=False)
    assert result.returncode == 2 and "sage train toy_puzzle" in result.stderr


def test_decode_and_show_take_a_puzzle_log_too(toy_run, healthy_env, tmp_path) -> None:
    """A live stream's .jsonl log decodes to the same output as the .npz of the same puzzles."""
    from sage_core.puzzle_log import LogHeader, PuzzleLogWriter

    npz = tmp_path / "p.npz"
    run_sage("encode", "toy_puzzle", write_fields(tmp_path, "rec.npy", 3), "--out", str(npz),
             "--runs-root", str(toy_run), env=healthy_env)
    puzzle = Puzzle.load(npz)
    log = tmp_path / "p.jsonl"
    with PuzzleLogWriter(log, LogHeader.from_meta(puzzle.meta, clock="source")) as writer:
        for i, source in enumerate(puzzle.meta.sources):
            base, window = source.rsplit("#", 1)
            writer.append(base, int(window), float(i), i + 1.0, puzzle.codes[i])

    for name, path in (("from-npz", npz), ("from-log", log)):
        run_sage("decode", "toy", str(path), "--out", str(tmp_path / name / "rec.npy"), "--runs-root", str(toy_run),
                 env=healthy_env)
    assert np.array_equal(np.load(tmp_path / "from-log" / "rec.npy"), np.load(tmp_path / "from-npz" / "rec.npy"))
    shown = run_sage("show", str(log), env=healthy_env).stdout
    assert "3 puzzle(s) from toy_puzzle" in shown and shown.count("\n# ") == 3
