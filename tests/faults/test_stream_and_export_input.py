"""Hostile input to `sage stream` and `sage export`: a puzzle log damaged inside, raw PCM on stdin
that ends inside a frame, a WAV cut short, and ARC task JSON that is ragged, huge or deeply nested."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from cli_runner import SAGE, run_sage

from sage_core import InputError, PuzzleMeta
from sage_core.export import read_arc_task
from sage_core.puzzle_log import LogHeader, PuzzleLogWriter


def write_log(path: Path, windows: int) -> list[str]:
    """A puzzle log of ``windows`` consecutive 1 s windows of one source; its lines."""
    meta = PuzzleMeta("toy", "toy_puzzle", "1")
    writer = PuzzleLogWriter(path, LogHeader.from_meta(meta, clock="source"))
    codes = np.random.default_rng(0).integers(0, 10, (windows, 30, 30))
    for index in range(windows):
        writer.append("take.npy", index, float(index), index + 1.0, codes[index])
    writer.close()
    return path.read_text().splitlines(keepends=True)


@pytest.mark.parametrize(("damage", "phrase"), [('{"source": "take.npy", "codes": [1, 2\n', "line 3: not valid JSON"),
                                                ("[" * 100_000 + "\n", "line 3: not valid JSON (nested too deeply)"),
                                                ("\xff\xfe\n", "line 3: not valid JSON")])
def test_a_puzzle_log_damaged_inside_is_one_line_for_show_decode_and_export(damage, phrase, warm_sage, toy_run,
                                                                            one_error_line, tmp_path) -> None:
    log = tmp_path / "take.jsonl"
    lines = write_log(log, 6)
    log.write_bytes("".join([*lines[:2], damage, *lines[2:]]).encode("utf-8", "surrogateescape"))
    for argv in (("show", str(log)), ("decode", str(toy_run), str(log), "--out", str(tmp_path / "out")),
                 ("export", str(log), "--examples-per-task", "2", "--out", str(tmp_path / "tasks"))):
        assert phrase in one_error_line(warm_sage.run(*argv, check=False), log), argv
    assert not (tmp_path / "out").exists() and not (tmp_path / "tasks").exists()


def test_stdin_pcm_ending_inside_a_frame_is_streamed_and_its_last_bytes_reported(audio_run, cli_env, tmp_path) -> None:
    samples = (3000 * np.sin(np.arange(16_000) / 9.0)).astype("<i2").tobytes()
    log = tmp_path / "live.jsonl"
    result = subprocess.run([*SAGE, "stream", str(audio_run), "-", "--out", str(log)], input=samples + b"\x01",
                            env=cli_env, capture_output=True, timeout=300)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("sage: warning: ")]
    assert warnings == ["sage: warning: stdin: its last 1 byte(s) are not a whole 1-channel s16le frame (2 bytes); "
                        "they were dropped"], stderr
    records = log.read_text().splitlines()[1:]
    assert len(records) == 1 and json.loads(records[0])["window"] == 0


def test_a_wav_cut_short_is_streamed_with_the_warning_encode_gives(audio_run, cli_env, tmp_path) -> None:
    wav = tmp_path / "talk.wav"
    soundfile.write(wav, (0.1 * np.random.default_rng(3).standard_normal(32_000)).astype(np.float32), 16_000,
                    subtype="PCM_16")
    wav.write_bytes(wav.read_bytes()[:20_000])
    streamed = run_sage("stream", str(audio_run), str(wav), "--speed", "50", "--out", str(tmp_path / "s.jsonl"),
                        env=cli_env)
    encoded = run_sage("encode", str(audio_run), str(wav), "--out", str(tmp_path / "e.npz"), env=cli_env)
    for result in (streamed, encoded):
        assert f"sage: warning: {wav}: WAV data cut short: the header declares 2.000 s" in result.stderr


def grid(rows: int, cols: int, value: object = 0) -> list[list[object]]:
    return [[value] * cols for _ in range(rows)]


@pytest.mark.parametrize(("task", "phrase"), [
    ({"train": [{"input": grid(30, 30), "output": [[0] * 30] * 29 + [[0] * 31]}], "test": []},
     "30 rows of widths 30..31"),
    ({"train": [{"input": grid(3000, 3000), "output": grid(30, 30)}], "test": []}, "grid is 3000x3000"),
    ({"train": [{"input": grid(30, 30, 10), "output": grid(30, 30)}], "test": []}, "grid holds 10"),
    ({"train": [{"input": grid(30, 30, True), "output": grid(30, 30)}], "test": []}, "grid holds True"),
    ({"train": [{"input": grid(30, 30)}], "test": []}, "needs both 'input' and 'output'"),
    ({"train": "everything"}, "'train' must be a list"),
    ([1, 2, 3], "must be a JSON object"),
])
def test_hostile_arc_task_json_is_one_input_error_naming_the_file(task, phrase, tmp_path) -> None:
    path = tmp_path / "task.json"
    path.write_text(json.dumps(task))
    with pytest.raises(InputError, match=phrase) as error:
        read_arc_task(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_arc_json_nested_deeper_than_the_stack_is_one_input_error(tmp_path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"train": ' + "[" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_arc_task(path)
