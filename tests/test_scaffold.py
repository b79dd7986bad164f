"""`sage plugin new` makes a package that installs and passes its own tests, unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_sage

from sage_core.errors import ConfigError, InputError
from sage_core.scaffold import scaffold_plugin


def _clean_env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH", "")]))
    return env


@pytest.mark.slow  # pip install + a pytest subprocess: ~15-30 s on 2 shared cores
def test_scaffolded_plugin_installs_passes_its_tests_and_is_listed(tmp_path: Path) -> None:
    result = run_sage("plugin", "new", "sea-ice", "--dir", str(tmp_path), "--modality", "radar", env=_clean_env(tmp_path))
    root = tmp_path / "sage-sea-ice"
    assert str(root) in result.stdout
    plugin_py = (root / "sage_sea_ice" / "plugin.py").read_text()
    from sage_core import PLUGIN_API

    assert f"SAGE_PLUGIN_API = {PLUGIN_API}" in plugin_py and "import torch" not in plugin_py

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), str(root)],
        check=True,
    )
    env = _clean_env(site)
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )
    assert tests.returncode == 0, f"generated tests failed:\n{tests.stdout[-3000:]}\n{tests.stderr[-2000:]}"
    assert "2 passed" in tests.stdout

    listed = {row["name"]: row for row in json.loads(run_sage("plugins", "--json", env=env).stdout)}
    row = listed["sage-sea-ice"]
    assert row["status"] == "ok", row
    assert row["modalities"] == ["radar"] and row["compressors"] == ["sea_ice_puzzle"]
    assert run_sage("sea-ice-hello", env=env).stdout.strip() == "hello from sage-sea-ice"


def test_scaffold_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="plugin name 'two words'"):
        scaffold_plugin("two words", tmp_path)
    with pytest.raises(ConfigError, match="modality 'Radar!'"):
        scaffold_plugin("radar", tmp_path, modality="Radar!")
    scaffold_plugin("radar", tmp_path)
    with pytest.raises(InputError, match="sage-radar: already exists"):
        scaffold_plugin("radar", tmp_path)
    result = run_sage("plugin", "new", "radar", "--dir", str(tmp_path), env=_clean_env(tmp_path), check=False)
    assert result.returncode == 2 and "already exists" in result.stderr
