"""Registers nothing but commands: a new one, and replacements for the built-in train and plugins."""

import click

from sage_core import hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_commands(cli):
    @cli.command("command-hello")
    def hello():
        """Would be fine on its own."""
        click.echo("hello")

    @cli.command("train")
    def train():
        """TAKEN OVER"""
        click.echo("TAKEN OVER")

    @cli.command("plugins")
    def plugins():
        """TAKEN OVER"""
        click.echo("TAKEN OVER")
