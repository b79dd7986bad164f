"""docs/plugins.md keeps up with the code: every hook, contract member and env switch is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def _decorator_names(node: ast.FunctionDef) -> set[str]:
    return {d.id if isinstance(d, ast.Name) else getattr(d, "attr", "") for d in node.decorator_list}


def test_every_hook_is_documented_with_its_signature() -> None:
    tree = ast.parse((ROOT / "sage_core" / "hookspecs.py").read_text(encoding="utf-8"))
    hooks = [node for node in tree.body if isinstance(node, ast.FunctionDef) and "hookspec" in _decorator_names(node)]
    assert hooks, "no @hookspec functions found in sage_core/hookspecs.py"
    for hook in hooks:
        signature = f"{hook.name}({', '.join(arg.arg for arg in hook.args.args)})"
        assert f"### `{signature}`" in DOC, f"docs/plugins.md has no section '### `{signature}`'"


@pytest.mark.parametrize("module, name, least", [("modality", "Modality", (7, 6)),
                                                  ("contract", "PuzzleCompressor", (3, 5))])
def test_every_contract_member_is_documented(module: str, name: str, least: tuple[int, int]) -> None:
    tree = ast.parse((ROOT / "sage_core" / f"{module}.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    attributes = [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and "ClassVar" in ast.unparse(n.annotation)]
    methods = [
        n.name for n in cls.body
        if isinstance(n, ast.FunctionDef)
        and ("abstractmethod" in _decorator_names(n)
             or n.name in ("initialize", "set_progress", "to_image", "figure_axes", "probe_features"))
    ]
    assert len(attributes) >= least[0] and len(methods) >= least[1]
    for member in [*attributes, *methods]:
        assert re.search(rf"`{member}\b", DOC), f"{name}.{member} is not documented in docs/plugins.md"


def test_every_environment_switch_is_documented() -> None:
    switches = set(re.findall(r"SAGE_[A-Z_]+PLUGINS", (ROOT / "sage_core" / "plugins.py").read_text(encoding="utf-8")))
    assert {"SAGE_LOAD_PLUGINS", "SAGE_DISABLE_PLUGINS", "SAGE_STRICT_PLUGINS"} <= switches
    for switch in switches:
        assert f"`{switch}" in DOC, f"{switch} is not documented in docs/plugins.md"


def test_plugin_api_attribute_and_current_version_are_documented() -> None:
    from sage_core import PLUGIN_API

    assert f"SAGE_PLUGIN_API = {PLUGIN_API}" in DOC


def _smallest_plugin(folder: Path) -> Path:
    """Write the docs' smallest plugin, block by block, as a package in ``folder``."""
    section = DOC[DOC.index("## The smallest plugin"):DOC.index("## A new modality")]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    assert [lang for lang, _ in blocks] == ["python", "python", "toml"]
    for lang, code in blocks:
        if lang == "toml":
            header = ('[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
                      '[project]\nname = "sage-tiny-audio"\nversion = "0.1"\n')
            (folder / "pyproject.toml").write_text(header + code)
        else:
            target = folder / code.splitlines()[0].lstrip("# ").split()[0]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code)
    (folder / "sage_tiny_audio" / "__init__.py").write_text("")
    return folder


@pytest.mark.slow  # pip install, a short training and two CLI round trips
def test_the_smallest_plugin_in_the_docs_works_as_written(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import numpy as np
    import soundfile
    from cli_runner import run_sage

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(site), str(_smallest_plugin(tmp_path / "src"))],
                   check=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAGE_")},
           "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")])),
           "SAGE_CACHE_DIR": str(tmp_path / "cache")}
    run = tmp_path / "run"
    run_sage("train", "tiny_audio", "--max-steps", "5", "-o", "modality.voices=4", "--out", str(run), env=env)
    assert (run / "evaluation.json").is_file()
    talk = tmp_path / "talk.wav"
    soundfile.write(talk, 0.3 * np.sin(2 * np.pi * 440 * np.arange(24_000) / 16_000), 16_000)
    run_sage("encode", str(run), str(talk), "--out", str(tmp_path / "talk.npz"), env=env)
    run_sage("decode", str(run), str(tmp_path / "talk.npz"), "--out", str(tmp_path / "back.wav"), env=env)
    assert soundfile.info(tmp_path / "back.wav").frames == 2 * 16_000
