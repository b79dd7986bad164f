"""Implements one hook, under a name no hook has."""

from sage_core import ModalitySpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_everything(register):
    register(ModalitySpec(name="misspelled", factory="sage_misspelled_plugin:Nothing"))
