"""Where commands write: never over an input, over an existing file only with --force, one line for
a path that cannot be written (a folder, a path through a file, a read-only folder), nothing half
written, and every decoded source in a file of its own inside --out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from cli_runner import run_sage

from sage_core import Puzzle


def fields(path: Path, windows: int, seed: int) -> Path:
    """A toy observation file: ``windows`` smooth-enough fields (N, 30, 30) in [0, 1]."""
    with open(path, "wb") as handle:  # np.save(path) would add .npy to any other name
        np.save(handle, np.random.default_rng(seed).random((windows, 30, 30)).astype(np.float32))
    return path


def outside(folder: Path, *keep: Path) -> set[str]:
    """Every path under ``folder`` except those under ``keep``: what a command must not touch."""
    return {str(p) for p in folder.rglob("*") if not any(p == k or k in p.parents for k in keep)}


# --- sage encode ---------------------------------------------------------------------------------


def test_encode_never_writes_over_an_input_even_with_force(audio_run, cli_env, one_error_line, tmp_path) -> None:
    """`sage encode MODEL in.wav --out in.wav` used to replace the recording with a zip, exit 0."""
    wav = tmp_path / "in.wav"
    soundfile.write(wav, (0.1 * np.random.default_rng(1).standard_normal(16_000)).astype(np.float32), 16_000)
    before = wav.read_bytes()
    for force in ((), ("--force",)):
        result = run_sage("encode", str(audio_run), str(wav), "--out", str(wav), *force, env=cli_env, check=False)
        assert "is one of the inputs" in one_error_line(result, wav)
        assert wav.read_bytes() == before


def test_encode_png_never_writes_over_an_input(warm_sage, toy_run, one_error_line, tmp_path) -> None:
    """`sage encode M photo.png --out photo.npz --png` used to draw the puzzle over the photo, exit 0."""
    photo = fields(tmp_path / "photo.png", 1, 0)  # the toy reads any .npy, whatever its name
    before = photo.read_bytes()
    result = warm_sage.run("encode", str(toy_run), str(photo), "--out", str(tmp_path / "photo.npz"), "--png", "--force",
                           check=False)
    assert "is one of the inputs" in one_error_line(result, photo)
    assert photo.read_bytes() == before and not (tmp_path / "photo.npz").exists()  # all or nothing


def test_encode_replaces_another_file_only_with_force_and_never_a_folder(warm_sage, toy_run, one_error_line,
                                                                         tmp_path) -> None:
    source = fields(tmp_path / "a.npy", 2, 0)
    existing = tmp_path / "old.npz"
    existing.write_bytes(b"keep me")
    result = warm_sage.run("encode", str(toy_run), str(source), "--out", str(existing), check=False)
    assert "already exists; pass --force" in one_error_line(result, existing)
    assert existing.read_bytes() == b"keep me"
    pngs = [tmp_path / f"p-{i:04d}.png" for i in range(2)]
    pngs[1].write_bytes(b"an earlier picture")
    result = warm_sage.run("encode", str(toy_run), str(source), "--out", str(tmp_path / "p.npz"), "--png", check=False)
    assert "already exists" in one_error_line(result, pngs[1])
    assert not (tmp_path / "p.npz").exists() and not pngs[0].exists()
    warm_sage.run("encode", str(toy_run), str(source), "--out", str(existing), "--force")
    assert len(Puzzle.load(existing)) == 2
    folder = tmp_path / "folder"
    folder.mkdir()
    result = warm_sage.run("encode", str(toy_run), str(source), "--out", str(folder), "--force", check=False)
    assert "is a folder" in one_error_line(result, folder)


def test_an_output_through_a_file_is_one_line_for_every_command(warm_sage, toy_run, one_error_line, tmp_path) -> None:
    source = fields(tmp_path / "a.npy", 5, 0)  # enough windows for an export task
    puzzles = tmp_path / "p.npz"
    warm_sage.run("encode", str(toy_run), str(source), "--out", str(puzzles))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    commands = {
        "encode": ("encode", str(toy_run), str(source), "--out", str(blocker / "x.npz")),
        "decode": ("decode", str(toy_run), str(puzzles), "--out", str(blocker / "x.npy")),
        "decode to a folder": ("decode", str(toy_run), str(puzzles), "--out", str(blocker / "deeper" / "dir")),
        "export": ("export", str(puzzles), "--examples-per-task", "2", "--out", str(blocker / "tasks")),
        "compare --report": ("compare", str(toy_run), "--report", str(blocker / "report")),
        "train --out": ("train", "toy_puzzle", "--max-steps", "1", "--out", str(blocker / "run")),
    }
    for name, argv in commands.items():
        result = warm_sage.run(*argv, check=False)
        line = one_error_line(result, blocker)
        assert "a file, not a folder" in line or "Not a directory" in line, (name, line)
    assert blocker.read_text() == "not a folder"


def test_a_read_only_folder_is_one_line_for_every_command_and_nothing_is_written(
        toy_run, healthy_env, read_only, sage_under, one_error_line, snapshot, tmp_path) -> None:
    """Root ignores permission bits: the folder is mounted read-only (see the ``read_only`` fixture)."""
    source = fields(tmp_path / "a.npy", 5, 0)  # enough windows for an export task
    puzzles = tmp_path / "p.npz"
    run_sage("encode", str(toy_run), str(source), "--out", str(puzzles), env=healthy_env)
    locked = tmp_path / "locked"
    prefix = read_only(locked)
    commands = {
        "encode": ("encode", str(toy_run), str(source), "--out", str(locked / "x.npz")),
        "decode": ("decode", str(toy_run), str(puzzles), "--out", str(locked / "out")),
        "export": ("export", str(puzzles), "--examples-per-task", "2", "--out", str(locked / "tasks")),
        "compare --report": ("compare", str(toy_run), "--report", str(locked / "report")),
        "train --out": ("train", "toy_puzzle", "--max-steps", "1", "--out", str(locked / "run")),
    }
    for name, argv in commands.items():
        result = sage_under(prefix, *argv, env=healthy_env)
        line = one_error_line(result, locked)
        assert "Read-only file system" in line or "Permission denied" in line, (name, line)
    assert not list(locked.iterdir())


def test_evaluating_or_resuming_a_read_only_run_is_one_line_and_changes_nothing(
        toy_copy, healthy_env, read_only, sage_under, one_error_line, snapshot) -> None:
    before = snapshot(toy_copy)
    prefix = read_only(toy_copy)
    result = sage_under(prefix, "evaluate", str(toy_copy), env=healthy_env)
    assert "cannot be written" in one_error_line(result, toy_copy)
    result = sage_under(prefix, "train", "--resume", str(toy_copy), "--max-steps", "9", "--no-evaluate", env=healthy_env)
    assert "cannot train here" in one_error_line(result, toy_copy)
    assert snapshot(toy_copy) == before


# --- sage decode ---------------------------------------------------------------------------------


def test_every_source_decodes_to_its_own_file(warm_sage, toy_run, tmp_path) -> None:
    """Sources used to be grouped by base name: d1/take and d2/take became one file, the second
    overwriting the first; one file given twice became one output of twice the length."""
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    windows = {"d1/take.npy": 3, "d2/take.npy": 2, "a.npy": 1, "t.1.npy": 4, "t.2.npy": 5}
    for seed, (name, count) in enumerate(windows.items()):
        fields(tmp_path / name, count, seed)
    inputs = [str(tmp_path / name) for name in ("d1/take.npy", "d2/take.npy", "a.npy", "a.npy", "t.1.npy", "t.2.npy")]
    warm_sage.run("encode", str(toy_run), *inputs, "--out", str(tmp_path / "p.npz"))
    out = tmp_path / "decoded"
    warm_sage.run("decode", str(toy_run), str(tmp_path / "p.npz"), "--out", str(out))
    decoded = sorted(out.iterdir())
    assert len(decoded) == 6, [p.name for p in decoded]
    assert sorted(len(np.load(p)) for p in decoded) == [1, 1, 2, 3, 4, 5]
    assert not list(tmp_path.glob(".sage-decode-*"))  # the staging folder is gone


def write_puzzles(path: Path, sources: list[str]) -> Path:
    """A puzzle file of the toy compressor whose metadata names ``sources`` (anyone can write one)."""
    meta = {"modality": "toy", "compressor_id": "toy_puzzle", "compressor_version": "1", "sources": sources}
    codes = np.random.default_rng(0).integers(0, 10, (len(sources), 30, 30), dtype=np.uint8)
    with open(path, "wb") as handle:  # np.savez(path) would add .npz to any other name
        np.savez(handle, codes=codes, meta=np.array(json.dumps(meta)))
    return path


def test_hostile_source_names_never_write_outside_out(warm_sage, toy_run, tmp_path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    hostile = [".#0", "..#0", "../x#0", "../../escape#0", str(tmp_path / "absolute#0"), "a/../../y#0",
               "-rf#0", "\x00nul#0", "dots.in.name#0", "dots.in.other#0"]
    puzzles = write_puzzles(work / "p.npz", hostile)
    before = outside(tmp_path, work / "out")
    warm_sage.run("decode", str(toy_run), str(puzzles), "--out", "out/sub", cwd=work)
    written = sorted(p.name for p in (work / "out" / "sub").iterdir())
    assert len(written) == len(hostile), written
    assert all(not name.startswith(("-", ".")) for name in written), written
    assert outside(tmp_path, work / "out") == before  # nothing beside, above or outside --out


def test_a_decode_that_fails_half_way_leaves_nothing(warm_sage, toy_run, one_error_line, tmp_path) -> None:
    puzzles = write_puzzles(tmp_path / "p.npz", ["first.npy#0", "second.npy#0"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "second.npy").write_bytes(b"an earlier result")
    result = warm_sage.run("decode", str(toy_run), str(puzzles), "--out", str(out), check=False)
    assert "already exists; pass --force" in one_error_line(result, out / "second.npy")
    assert sorted(p.name for p in out.iterdir()) == ["second.npy"]  # the first source was not written either
    assert (out / "second.npy").read_bytes() == b"an earlier result"
    assert not list(tmp_path.glob(".sage-decode-*"))


def test_decode_never_writes_over_the_puzzle_file(warm_sage, toy_run, one_error_line, tmp_path) -> None:
    puzzles = write_puzzles(tmp_path / "p.npy", ["take.npy#0"])  # an .npz under a name the toy writes
    before = puzzles.read_bytes()
    result = warm_sage.run("decode", str(toy_run), str(puzzles), "--out", str(puzzles), "--force", check=False)
    assert "is the puzzle file being decoded" in one_error_line(result, puzzles)
    assert puzzles.read_bytes() == before


# --- sage stream ----------------------------------------------------------------------------------


def test_stream_never_writes_over_the_file_it_replays(audio_run, cli_env, one_error_line, tmp_path) -> None:
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, (0.1 * np.random.default_rng(2).standard_normal(32_000)).astype(np.float32), 16_000)
    before = wav.read_bytes()
    result = run_sage("stream", str(audio_run), str(wav), "--speed", "50", "--format", "npz", "--out", str(wav),
                      env=cli_env, check=False)
    assert "is the file being streamed" in one_error_line(result, wav)
    assert wav.read_bytes() == before and not wav.with_suffix(".jsonl").exists()


def test_stream_replaces_an_existing_npz_only_with_force(audio_run, cli_env, one_error_line, tmp_path) -> None:
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, (0.1 * np.random.default_rng(2).standard_normal(16_000)).astype(np.float32), 16_000)
    kept = tmp_path / "kept.npz"
    kept.write_bytes(b"an earlier session's puzzles")
    argv = ("stream", str(audio_run), str(wav), "--speed", "50", "--out", str(kept))
    assert "pass --force" in one_error_line(run_sage(*argv, env=cli_env, check=False), kept)
    assert kept.read_bytes() == b"an earlier session's puzzles" and not kept.with_suffix(".jsonl").exists()
    run_sage(*argv, "--force", env=cli_env)
    assert len(Puzzle.load(kept)) == 1


def test_stream_into_a_read_only_folder_is_one_line(audio_run, cli_env, read_only, sage_under, one_error_line,
                                                    tmp_path) -> None:
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, (0.1 * np.random.default_rng(2).standard_normal(16_000)).astype(np.float32), 16_000)
    locked = tmp_path / "locked"
    prefix = read_only(locked)
    result = sage_under(prefix, "stream", str(audio_run), str(wav), "--speed", "50", "--out", str(locked / "log.jsonl"),
                        env=cli_env)
    assert "cannot be written" in one_error_line(result, locked)
