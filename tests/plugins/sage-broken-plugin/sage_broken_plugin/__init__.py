"""Raises on import, as a plugin with a missing dependency would."""

raise ImportError("sage_broken_plugin needs a package that is not installed")
