"""A test plugin: registers the tiny ``toy_puzzle`` compressor and a ``sage toy-hello`` command."""

import click

from sage_core import CompressorSpec, DataSourceSpec, ModalitySpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_modalities(register):
    register(ModalitySpec(name="toy", factory="sage_fixture_plugin.toy:ToyModality", summary="Smooth 30x30 fields."))


@hookimpl
def register_compressors(register):
    register(
        CompressorSpec(
            id="toy_puzzle",
            modality="toy",
            factory="sage_fixture_plugin.toy:ToyCompressor",
            config="sage_fixture_plugin.toy_config:ToyConfig",
            summary="Smooth 30x30 fields in [0, 1]; trains in seconds.",
        )
    )
    register(
        CompressorSpec(
            id="toy_reference",
            modality="toy",
            factory="sage_fixture_plugin.toy:ToyReference",
            config="sage_fixture_plugin.toy_config:ToyConfig",
            summary="Reference only: never picked by modality.",
            reference=True,
        )
    )


@hookimpl
def register_data_sources(register):
    register(
        DataSourceSpec(
            name="toy_npy_folder",
            modality="toy",
            factory="sage_fixture_plugin.toy:load_npy_folder",
            summary="A folder of .npy files, each (30, 30) or (N, 30, 30).",
        )
    )


@hookimpl
def register_commands(cli):
    @cli.command("toy-hello")
    def toy_hello():
        """Say hello from the fixture plugin."""
        click.echo("hello from sage-fixture-plugin")
