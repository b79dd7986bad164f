"""The ``register_sensors`` hook: sensors are registered, attributed and validated like compressors."""

from __future__ import annotations

import types

import pytest

from sage_core import ModalitySpec, SensorSpec, hookimpl
from sage_core.errors import PluginError
from sage_core.plugins import load_plugins


def sensor_plugin(name: str, *specs: object, modality: str | None = None) -> types.SimpleNamespace:
    """A plugin registering sensors ``specs`` (and the modality ``modality`` they feed, if given)."""

    @hookimpl
    def register_modalities(register):
        if modality:
            register(ModalitySpec(name=modality, factory="x:Modality"))

    @hookimpl
    def register_sensors(register):
        for spec in specs:
            register(spec)

    return types.SimpleNamespace(__name__=name, SAGE_PLUGIN_API=2, register_modalities=register_modalities,
                                 register_sensors=register_sensors)


def test_sensors_are_collected_and_attributed_to_their_plugin() -> None:
    thermal = SensorSpec(name="thermal_cam", modality="thermal", factory="x:Y", summary="A FLIR camera.")
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[sensor_plugin("inline", thermal, modality="thermal")])
    assert registry.sensor("thermal_cam").plugin == "inline"
    record = next(r for r in registry.records if r.name == "inline")
    assert record.status == "ok" and record.sensors == ["thermal_cam"]
    with pytest.raises(PluginError, match="no installed plugin registers sensor 'nope'.*thermal_cam"):
        registry.sensor("nope")


def test_a_duplicate_sensor_name_disables_the_second_plugin_only() -> None:
    first = sensor_plugin("first", SensorSpec(name="mic2", modality="audio", factory="a:B"), modality="audio")
    second = sensor_plugin("second", SensorSpec(name="mic2", modality="audio", factory="c:D"),
                           SensorSpec(name="other", modality="audio", factory="e:F"))
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[first, second])
    records = {r.name: r for r in registry.records}
    assert records["first"].status == "ok"
    assert records["second"].error == "claims sensor name 'mic2', already registered by first"
    assert registry.sensor("mic2").factory == "a:B"
    assert "other" not in registry.sensors  # all or nothing per plugin


def test_a_sensor_of_a_modality_nobody_registers_disables_its_plugin() -> None:
    orphan = sensor_plugin("orphan", SensorSpec(name="sonar", modality="sonar", factory="x:Y"))
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[orphan])
    assert "needs modality 'sonar'" in next(r for r in registry.records if r.name == "orphan").error
    assert "sonar" not in registry.sensors


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "Bad-Name", "modality": "audio", "factory": "m:C"},
        {"name": "ok", "modality": "audio", "factory": "no_colon"},
        {"name": "ok", "modality": "audio", "factory": "m:C", "opens": "network"},
    ],
)
def test_sensor_spec_validation(kwargs) -> None:
    with pytest.raises(ValueError):
        SensorSpec(**kwargs)
