"""Plugin discovery through real installed entry points, env switches and failure isolation."""

from __future__ import annotations

import types

import pytest

from sage_core import CompressorSpec, ModalitySpec, hookimpl
from sage_core.errors import PluginError, UnknownCompressorError
from sage_core.plugins import load_plugins

HEALTHY = {"SAGE_DISABLE_PLUGINS": "sage-broken-plugin,sage-shadowing-plugin"}


def records(registry) -> dict:
    return {record.name: record for record in registry.records}


def test_installed_plugins_are_found_with_their_status(plugin_site, capsys) -> None:
    registry = load_plugins(environ={})
    found = records(registry)
    assert found["sage-fixture-plugin"].status == "ok"
    assert found["sage-fixture-plugin"].modalities == ["toy"]
    assert found["sage-fixture-plugin"].compressors == ["toy_puzzle", "toy_reference"]
    assert found["sage-fixture-plugin"].data_sources == ["toy_npy_folder"]
    assert found["sage-broken-plugin"].status == "error"
    assert "needs a package that is not installed" in found["sage-broken-plugin"].error
    shadowing = found["sage-shadowing-plugin"]
    assert shadowing.status == "error"
    assert shadowing.error == "claims compressor id 'toy_puzzle', already registered by sage-fixture-plugin"
    assert registry.compressor("toy_puzzle").plugin == "sage-fixture-plugin"
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sage: warning")]
    assert len(warnings) == 2, warnings


def test_allow_list_and_block_list(plugin_site) -> None:
    none = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""})
    assert {r.status for r in none.records} == {"blocked"} and not none.compressors
    only = records(load_plugins(environ={"SAGE_LOAD_PLUGINS": "sage-fixture-plugin"}))
    assert only["sage-fixture-plugin"].status == "ok"
    assert only["sage-broken-plugin"].status == "blocked"
    by_entry_point_name = records(load_plugins(environ={"SAGE_DISABLE_PLUGINS": "broken, shadowing"}))
    assert by_entry_point_name["sage-broken-plugin"].status == "blocked"
    assert by_entry_point_name["sage-shadowing-plugin"].status == "blocked"


@pytest.mark.parametrize("value, strict", [("1", True), ("true", True), ("on", True), ("false", False),
                                           ("0", False), ("no", False), ("", False)])
def test_strict_mode_reraises_only_when_asked(plugin_site, value: str, strict: bool) -> None:
    if strict:
        with pytest.raises(PluginError, match="sage-broken-plugin"):
            load_plugins(environ={"SAGE_STRICT_PLUGINS": value})
    else:
        assert records(load_plugins(environ={"SAGE_STRICT_PLUGINS": value}))["sage-broken-plugin"].status == "error"


def make_plugin(api: object, *items: object, name: str = "inline", **hooks: object) -> types.SimpleNamespace:
    """A plugin object registering ``items`` (modalities first) plus any extra ``hooks``."""

    @hookimpl
    def register_modalities(register):
        for item in items:
            if isinstance(item, ModalitySpec):
                register(item)

    @hookimpl
    def register_compressors(register):
        for item in items:
            if not isinstance(item, ModalitySpec):
                register(item)

    return types.SimpleNamespace(__name__=name, SAGE_PLUGIN_API=api, register_modalities=register_modalities,
                                 register_compressors=register_compressors, **hooks)


INLINE = ModalitySpec(name="inline", factory="x:Modality")


def test_unsupported_contract_version_is_that_plugins_error(plugin_site) -> None:
    spec = CompressorSpec(id="future_puzzle", modality="inline", factory="x:Y")
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(99, INLINE, spec)])
    record = records(registry)["inline"]
    assert record.status == "error" and "written for plugin API 99" in record.error
    assert "future_puzzle" not in registry.compressors


def test_a_plugin_of_the_previous_api_is_told_what_changed(plugin_site) -> None:
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(1, INLINE)])
    error = records(registry)["inline"].error
    assert "written for plugin API 1" in error and "Modality" in error and "docs/plugins.md" in error
    assert "\n" not in error


def test_registering_something_that_is_not_a_spec_is_an_error(plugin_site) -> None:
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(2, INLINE, {"id": "x"})])
    assert "expects CompressorSpec" in records(registry)["inline"].error
    assert "inline" not in registry.modalities  # a failing plugin keeps nothing it registered


def test_direct_registration_and_unknown_ids(plugin_site) -> None:
    spec = CompressorSpec(id="inline_puzzle", modality="inline", factory="x:Y")
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(2, INLINE, spec)])
    assert registry.compressor("inline_puzzle").plugin == "inline"
    assert registry.modality("inline").plugin == "inline"
    with pytest.raises(UnknownCompressorError, match="inline_puzzle"):
        registry.compressor("nope")


def test_a_compressor_of_a_modality_nobody_registers_disables_its_plugin(plugin_site) -> None:
    spec = CompressorSpec(id="orphan_puzzle", modality="nowhere", factory="x:Y")
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(2, spec)])
    assert "needs modality 'nowhere', which no loaded plugin registers" in records(registry)["inline"].error
    assert "orphan_puzzle" not in registry.compressors


def test_a_misspelled_hook_is_an_error_not_silence(plugin_site) -> None:
    @hookimpl
    def register_everything(register):
        register(INLINE)

    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""},
                            extra=[make_plugin(2, INLINE, register_everything=register_everything)])
    assert "unknown hook 'register_everything'" in records(registry)["inline"].error


def test_sys_exit_in_plugin_code_disables_only_that_plugin(plugin_site) -> None:
    import sys

    def exiting():
        sys.exit(3)

    class Exits:
        __name__ = "exits"
        SAGE_PLUGIN_API = 2

        @hookimpl
        def register_compressors(self, register):
            exiting()

    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[Exits(), make_plugin(2, INLINE)])
    found = records(registry)
    assert found["exits"].status == "error" and "SystemExit(3)" in found["exits"].error
    assert found["inline"].status == "ok"


def test_commands_a_plugin_adds_are_its_own_and_never_replace_others(plugin_site) -> None:
    import click

    group = click.Group("sage")

    @group.command("train")
    def builtin_train():
        """The built-in."""

    @hookimpl
    def adds_hello(cli):
        @cli.command("hello")
        def hello():
            """Fine: a new name."""

    @hookimpl
    def takes_train(cli):
        @cli.command("extra")
        def extra():
            """Added before the takeover; must go with it."""

        @cli.command("train")
        def evil_train():
            """Replaces the built-in."""

    @hookimpl
    def raises(cli):
        @cli.command("half")
        def half():
            """Added before the hook failed; must go."""

        raise RuntimeError("boom")

    plugins = [make_plugin(2, INLINE, CompressorSpec("good_puzzle", "inline", "x:Y"), register_commands=adds_hello),
               make_plugin(2, CompressorSpec("evil_puzzle", "inline", "x:Y"), name="evil", register_commands=takes_train),
               make_plugin(2, CompressorSpec("boom_puzzle", "inline", "x:Y"), name="boom", register_commands=raises)]
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=plugins)
    registry.add_commands(group)
    found = records(registry)
    assert group.commands["train"].callback is builtin_train.callback
    assert set(group.commands) == {"train", "hello"}
    assert found["inline"].commands == ["hello"] and found["inline"].status == "ok"
    assert found["evil"].error == "claims command 'train', which sage-core already provides"
    assert "register_commands failed: RuntimeError('boom')" in found["boom"].error
    assert set(registry.compressors) == {"good_puzzle"}  # a disabled plugin keeps no compressor


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": "Bad-Id", "modality": "audio", "factory": "m:C"},
        {"id": "ok", "modality": "audio", "factory": "no_colon"},
    ],
)
def test_spec_validation(kwargs) -> None:
    with pytest.raises(ValueError):
        CompressorSpec(**kwargs)
