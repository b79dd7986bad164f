"""The whole plugin contract on one screen.

A plugin is a module named by an entry point in the ``sage`` group. It declares the
contract version it was written for (``SAGE_PLUGIN_API = 2``) and implements any of
the hooks below with ``@sage_core.hookimpl``. Hooks receive a ``register`` callable
rather than returning lists, so each item is validated and attributed to its plugin,
and new keyword arguments can be added later without breaking anyone.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

#: Version of the plugin contract. Bumped only when a hook, the Modality or the
#: PuzzleCompressor contract changes incompatibly; see docs/plugins.md for the policy.
PLUGIN_API = 2
#: Contract versions this core can load.
SUPPORTED_PLUGIN_APIS = frozenset({2})
#: What changed since each version this core no longer loads: the line `sage plugins` shows.
MIGRATIONS = {
    1: "API 2 split PuzzleCompressor into a Modality (files, data, metrics, baseline; registered with "
    "register_modalities) and the model; see 'Migrating from API 1' in docs/plugins.md",
}

hookspec = pluggy.HookspecMarker("sage")
hookimpl = pluggy.HookimplMarker("sage")


@hookspec
def register_modalities(register: Callable[[Any], None]) -> None:
    """Register modalities: call ``register(ModalitySpec(...))`` once per modality."""


@hookspec
def register_compressors(register: Callable[[Any], None]) -> None:
    """Register compressors: call ``register(CompressorSpec(...))`` once per compressor."""


@hookspec
def register_data_sources(register: Callable[[Any], None]) -> None:
    """Register data loaders: call ``register(DataSourceSpec(...))`` once per source."""


@hookspec
def register_sensors(register: Callable[[Any], None]) -> None:
    """Register live or replayed sources for ``sage stream``: ``register(SensorSpec(...))`` once per sensor."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``sage`` group: ``cli.add_command(...)`` or ``@cli.command()``."""
