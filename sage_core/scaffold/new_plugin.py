"""Write a new plugin package from the templates next to this module.

The result is what an outside author would write by hand: a pyproject with the ``sage``
entry point, a registration module declaring ``SAGE_PLUGIN_API``, a config, a small
compressor that really trains, and a test calling ``check_compressor``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from sage_core.errors import ConfigError, InputError
from sage_core.hookspecs import PLUGIN_API

_NAME = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")

#: template file -> path in the new package (``{package}`` is filled in).
LAYOUT = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{package}/__init__.py",
    "plugin.py.tmpl": "{package}/plugin.py",
    "config.py.tmpl": "{package}/config.py",
    "modality.py.tmpl": "{package}/modality.py",
    "compressor.py.tmpl": "{package}/compressor.py",
    "test_contract.py.tmpl": "tests/test_contract.py",
}


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from ``sage plugin new NAME``: ``thermal`` -> ``sage-thermal``, ..."""

    name: str
    distribution: str
    package: str
    modality: str
    compressor_id: str
    class_name: str
    config_name: str
    modality_class: str
    modality_config_name: str
    command_name: str
    plugin_api: int
    core_version: str

    @classmethod
    def from_name(cls, name: str, modality: str | None = None) -> PluginNames:
        stem = name.lower().removeprefix("sage-").removeprefix("sage_")
        if not _NAME.match(stem):
            raise ConfigError(
                f"plugin name {name!r} must be lower-case letters and digits, words joined by '-' or '_'"
            )
        snake = stem.replace("-", "_")
        modality = modality if modality is not None else snake
        if not re.match(r"^[a-z][a-z0-9_]*$", modality):
            raise ConfigError(f"modality {modality!r} must be lower-case letters, digits and '_'")
        camel = "".join(part.capitalize() for part in snake.split("_"))
        modality_camel = "".join(part.capitalize() for part in modality.split("_"))
        from sage_core import __version__

        return cls(
            name=stem,
            distribution=f"sage-{stem.replace('_', '-')}",
            package=f"sage_{snake}",
            modality=modality,
            compressor_id=snake if snake.endswith("_puzzle") else f"{snake}_puzzle",
            class_name=f"{camel}Compressor",
            config_name=f"{camel}Config",
            modality_class=f"{modality_camel}Modality",
            modality_config_name=f"{modality_camel}ModalityConfig",
            command_name=f"{stem.replace('_', '-')}-hello",
            plugin_api=PLUGIN_API,
            core_version=__version__,
        )


def scaffold_plugin(name: str, directory: str | Path = ".", modality: str | None = None) -> Path:
    """Create ``directory/sage-NAME/`` and return its path; refuses to overwrite anything."""
    names = PluginNames.from_name(name, modality)
    root = Path(directory) / names.distribution
    if root.exists() and any(root.iterdir()):
        raise InputError(root, "already exists and is not empty; pick another name or --dir")
    values = {key: str(value) for key, value in asdict(names).items()}
    templates = files("sage_core.scaffold").joinpath("templates")
    for template, target in LAYOUT.items():
        text = Template(templates.joinpath(template).read_text(encoding="utf-8")).substitute(values)
        path = root / target.format(package=names.package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
