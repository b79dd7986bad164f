"""docs/plugins.md keeps up with the code: every hook, contract member and env switch is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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


def test_every_contract_member_is_documented() -> None:
    tree = ast.parse((ROOT / "sage_core" / "contract.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "PuzzleCompressor"]
    attributes = [n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and "ClassVar" in ast.unparse(n.annotation)]
    methods = [
        n.name for n in cls.body
        if isinstance(n, ast.FunctionDef)
        and ("abstractmethod" in _decorator_names(n) or n.name in ("initialize", "set_progress", "to_image"))
    ]
    assert len(methods) >= 10 and len(attributes) >= 8
    for name in [*attributes, *methods]:
        assert re.search(rf"`{name}\b", DOC), f"PuzzleCompressor.{name} is not documented in docs/plugins.md"


def test_every_environment_switch_is_documented() -> None:
    switches = set(re.findall(r"SAGE_[A-Z_]+PLUGINS", (ROOT / "sage_core" / "plugins.py").read_text(encoding="utf-8")))
    assert {"SAGE_LOAD_PLUGINS", "SAGE_DISABLE_PLUGINS", "SAGE_STRICT_PLUGINS"} <= switches
    for switch in switches:
        assert f"`{switch}" in DOC, f"{switch} is not documented in docs/plugins.md"


def test_plugin_api_attribute_and_current_version_are_documented() -> None:
    from sage_core import PLUGIN_API

    assert f"SAGE_PLUGIN_API = {PLUGIN_API}" in DOC
