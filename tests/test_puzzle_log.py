"""The append-only puzzle log: what a live stream writes, and what survives a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sage_core import InputError, Puzzle
from sage_core.puzzle_log import LogHeader, PuzzleLogWriter, TornRecordWarning, load_puzzles, read_puzzle_log

HEADER = LogHeader("audio", "audio_puzzle", "2", "mel band (row 0 = lowest)", "time", "unix", {"sample_rate": 16000})


def grids(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, size=(n, 30, 30), dtype=np.uint8)


def write_log(path, n: int, seed: int = 0, start: float = 1_764_680_000.0) -> np.ndarray:
    codes = grids(n, seed)
    with PuzzleLogWriter(path, HEADER) as writer:
        for i in range(n):
            writer.append("mic", i, start + i, start + i + 1, codes[i])
    return codes


def test_a_log_reads_back_as_a_puzzle_with_sources_times_and_clock(tmp_path) -> None:
    path = tmp_path / "mic.jsonl"
    codes = write_log(path, 3)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "sage-puzzle-log" and header["version"] == 1 and header["clock"] == "unix"
    assert len(lines) == 4 and len(json.loads(lines[1])["codes"]) == 900

    puzzle = load_puzzles(path)
    assert np.array_equal(puzzle.codes, codes)
    meta = puzzle.meta
    assert (meta.modality, meta.compressor_id, meta.compressor_version) == ("audio", "audio_puzzle", "2")
    assert meta.sources == ("mic#0", "mic#1", "mic#2")
    assert meta.times[1] == (1_764_680_001.0, 1_764_680_002.0) and meta.clock == "unix"
    assert meta.extra == {"sample_rate": 16000} and meta.rows.startswith("mel band")


def test_load_puzzles_also_reads_npz_files(tmp_path) -> None:
    path = tmp_path / "mic.jsonl"
    write_log(path, 2)
    saved = load_puzzles(path).save(tmp_path / "mic.npz")
    assert load_puzzles(saved) == load_puzzles(path) == Puzzle.load(saved)


def test_codes_may_be_written_as_30_rows(tmp_path) -> None:
    path = tmp_path / "rows.jsonl"
    grid = grids(1)[0]
    rows = ["".join(str(v) for v in row) for row in grid]
    record = {"source": "cam", "window": 0, "start": 0.0, "end": 0.5, "codes": rows}
    path.write_text(json.dumps({**HEADER.to_record(), "clock": "source"}) + "\n" + json.dumps(record) + "\n")
    puzzle = load_puzzles(path)
    assert np.array_equal(puzzle.codes[0], grid) and puzzle.meta.clock == "source"


def test_a_torn_last_line_is_skipped_and_reported(tmp_path) -> None:
    path = tmp_path / "mic.jsonl"
    codes = write_log(path, 3)
    with open(path, "ab") as handle:
        handle.write(b'{"source":"mic","window":3,"start":1764680003.0,"end":17')  # writer killed here
    log = read_puzzle_log(path)
    assert log.torn_line == 5 and len(log.records) == 3
    with pytest.warns(TornRecordWarning, match=r"mic\.jsonl: line 5 is an incomplete record"):
        puzzle = load_puzzles(path)
    assert np.array_equal(puzzle.codes, codes)
    reports: list[str] = []
    load_puzzles(path, report=reports.append)
    assert len(reports) == 1 and "line 5" in reports[0] and "read 3 puzzle(s)" in reports[0]


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda lines: lines.__setitem__(2, lines[2][:40]), "line 3: not valid JSON"),
        (lambda lines: lines.__setitem__(2, b""), "line 3: empty line"),
        (lambda lines: lines.__setitem__(2, lines[2].replace(b'"window":1', b'"window":-1')), "line 3: \"window\""),
        (lambda lines: lines.__setitem__(2, lines[2].replace(b'"codes":"', b'"codes":"x')), "line 3: \"codes\""),
        (lambda lines: lines.__setitem__(0, lines[0].replace(b'"version":1', b'"version":7')), "version 7"),
        (lambda lines: lines.__setitem__(0, b'{"hello": 1}'), "line 1: not a puzzle log"),
    ],
)
def test_damage_anywhere_but_the_last_line_is_refused_with_file_and_line(tmp_path, damage, problem) -> None:
    path = tmp_path / "mic.jsonl"
    write_log(path, 4)
    lines = path.read_bytes().split(b"\n")
    damage(lines)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=problem) as caught:
        load_puzzles(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_appending_to_a_log_cut_by_a_crash_repairs_its_tail(tmp_path) -> None:
    path = tmp_path / "mic.jsonl"
    first = write_log(path, 2)
    with open(path, "ab") as handle:
        handle.write(b'{"source":"mic","wind')
    more = grids(1, seed=5)
    with PuzzleLogWriter(path, HEADER) as writer:
        assert writer.repaired_bytes == len(b'{"source":"mic","wind')
        writer.append("mic", 2, 2.0, 3.0, more[0])
    log = read_puzzle_log(path)
    assert log.torn_line is None
    assert np.array_equal(log.to_puzzle().codes, np.concatenate([first, more]))


def test_appending_puzzles_of_another_model_or_to_a_foreign_file_is_refused(tmp_path) -> None:
    path = tmp_path / "mic.jsonl"
    write_log(path, 1)
    before = path.read_bytes()
    other = LogHeader("audio", "audio_puzzle", "3", "", "", "unix", {})
    with pytest.raises(InputError, match="v2 on the unix clock; refusing to append puzzles of audio_puzzle v3"):
        PuzzleLogWriter(path, other)
    notes = tmp_path / "notes.jsonl"
    notes.write_text("my own notes, no newline")
    with pytest.raises(InputError, match="not a puzzle log header"):
        PuzzleLogWriter(notes, HEADER)
    assert path.read_bytes() == before and notes.read_text() == "my own notes, no newline"


def test_only_one_writer_at_a_time(tmp_path) -> None:
    path = tmp_path / "mic.jsonl"
    with PuzzleLogWriter(path, HEADER):
        with pytest.raises(InputError, match="another process is writing"):
            PuzzleLogWriter(path, HEADER)


def test_a_writer_killed_at_any_moment_loses_no_record_it_reported(tmp_path) -> None:
    """SIGKILL, no chance to flush or close: every record written before the kill is readable."""
    path = tmp_path / "live.jsonl"
    script = textwrap.dedent(
        f"""
        import sys, numpy as np
        from sage_core.puzzle_log import LogHeader, PuzzleLogWriter
        writer = PuzzleLogWriter({str(path)!r}, LogHeader("audio", "audio_puzzle", "2", "", "", "unix", {{}}))
        grid = np.zeros((30, 30), dtype=np.uint8)
        i = 0
        while True:
            writer.append("mic", i, float(i), i + 1.0, grid)
            print(i, flush=True)
            i += 1
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        for _ in range(50):
            reported = int(child.stdout.readline())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    log = read_puzzle_log(path)
    assert len(log.records) >= reported + 1
    assert [r.window for r in log.records] == list(range(len(log.records)))
