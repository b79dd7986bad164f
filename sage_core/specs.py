"""What a plugin registers: light descriptions that point at code to import later.

Specs name their implementation by ``"module:attribute"`` so listing plugins never
imports torch; the class is imported only when a command actually needs it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sage_core.errors import PluginError

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


def _import_factory(factory: str, what: str) -> Any:
    """``import_object`` with a ``PluginError`` naming ``what`` when the code cannot be imported."""
    try:
        return import_object(factory)
    except (ImportError, AttributeError, ValueError) as exc:
        raise PluginError(f"{what}: {factory} cannot be imported ({exc}); is its plugin installed?") from None


def _check_id(kind: str, value: str) -> None:
    if not _ID.match(value):
        raise ValueError(f"{kind} id {value!r} must be lower-case letters, digits and '_'")


def _check_factory(factory: str, shape: str = "module:Class") -> None:
    if ":" not in factory:
        raise ValueError(f"factory {factory!r} must be '{shape}'")


@dataclass(frozen=True)
class ModalitySpec:
    """A modality a plugin offers: observations of one kind (``sage_core.Modality``).

    ``factory`` is ``"module:Class"`` of a ``Modality`` subclass. Compressors and data
    sources name a modality by ``name``; it must be registered by some installed plugin.
    """

    name: str
    factory: str
    summary: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_id("modality", self.name)
        _check_factory(self.factory)

    def load(self) -> Any:
        """Import and return the modality class, checked against this spec."""
        from sage_core.modality import Modality

        cls = _import_factory(self.factory, f"modality {self.name!r}")
        if not (isinstance(cls, type) and issubclass(cls, Modality)) or getattr(cls, "name", None) != self.name:
            raise PluginError(f"modality {self.name!r}: {self.factory} is not a Modality subclass named {self.name!r}")
        return cls


@dataclass(frozen=True)
class CompressorSpec:
    """A compressor a plugin offers.

    ``factory`` is ``"module:Class"`` of a ``PuzzleCompressor`` subclass; ``config``
    optionally names its pydantic config class in a torch-free module, so
    ``sage info`` can show the schema without importing the model. A ``reference``
    compressor (a re-implementation kept for benchmarks) is never chosen when a user names
    a modality (``sage encode audio``, ``sage compare audio``); name it by id instead.
    ``shipped_run`` names a trained run directory inside the plugin's package
    (``"package:folder"``), used when the user has no run of their own: the compressor works
    right after ``pip install``.
    """

    id: str
    modality: str
    factory: str
    summary: str = ""
    config: str | None = None
    reference: bool = False
    shipped_run: str | None = None
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_id("compressor", self.id)
        _check_id("modality", self.modality)
        _check_factory(self.factory)
        if self.shipped_run is not None and ":" not in self.shipped_run:
            raise ValueError(f"shipped_run {self.shipped_run!r} must be 'package:folder'")

    def load(self) -> Any:
        """Import and return the compressor class, checked against this spec."""
        from sage_core.contract import PuzzleCompressor

        cls = _import_factory(self.factory, f"compressor {self.id!r}")
        if not (isinstance(cls, type) and issubclass(cls, PuzzleCompressor)):
            raise PluginError(f"compressor {self.id!r}: {self.factory} is not a PuzzleCompressor subclass")
        modality = getattr(getattr(cls, "Modality", None), "name", None)
        if getattr(cls, "id", None) != self.id or modality != self.modality:
            raise PluginError(
                f"compressor {self.id!r}: {self.factory} declares id {getattr(cls, 'id', None)!r} and modality "
                f"{modality!r}, but was registered as {self.id!r} of modality {self.modality!r}"
            )
        return cls

    def shipped_path(self) -> Path | None:
        """The shipped run directory, or None when there is none (or it is not installed)."""
        if not self.shipped_run:
            return None
        package, _, folder = self.shipped_run.partition(":")
        try:
            from importlib.resources import files

            path = Path(str(files(package).joinpath(folder)))
        except (ImportError, TypeError, ValueError):
            return None
        return path if (path / "config.json").is_file() else None

    def load_config(self) -> Any:
        """Return the pydantic config class, importing as little as possible."""
        if self.config is not None:
            return import_object(self.config)
        return self.load().Config


@dataclass(frozen=True)
class DataSourceSpec:
    """A named data loader for a modality, selected with ``sage train ID --source NAME``.

    ``factory`` is ``"module:function"`` with the signature
    ``(modality: Modality, path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits``.
    """

    name: str
    modality: str
    factory: str
    summary: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_id("data source", self.name)
        _check_id("modality", self.modality)
        _check_factory(self.factory, "module:function")

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
