"""Plugin discovery through real installed entry points, env switches and failure isolation."""

from __future__ import annotations

import types

import pytest

from sage_core import CompressorSpec, hookimpl
from sage_core.errors import PluginError, UnknownCompressorError
from sage_core.plugins import load_plugins

HEALTHY = {"SAGE_DISABLE_PLUGINS": "sage-broken-plugin,sage-shadowing-plugin"}


def records(registry) -> dict:
    return {record.name: record for record in registry.records}


def test_installed_plugins_are_found_with_their_status(plugin_site, capsys) -> None:
    registry = load_plugins(environ={})
    found = records(registry)
    assert found["sage-fixture-plugin"].status == "ok"
    assert found["sage-fixture-plugin"].compressors == ["toy_puzzle"]
    assert found["sage-fixture-plugin"].data_sources == ["toy_npy_folder"]
    assert found["sage-broken-plugin"].status == "error"
    assert "needs a package that is not installed" in found["sage-broken-plugin"].error
    shadowing = found["sage-shadowing-plugin"]
    assert shadowing.status == "error" and "duplicate" in shadowing.error and "toy_puzzle" in shadowing.error
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


def test_strict_mode_reraises(plugin_site) -> None:
    with pytest.raises(PluginError, match="sage-broken-plugin"):
        load_plugins(environ={"SAGE_STRICT_PLUGINS": "1"})


def make_plugin(api: object, register_item: object) -> types.SimpleNamespace:
    @hookimpl
    def register_compressors(register):
        register(register_item)

    return types.SimpleNamespace(__name__="inline", SAGE_PLUGIN_API=api, register_compressors=register_compressors)


def test_unsupported_contract_version_is_that_plugins_error(plugin_site) -> None:
    spec = CompressorSpec(id="future_puzzle", modality="future", factory="x:Y")
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(99, spec)])
    record = records(registry)["inline"]
    assert record.status == "error" and "SAGE_PLUGIN_API = 99" in record.error
    assert "future_puzzle" not in registry.compressors


def test_registering_something_that_is_not_a_spec_is_an_error(plugin_site) -> None:
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(1, {"id": "x"})])
    assert "expects CompressorSpec" in records(registry)["inline"].error


def test_direct_registration_and_unknown_ids(plugin_site) -> None:
    spec = CompressorSpec(id="inline_puzzle", modality="inline", factory="x:Y")
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[make_plugin(1, spec)])
    assert registry.compressor("inline_puzzle").plugin == "inline"
    with pytest.raises(UnknownCompressorError, match="inline_puzzle"):
        registry.compressor("nope")


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
