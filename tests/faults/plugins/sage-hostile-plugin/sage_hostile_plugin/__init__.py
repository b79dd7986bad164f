"""A compressor that misbehaves on demand: ``SAGE_HOSTILE_MODE`` picks how (see ``model.MODES``)."""

from sage_core import CompressorSpec, ModalitySpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_modalities(register):
    register(ModalitySpec(name="hostile", factory="sage_hostile_plugin.model:HostileModality"))


@hookimpl
def register_compressors(register):
    register(CompressorSpec(id="hostile_puzzle", modality="hostile", factory="sage_hostile_plugin.model:HostileCompressor"))
