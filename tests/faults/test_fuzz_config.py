"""Property: any --config text, any -o override and any run-directory JSON gives a result or
one ``SageError`` line (naming the file, or the override), never another exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from fuzz_strategies import JSON_VALUES

KEYS = ["train.lr", "train.epochs", "train.max_minutes", "train.batch_size", "train.schedule", "train", "decoder_channels",
        "code_balance", "modality.window_hop_seconds", "modality.voices", "modality", "train.lr.x", "nosuch", "nosuch.x", ".", "a..b", ""]
TOML_VALUES = ["inf", "-inf", "nan", "+nan", "1e999", "0.001", "3", "-1", "0", '"cosine"', '"x"', "true", "[1, 2]",
               "{ lr = 1 }", "99999999999999999999", "1979-05-27", "[[1]]", "'''x'''"]


def _toml_line(key: str, value: str) -> str:
    section, _, name = key.rpartition(".")
    return f"[{section}]\n{name or 'x'} = {value}\n" if section else f"{key or 'x'} = {value}\n"


@given(
    text=st.one_of(
        st.text(max_size=300),
        st.lists(st.builds(_toml_line, st.sampled_from(KEYS), st.sampled_from(TOML_VALUES)), max_size=4).map("".join),
    )
)
def test_random_config_text(text, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "config.toml"
    path.write_bytes(text.encode("utf-8"))
    fuzz_count(reads_safely("toml", path))


@given(data=st.binary(max_size=1024))
def test_random_bytes_as_a_config_file(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "binary.toml"
    path.write_bytes(data)
    fuzz_count(reads_safely("toml", path))


@given(
    override=st.one_of(
        st.text(max_size=60),
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS) | st.text(max_size=15),
                  st.sampled_from(["Infinity", "-Infinity", "NaN", "1e999", "null", "[1]", '{"lr": 1}', "{}", "x",
                                   "9" * 5000, "[" * 3000, "0.001", "3", "cosine", "true"]) | st.text(max_size=20)),
    )
)
def test_random_overrides(override, reads_safely, fuzz_count) -> None:
    reply = reads_safely("override", override, names="")
    if reply["outcome"] == "sage_error":
        assert "override" in reply["message"] or "AudioPuzzleConfig" in reply["message"], reply["message"]
    fuzz_count(reply)


@given(
    data=st.one_of(
        st.binary(max_size=1024),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth),
    )
)
def test_random_run_json(data, scratch, reads_safely, fuzz_count) -> None:
    run = scratch / "run"
    run.mkdir(exist_ok=True)
    (run / "config.json").write_bytes(data)
    fuzz_count(reads_safely("run_json", run / "config.json"))
    reads_safely("run_config", run, names=str(run))
