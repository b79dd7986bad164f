"""The core's import graph has layers and no cycles (the contract lives in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_core_keeps_its_layers() -> None:
    """import-linter's layers contract: a module imports only from the layers below it."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the test requirements (pip install -e '.[test]')"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_the_core_never_imports_a_plugin() -> None:
    """The core finds plugins only through entry points, never by name."""
    sources = [path for path in (ROOT / "sage_core").rglob("*.py")]
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if any(f"import {name}" in path.read_text() or f"from {name}" in path.read_text()
                        for name in ("sage_audio_puzzle", "sage_vision_puzzle", "sage_language_puzzle"))]
    assert not offenders, offenders


def test_every_package_declares_the_python_the_code_needs() -> None:
    """The code needs 3.11 (it reads TOML with tomllib): every package and the README say so."""
    import tomllib

    floor = ">=3.11"
    pyprojects = [ROOT / "pyproject.toml", *ROOT.glob("plugins/*/pyproject.toml"), *ROOT.glob("examples/*/pyproject.toml")]
    for path in pyprojects:
        assert tomllib.loads(path.read_text())["project"]["requires-python"] == floor, path
    template = (ROOT / "sage_core" / "scaffold" / "templates" / "pyproject.toml.tmpl").read_text()
    assert f'requires-python = "{floor}"' in template
    assert "Python 3.11+" in (ROOT / "README.md").read_text()
    assert sys.version_info >= (3, 11)
