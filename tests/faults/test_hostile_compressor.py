"""A compressor plugin that returns bad codes or raises (``sage-hostile-plugin``, installed for real):
every command says so in one line naming the compressor, writes nothing, and shows the plugin's
text as it is."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_sage

from sage_core import Puzzle

HOSTILE = "sage-hostile-plugin"
#: What ``sage_hostile_plugin.model.reconstruction_metrics`` names its second metric.
MARKUP_METRIC = "[/bold] [link=x]odd[/link] metric"


@pytest.fixture(scope="module")
def hostile_run(fault_env, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("hostile") / "run"
    run_sage("train", "hostile_puzzle", "--out", str(run), "--max-steps", "2", "--threads", "1", "-o",
             "train.batch_size=4", env=fault_env(HOSTILE))  # evaluated too: honest unless told otherwise
    return run


@pytest.fixture
def fields(tmp_path: Path) -> Path:
    path = tmp_path / "fields.npy"
    np.save(path, np.random.default_rng(0).random((3, 30, 30)).astype(np.float32))
    return path


#: Mode -> what the one line must say. Codes used to be cast to uint8 unchecked: 256 became 0,
#: NaN 0 and 0.7 0, exit 0.
ENCODE_FAULTS = {
    "codes-256": "codes 256..256, outside 0-9",
    "codes-negative": "outside 0-9",
    "codes-nan": "dtype torch.float32, not integers",
    "codes-fraction": "dtype torch.float32, not integers",
    "codes-shape": "shape (3, 29, 30), not (3, 30, 30)",
    "codes-list": "a list, not a tensor",
    "encode-raise": "encode_codes raised RuntimeError: hostile encoder [/bold] gave up",
}


def test_bad_codes_from_encode_are_one_line_naming_the_compressor(hostile_run, fields, fault_env, one_error_line,
                                                                  tmp_path) -> None:
    out = tmp_path / "p.npz"
    for mode, problem in ENCODE_FAULTS.items():
        result = run_sage("encode", str(hostile_run), str(fields), "--out", str(out), env=fault_env(
            HOSTILE, SAGE_HOSTILE_MODE=mode), check=False)
        line = one_error_line(result, "compressor 'hostile_puzzle' (sage_hostile_plugin.model)")
        assert problem in line, (mode, line)
        assert not out.exists(), mode


def test_a_reader_that_raises_names_the_file_and_the_modality(hostile_run, fields, fault_env, one_error_line,
                                                              tmp_path) -> None:
    result = run_sage("encode", str(hostile_run), str(fields), "--out", str(tmp_path / "p.npz"),
                      env=fault_env(HOSTILE, SAGE_HOSTILE_MODE="read-raise"), check=False)
    line = one_error_line(result, fields, status=1)
    assert "modality 'hostile' (sage_hostile_plugin.model) failed to read it: ValueError" in line


def _decode_faults(run, puzzles, out, faults: dict[str, str], culprit: str, fault_env, one_error_line) -> None:
    """``sage decode`` under each hostile ``mode``: one error line naming ``culprit`` and the problem, no output."""
    for mode, problem in faults.items():
        result = run_sage("decode", str(run), str(puzzles), "--out", str(out),
                          env=fault_env(HOSTILE, SAGE_HOSTILE_MODE=mode), check=False)
        assert problem in one_error_line(result, culprit), mode
        assert not out.exists(), mode


def test_bad_reconstructions_from_decode_are_one_line_and_nothing_is_written(hostile_run, fields, fault_env,
                                                                            one_error_line, tmp_path) -> None:
    puzzles = tmp_path / "p.npz"
    run_sage("encode", str(hostile_run), str(fields), "--out", str(puzzles), env=fault_env(HOSTILE))
    out = tmp_path / "decoded"
    faults = {"decode-raise": "decode_codes raised RuntimeError", "decode-nan": "decode_codes returned NaN or inf",
              "decode-count": "decode_codes returned (2, 1, 30, 30) for 3 puzzle(s)"}
    _decode_faults(hostile_run, puzzles, out, faults, "compressor 'hostile_puzzle'", fault_env, one_error_line)


def test_a_bad_choice_of_windows_to_join_is_one_line_naming_the_modality(hostile_run, fields, fault_env,
                                                                        one_error_line, tmp_path) -> None:
    encoded = tmp_path / "p.npz"
    run_sage("encode", str(hostile_run), str(fields), "--out", str(encoded), env=fault_env(HOSTILE))
    plain = Puzzle.load(encoded)  # as a stream log would time them: one window a second
    timed = tmp_path / "timed.npz"
    Puzzle(plain.codes, replace(plain.meta, times=((0.0, 1.0), (1.0, 2.0), (2.0, 3.0)), clock="source")).save(timed)
    out = tmp_path / "decoded"
    faults = {"join-raise": "windows_to_join raised RuntimeError: hostile joiner gave up",
              "join-bad": "windows_to_join returned [3, 0], not increasing window numbers below 3"}
    _decode_faults(hostile_run, timed, out, faults, "modality 'hostile' (sage_hostile_plugin.model)", fault_env,
                   one_error_line)
    run_sage("decode", str(hostile_run), str(timed), "--out", str(out), env=fault_env(HOSTILE))
    assert len(np.load(out / "fields.npy")) == 3  # the default joins every window


def test_evaluate_reports_a_raising_encoder_in_one_line(hostile_run, fault_env, one_error_line) -> None:
    result = run_sage("evaluate", str(hostile_run), env=fault_env(HOSTILE, SAGE_HOSTILE_MODE="encode-raise"), check=False)
    assert "encode_codes raised RuntimeError" in one_error_line(result, "compressor 'hostile_puzzle'")


def test_tables_show_plugin_and_run_names_as_they_are(hostile_run, fault_env, tmp_path) -> None:
    """Metric names come from a plugin and run folder names from anyone: rich must not read them."""
    env = fault_env(HOSTILE, COLUMNS="400")
    assert MARKUP_METRIC in run_sage("evaluate", str(hostile_run), env=env).stdout
    runs = [tmp_path / "[red]one", tmp_path / "[link=x]two"]  # a folder name holds no closing tag's slash
    for run in runs:
        shutil.copytree(hostile_run, run)
    compared = run_sage("compare", *map(str, runs), env=env).stdout
    assert "hostile_puzzle ([red]one)" in compared and "hostile_puzzle ([link=x]two)" in compared
