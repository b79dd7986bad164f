"""What a plugin registers: light descriptions that point at code to import later.

Specs name their implementation by ``"module:attribute"`` so listing plugins never
imports torch; the class is imported only when a command actually needs it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def import_object(path: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected 'module:attribute', got {path!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


def _check_id(kind: str, value: str) -> None:
    if not _ID.match(value):
        raise ValueError(f"{kind} id {value!r} must be lower-case letters, digits and '_'")


@dataclass(frozen=True)
class CompressorSpec:
    """A compressor a plugin offers.

    ``factory`` is ``"module:Class"`` of a ``PuzzleCompressor`` subclass; ``config``
    optionally names its pydantic config class in a torch-free module, so
    ``sage info`` can show the schema without importing the model.
    """

    id: str
    modality: str
    factory: str
    summary: str = ""
    config: str | None = None
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_id("compressor", self.id)
        _check_id("modality", self.modality)
        if ":" not in self.factory:
            raise ValueError(f"factory {self.factory!r} must be 'module:Class'")

    def load(self) -> Any:
        """Import and return the compressor class."""
        return import_object(self.factory)

    def load_config(self) -> Any:
        """Return the pydantic config class, importing as little as possible."""
        if self.config is not None:
            return import_object(self.config)
        return self.load().Config


@dataclass(frozen=True)
class DataSourceSpec:
    """A named data loader for a modality, selected with ``sage train ID --source NAME``.

    ``factory`` is ``"module:function"`` with the signature
    ``(config, path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits``.
    """

    name: str
    modality: str
    factory: str
    summary: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_id("data source", self.name)
        _check_id("modality", self.modality)
        if ":" not in self.factory:
            raise ValueError(f"factory {self.factory!r} must be 'module:function'")

    def load(self) -> Any:
        return import_object(self.factory)


#: What a sensor opens: a device by name (``mic``, ``mic:2``), a file path, or ``-`` (stdin).
SENSOR_OPENS = ("device", "file", "stdin")


@dataclass(frozen=True)
class SensorSpec:
    """A live or replayed source of observations of one modality, for ``sage stream``.

    ``factory`` is ``"module:Class"`` of a ``sage_core.Sensor`` subclass, in a module that
    imports no device library at module level (``sage sensors`` imports it to ask what is
    available). ``opens`` says which SOURCE arguments it takes (see ``SENSOR_OPENS``); ``extra``
    holds free-form facts ``sage sensors --json`` shows (e.g. the pip extra that installs it).
    """

    name: str
    modality: str
    factory: str
    summary: str = ""
    opens: str = "device"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_id("sensor", self.name)
        _check_id("modality", self.modality)
        if ":" not in self.factory:
            raise ValueError(f"factory {self.factory!r} must be 'module:Class'")
        if self.opens not in SENSOR_OPENS:
            raise ValueError(f"opens {self.opens!r} must be one of {', '.join(SENSOR_OPENS)}")

    def load(self) -> Any:
        """Import and return the sensor class."""
        return import_object(self.factory)
