"""Uninstalling a third-party plugin leaves everything else working.

The test builds what ``pip uninstall sage-language-puzzle`` leaves behind, without touching
the shared environment: a mirror of this environment's site-packages (symlinks) minus every
file the distribution's RECORD lists, then runs the real CLI on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

PLUGIN = "sage-language-puzzle"


def _site_packages_without(distribution: str, mirror: Path) -> Path:
    """Symlink every top-level entry of the distribution's site-packages except its own files."""
    dist = metadata.distribution(distribution)
    site = Path(str(dist.locate_file("")))
    owned = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
    assert owned, f"{distribution} lists no files in its RECORD"
    mirror.mkdir()
    for entry in site.iterdir():
        if entry.name not in owned:
            (mirror / entry.name).symlink_to(entry)
    return mirror


def _sage_on(site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`sage ARGS` in a fresh interpreter whose only site directory is ``site`` (None: this env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_") and k != "PYTHONPATH"}
    if site is None:
        command = [sys.executable, "-m", "sage_core.cli", *args]
    else:
        boot = ("import runpy, site, sys; site.addsitedir(sys.argv.pop(1)); "
                "runpy.run_module('sage_core.cli', run_name='__main__', alter_sys=True)")
        command = [sys.executable, "-S", "-c", boot, str(site), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def _compressors(listing: str) -> dict[str, str]:
    return {c: plugin["status"] for plugin in json.loads(listing) for c in plugin["compressors"]}


def test_after_uninstalling_the_language_plugin_the_rest_still_works(tmp_path: Path) -> None:
    try:
        metadata.distribution(PLUGIN)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{PLUGIN} is not installed here (requirements-test.txt installs it)")
    before = _sage_on(None, "plugins", "--json")
    assert _compressors(before.stdout).get("language_puzzle") == "ok", before.stderr

    site = _site_packages_without(PLUGIN, tmp_path / "site-packages")
    after = _sage_on(site, "plugins", "--json")
    assert after.returncode == 0, after.stderr
    compressors = _compressors(after.stdout)
    assert "language_puzzle" not in compressors
    assert compressors["audio_puzzle"] == compressors["vision_puzzle"] == "ok"
    assert after.stderr == ""  # no warning about a missing plugin: it is simply gone

    info = _sage_on(site, "info", "audio_puzzle")
    assert info.returncode == 0 and "decoder_channels" in info.stdout
    gone = _sage_on(site, "info", "language_puzzle")
    assert gone.returncode != 0 and "language_puzzle" in gone.stderr
