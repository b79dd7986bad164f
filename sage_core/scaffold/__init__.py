"""``sage plugin new``: scaffold a plugin package that installs and passes its own tests."""

from sage_core.scaffold.new_plugin import PluginNames, scaffold_plugin

__all__ = ["PluginNames", "scaffold_plugin"]
