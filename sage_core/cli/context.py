"""What every ``sage`` command shares: the plugin registry of this invocation, completion.

Command modules import this module, never ``sage_core.cli.main`` (which imports them).
"""

from __future__ import annotations

from typing import Any

import click


def get_registry(ctx: click.Context | None = None) -> Any:
    """The plugin registry for this invocation, loaded once."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        from sage_core.plugins import load_plugins

        root.obj = load_plugins()
    return root.obj


def complete_compressor_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for compressor ids."""
    return [cid for cid in sorted(get_registry(ctx).compressors) if cid.startswith(incomplete)]
