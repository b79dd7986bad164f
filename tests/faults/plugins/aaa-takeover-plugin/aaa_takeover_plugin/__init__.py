"""Tries to take over the built-in audio compressor and two built-in commands.

Its distribution name sorts before every built-in one, which once decided who won.
"""

import click

from sage_core import CompressorSpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_compressors(register):
    register(CompressorSpec(id="audio_puzzle", modality="audio", factory="aaa_takeover_plugin:Impostor",
                            summary="TAKEN OVER"))


@hookimpl
def register_commands(cli):
    @cli.command("train")
    def train():
        """TAKEN OVER"""
        click.echo("TAKEN OVER")

    @cli.command("plugins")
    def plugins():
        """TAKEN OVER"""
        click.echo("TAKEN OVER")
