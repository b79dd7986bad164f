"""Hostile plugins, installed for real (``tests/faults/plugins/``): none takes over a built-in id or
command, none ends `sage`, none turns its text into markup, none is loaded by a run's stored
factory or past SAGE_DISABLE_PLUGINS, and a misspelled hook is an error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from cli_runner import run_sage


def rows(result) -> dict[str, dict]:
    return {row["name"]: row for row in json.loads(result.stdout)}


def warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("sage: warning: ")]


def test_a_plugin_named_to_load_first_takes_over_no_builtin_id_or_command(fault_env) -> None:
    """``aaa-…`` used to load before the built-ins: it served ``audio_puzzle`` and replaced ``train``."""
    env = fault_env("aaa-takeover-plugin", "aaa-command-plugin")
    listed = run_sage("plugins", "--json", env=env)
    found = rows(listed)
    assert found["sage-audio-puzzle"]["status"] == "ok" and "audio_puzzle" in found["sage-audio-puzzle"]["compressors"]
    takeover = found["aaa-takeover-plugin"]
    assert takeover["status"] == "error" and takeover["compressors"] == [] and takeover["commands"] == []
    assert "'audio_puzzle'" in takeover["error"] and "sage-audio-puzzle" in takeover["error"]
    commands = found["aaa-command-plugin"]
    assert commands["status"] == "error" and commands["commands"] == []
    assert "sage-core already provides" in commands["error"]
    lines = warnings(listed)
    assert len(lines) == 2
    assert any("aaa-takeover-plugin" in line and "sage-audio-puzzle" in line for line in lines), lines  # both named

    info = run_sage("info", "audio_puzzle", env=env).stdout
    assert "plugin: sage-audio-puzzle" in info and "TAKEN OVER" not in info
    for argv in (("train", "--help"), ("plugins",), ("--help",)):
        assert "TAKEN OVER" not in run_sage(*argv, env={**env, "COLUMNS": "300"}).stdout, argv
    assert "Train COMPRESSOR" in run_sage("train", "--help", env=env).stdout
    gone = run_sage("command-hello", env=env, check=False)  # a disabled plugin keeps no command
    assert gone.returncode == 2 and "No such command" in gone.stderr


def test_sys_exit_at_import_ends_no_command(fault_env) -> None:
    """It used to end every `sage` command, --help included, silently."""
    env = fault_env("sage-exiting-plugin")
    helped = run_sage("--help", env=env)
    assert "Usage: sage" in helped.stdout
    assert len(warnings(helped)) == 1 and "sage-exiting-plugin" in warnings(helped)[0]
    row = rows(run_sage("plugins", "--json", env=env))["sage-exiting-plugin"]
    assert row["status"] == "error" and "SystemExit" in row["error"] and "SAGE_EXITING_TOKEN" in row["error"]
    assert "audio_puzzle" in run_sage("info", "audio_puzzle", env=env).stdout


MARKUP = "needs [/bold] and [link=x]a link[/link] and a [red]colour"


def test_plugin_text_is_shown_as_it_is_not_as_markup(fault_env) -> None:
    result = run_sage("plugins", env=fault_env("sage-markup-plugin", COLUMNS="1000"))
    assert MARKUP in result.stdout


def test_a_misspelled_hook_is_an_error_not_an_ok_plugin(fault_env) -> None:
    result = run_sage("plugins", "--json", env=fault_env("sage-misspelled-plugin"))
    row = rows(result)["sage-misspelled-plugin"]
    assert row["status"] == "error" and "unknown hook 'register_everything'" in row["error"]
    assert any("sage-misspelled-plugin" in line for line in warnings(result))


def test_strict_mode_is_spelled_as_any_boolean_and_fails_in_one_line(fault_env, one_error_line) -> None:
    for off in ("false", "0", "no", "off", ""):
        assert run_sage("plugins", "--json", env=fault_env("sage-markup-plugin", SAGE_STRICT_PLUGINS=off)).returncode == 0
    for on in ("1", "true", "YES", "on"):
        result = run_sage("--help", env=fault_env("sage-markup-plugin", SAGE_STRICT_PLUGINS=on), check=False)
        line = one_error_line(result, "sage-markup-plugin")
        assert "SAGE_STRICT_PLUGINS" in line and MARKUP in line


def test_a_runs_stored_factory_is_never_imported(toy_copy, healthy_env, one_error_line, tmp_path) -> None:
    """config.json's ``factory`` used to be imported by `sage evaluate` and `sage train --resume`."""
    modules = tmp_path / "modules"
    modules.mkdir()
    marker = tmp_path / "IMPORTED"
    (modules / "sage_marker_module.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\nclass Compressor: pass\n")
    config_path = toy_copy / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "factory": "sage_marker_module:Compressor"}))
    env = {**healthy_env, "PYTHONPATH": f"{modules}:{healthy_env['PYTHONPATH']}"}
    fields = tmp_path / "f.npy"
    np.save(fields, np.zeros((1, 30, 30), np.float32))
    run_sage("evaluate", str(toy_copy), env=env)
    run_sage("encode", str(toy_copy), str(fields), "--out", str(tmp_path / "p.npz"), env=env)
    run_sage("train", "--resume", str(toy_copy), "--max-steps", "9", "--no-evaluate", env=env)
    assert not marker.exists()
    config_path.write_text(json.dumps({**config, "compressor_id": "evil_puzzle"}))
    result = run_sage("evaluate", str(toy_copy), env=env, check=False)
    assert "no installed plugin registers compressor 'evil_puzzle'" in one_error_line(result, toy_copy)
    assert not marker.exists()


def test_a_disabled_plugins_runs_cannot_be_loaded(audio_run, cli_env, one_error_line, tmp_path) -> None:
    """A run's stored factory used to load sage-audio-puzzle although SAGE_DISABLE_PLUGINS named it."""
    run = tmp_path / "run"
    shutil.copytree(audio_run, run)
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")  # never read: the run is refused first
    env = {**cli_env, "SAGE_DISABLE_PLUGINS": "sage-audio-puzzle"}
    commands = {
        "encode": ("encode", str(run), str(wav), "--out", str(tmp_path / "p.npz")),
        "evaluate": ("evaluate", str(run)),
        "resume": ("train", "--resume", str(run), "--max-steps", "3", "--no-evaluate"),
    }
    for name, argv in commands.items():
        line = one_error_line(run_sage(*argv, env=env, check=False), run)
        assert "sage-audio-puzzle, which is blocked" in line, (name, line)
    assert not (tmp_path / "p.npz").exists() and not (run / "evaluation.json").exists()
    assert json.loads((run / "summary.json").read_text())["steps"] == 2
