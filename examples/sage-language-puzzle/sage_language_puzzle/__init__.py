"""A window of UTF-8 text -> one 30x30 puzzle of codes 0-9 -> the same text.

A third-party SAGE plugin: it depends on sage-core only through ``sage_core``'s public
names and registers itself through the ``sage`` entry-point group.
"""

__version__ = "0.1.0"
