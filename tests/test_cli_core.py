"""The `sage` CLI as a user runs it: subprocesses against really installed plugins."""

from __future__ import annotations

import json
import subprocess
import sys

from cli_runner import run_sage

NO_HEAVY_IMPORTS = """
import sys
sys.argv = {argv!r}
from sage_core.cli.main import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "numpy", "pydantic") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def test_plugins_json_lists_every_plugin_with_status(plugin_env) -> None:
    result = run_sage("plugins", "--json", env=plugin_env)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["sage-fixture-plugin"]["status"] == "ok"
    assert rows["sage-fixture-plugin"]["entry_point"] == "fixture = sage_fixture_plugin"
    assert rows["sage-broken-plugin"]["status"] == "error"
    assert rows["sage-shadowing-plugin"]["status"] == "error"
    assert {"audio_puzzle", "vision_puzzle"} <= {c for row in rows.values() for c in row["compressors"]}
    warnings = [line for line in result.stderr.splitlines() if line.startswith("sage: warning")]
    assert len(warnings) == 2


def test_a_broken_plugin_does_not_break_other_commands(plugin_env) -> None:
    assert "hello from sage-fixture-plugin" in run_sage("toy-hello", env=plugin_env).stdout
    assert "toy-hello" in run_sage("--help", env=plugin_env).stdout


def test_blocked_plugins_show_as_blocked_and_lose_their_commands(plugin_env) -> None:
    env = {**plugin_env, "SAGE_DISABLE_PLUGINS": "sage-fixture-plugin"}
    rows = {row["name"]: row for row in json.loads(run_sage("plugins", "--json", env=env).stdout)}
    assert rows["sage-fixture-plugin"]["status"] == "blocked"
    result = run_sage("toy-hello", env=env, check=False)
    assert result.returncode != 0 and "No such command" in result.stderr


def test_info_shows_config_defaults(healthy_env) -> None:
    out = run_sage("info", "toy_puzzle", env=healthy_env).stdout
    assert "channels = 8" in out and "train.epochs = 2" in out
    schema = json.loads(run_sage("info", "toy_puzzle", "--json", env=healthy_env).stdout)
    assert schema["properties"]["channels"]["default"] == 8


def test_unknown_compressor_is_one_clear_line(healthy_env) -> None:
    result = run_sage("info", "nope_puzzle", env=healthy_env, check=False)
    assert result.returncode == 2
    assert "no installed plugin registers compressor 'nope_puzzle'" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_and_plugins_do_not_import_torch(healthy_env) -> None:
    for argv in (["sage", "--help"], ["sage", "plugins"], ["sage", "plugins", "--json"]):
        code = NO_HEAVY_IMPORTS.format(argv=argv)
        result = subprocess.run([sys.executable, "-c", code], env=healthy_env, capture_output=True, text=True)
        assert result.stdout.strip().splitlines()[-1] == "HEAVY=", (argv, result.stdout, result.stderr)


def test_shell_completion_of_commands_and_compressor_ids(healthy_env) -> None:
    script = run_sage(env={**healthy_env, "_SAGE_COMPLETE": "bash_source"}).stdout
    assert "_sage_completion" in script
    env = {**healthy_env, "_SAGE_COMPLETE": "bash_complete", "COMP_WORDS": "sage info to", "COMP_CWORD": "2"}
    assert "toy_puzzle" in run_sage(env=env).stdout
    env = {**env, "COMP_WORDS": "sage plu", "COMP_CWORD": "1"}
    assert "plugins" in run_sage(env=env).stdout
