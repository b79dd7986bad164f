"""``sage plugin new``: tools for plugin authors."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("plugin")
def plugin_group() -> None:
    """Tools for writing your own plugin (see docs/plugins.md)."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder to create the package in.")
@click.option("--modality", help="Modality name the compressor registers [default: from NAME].")
def new_command(name: str, directory: Path, modality: str | None) -> None:
    """Scaffold a plugin package sage-NAME that installs and passes its own tests.

    \b
    Example:
      sage plugin new thermal --modality thermal
      pip install -e sage-thermal && pytest sage-thermal/tests
    """
    from sage_core.scaffold import scaffold_plugin

    root = scaffold_plugin(name, directory, modality=modality)
    click.echo(f"created {root}")
    click.echo(f"next:  pip install -e {root}  &&  pytest {root / 'tests'}")


COMMANDS = [plugin_group]
