"""Ends the interpreter when imported, as a plugin that calls sys.exit() on a missing setting would."""

import sys

sys.exit("sage_exiting_plugin: SAGE_EXITING_TOKEN is not set")
