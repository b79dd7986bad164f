"""Registers ``toy_puzzle`` again; sage must report this plugin as broken, not crash."""

from sage_core import CompressorSpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_compressors(register):
    register(CompressorSpec(id="toy_puzzle", modality="toy", factory="sage_shadowing_plugin:Nothing"))
