"""``python -m sage_core.cli`` runs the ``sage`` command."""

from sage_core.cli.main import main

main()
