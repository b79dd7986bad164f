"""Hostile configuration: --config that is not a TOML file, non-finite numbers, bad keys and seeds."""

from __future__ import annotations

import json
import shutil

import pytest
from cli_runner import run_sage

from pydantic import BaseModel

from sage_core import CompressorConfig, ConfigError
from sage_core.config import check_seed, resolve_config

from sage_audio_puzzle.config import AudioPuzzleConfig

#: Were the input accepted, training would stop after one step: a failing test stays short.
BOUNDED = ("--max-steps", "1", "--no-evaluate", "--threads", "1")


@pytest.mark.parametrize("kind", ["directory", "binary"])
def test_a_config_that_is_not_a_toml_file_is_one_line(kind, tmp_path, cli_env, one_error_line) -> None:
    path = tmp_path / "config.toml"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(bytes(range(256)) * 4)
    result = run_sage("train", "audio_puzzle", "--config", str(path), *BOUNDED, "--out", str(tmp_path / "run"),
                      env=cli_env, check=False)
    line = one_error_line(result, path)
    assert ("is a directory" if kind == "directory" else "not UTF-8 text") in line


def test_a_non_finite_override_is_refused_in_one_line(tmp_path, cli_env, one_error_line) -> None:
    result = run_sage("train", "audio_puzzle", "-o", "train.lr=Infinity", *BOUNDED, "--out", str(tmp_path / "run"),
                      env=cli_env, check=False)
    assert "finite" in one_error_line(result, "train.lr")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["-Infinity", "NaN", "inf", "1e999", '"nan"'])
def test_every_spelling_of_a_non_finite_number_is_refused(value) -> None:
    with pytest.raises(ConfigError, match="train.max_minutes: .*finite"):
        resolve_config(AudioPuzzleConfig, overrides=[f"train.max_minutes={value}"])


@pytest.mark.parametrize("text", ["[train]\nlr = inf\n", "[train]\nmax_minutes = nan\n", "code_balance = inf\n"])
def test_non_finite_numbers_in_a_toml_file_are_refused(text, tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="finite"):
        resolve_config(AudioPuzzleConfig, toml_path=path)


class PlainSection(BaseModel):
    """A plugin's own section, not derived from SAGE's config classes."""

    gain: float = 1.0


class PluginConfig(CompressorConfig):
    extra: PlainSection = PlainSection()


def test_non_finite_values_are_refused_in_a_plugin_section_of_its_own() -> None:
    with pytest.raises(ConfigError, match="extra.gain: must be a finite number"):
        resolve_config(PluginConfig, overrides=["extra.gain=Infinity"])
    assert resolve_config(PluginConfig, overrides=["extra.gain=2.5"]).extra.gain == 2.5


def test_non_finite_values_are_refused_in_a_stored_config_too() -> None:
    with pytest.raises(ConfigError, match="train.lr"):
        resolve_config(AudioPuzzleConfig, base={"train": {"lr": float("inf")}})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (".=3", "empty part"),
        ("train..lr=3", "empty part"),
        ("train.=1", "empty part"),
        ("train=3", "'train' is a section"),
        ("train.lr.x=3", "'lr' is not a section"),
        ("train.lr=" + "9" * 5000, "unusable value"),
        ("train.lr=" + "[" * 5000, "unusable value"),
    ],
)
def test_bad_override_keys_and_values_are_one_clear_line(override, message) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        resolve_config(AudioPuzzleConfig, overrides=[override])
    assert "\n" not in str(error.value)


def test_valid_config_input_behaves_as_before(tmp_path) -> None:
    defaults = AudioPuzzleConfig()
    path = tmp_path / "c.toml"
    path.write_text("decoder_channels = 8\n[train]\nlr = 0.004\n")
    config = resolve_config(AudioPuzzleConfig, toml_path=path, overrides=["train.epochs=3", "train.max_minutes=null"])
    assert (config.decoder_channels, config.train.lr, config.train.epochs) == (8, 0.004, 3)
    assert config.train.max_minutes is None and config.train.batch_size == defaults.train.batch_size


def test_a_section_given_whole_keeps_the_values_it_does_not_name() -> None:
    """``-o train='{"lr": 0.5}'`` used to reset the audio config's 90 epochs and 11-minute cap to the base defaults."""
    defaults = AudioPuzzleConfig().train
    whole = resolve_config(AudioPuzzleConfig, overrides=['train={"lr": 0.5}']).train
    assert (whole.lr, whole.epochs, whole.max_minutes) == (0.5, defaults.epochs, defaults.max_minutes)


def test_a_seed_out_of_range_is_refused_before_training(tmp_path, cli_env, one_error_line) -> None:
    """2**64 used to reach torch.manual_seed after loading the data, and end in a traceback."""
    result = run_sage("train", "audio_puzzle", "--seed", str(2**64), *BOUNDED, "--out", str(tmp_path / "run"),
                      env=cli_env, check=False)
    assert "must be between" in one_error_line(result, "seed")


@pytest.mark.parametrize("seed", [-(2**63) - 1, 2**63, "abc", 1.5, True, None])
def test_check_seed_refuses_what_torch_cannot_take(seed) -> None:
    with pytest.raises(ConfigError, match="seed: must be"):
        check_seed(seed)
    assert check_seed(-(2**63)) == -(2**63) and check_seed(2**63 - 1) == 2**63 - 1


def test_a_resumed_run_whose_stored_seed_is_not_a_number_is_one_line(audio_run, tmp_path, cli_env,
                                                                     one_error_line) -> None:
    run = tmp_path / "run"
    shutil.copytree(audio_run, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "seed": "abc"}))
    result = run_sage("train", "--resume", str(run), env=cli_env, check=False)
    line = one_error_line(result, run / "config.json")
    assert "seed" in line and "integer" in line
