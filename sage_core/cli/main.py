"""Entry point of the ``sage`` command: the click group, plugin loading, error display.

Every command module is imported here, but none imports torch at module level, so
``sage --help`` and ``sage plugins`` stay fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from sage_core.errors import SageError


class SageGroup(click.Group):
    """Shows a ``SageError``, or the system refusing a file, as one clear line (exit 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SageError as exc:
            click.echo(f"sage: error: {exc}", err=True)
            ctx.exit(2)
        except BrokenPipeError:  # the reader of our output left (`sage show x | head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except OSError as exc:  # a full disk, a read-only folder, a path through a file: the system's words
            click.echo(f"sage: error: {os_error_line(exc)}", err=True)
            ctx.exit(2)


def os_error_line(exc: OSError) -> str:
    """``PATH: PROBLEM`` for an ``OSError``, naming the file when the system said which."""
    problem = exc.strerror or str(exc) or type(exc).__name__
    names = [str(name) for name in (exc.filename, exc.filename2) if name is not None]
    return f"{' -> '.join(names)}: {problem}" if names else problem


@click.group(cls=SageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sage-core", prog_name="sage")
def cli() -> None:
    """Compress any sensor stream into one shared 30x30 puzzle of codes 0-9.

    \b
    Start here:
      sage plugins                 what is installed
      sage train audio_puzzle      train on the embedded default data
      sage compare audio vision    compare finished runs
    """


def build_cli() -> click.Group:
    """Attach the built-in commands (plugin commands are added by the registry)."""
    from sage_core.cli import (
        codec_cmd,
        compare_cmd,
        evaluate_cmd,
        export_cmd,
        plugin_cmd,
        plugins_cmd,
        probe_cmd,
        stream_cmd,
        train_cmd,
    )

    for module in (plugins_cmd, train_cmd, evaluate_cmd, probe_cmd, codec_cmd, compare_cmd, plugin_cmd, export_cmd,
                   stream_cmd):
        for command in module.COMMANDS:
            cli.add_command(command)
    return cli


def main(argv: list[str] | None = None) -> None:
    from sage_core.plugins import load_plugins

    try:
        registry = load_plugins()
        group = build_cli()
        registry.add_commands(group)
    except SageError as exc:  # strict plugin mode: the first broken plugin ends the program
        click.echo(f"sage: error: {exc}", err=True)
        sys.exit(2)
    group.main(args=argv, prog_name="sage", obj=registry)


if __name__ == "__main__":  # pragma: no cover
    main()
