"""Find, load and validate plugins.

The manager is built by :func:`load_plugins`, never at import time, so tests and
embedding applications can build as many as they like. Each entry point is loaded in
its own ``try``: a broken plugin is recorded with status ``error`` and a one-line
warning, and everything else keeps working (``SAGE_STRICT_PLUGINS=1`` re-raises).

Environment switches:
- ``SAGE_LOAD_PLUGINS``: comma-separated allow-list of plugin names (entry-point or
  distribution name); set but empty loads none.
- ``SAGE_DISABLE_PLUGINS``: comma-separated block-list.
- ``SAGE_STRICT_PLUGINS=1``: raise on the first broken plugin.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable

import pluggy

from sage_core import hookspecs
from sage_core.errors import PluginError, UnknownCompressorError
from sage_core.specs import CompressorSpec, DataSourceSpec, SensorSpec

ENTRY_POINT_GROUP = "sage"


@dataclass
class PluginRecord:
    """What ``sage plugins`` shows for one plugin."""

    name: str
    version: str
    entry_point: str
    status: str = "ok"  # ok | error | blocked
    error: str | None = None
    compressors: list[str] = field(default_factory=list)
    data_sources: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PluginRegistry:
    """Everything the installed, healthy plugins registered."""

    manager: pluggy.PluginManager
    records: list[PluginRecord]
    compressors: dict[str, CompressorSpec]
    data_sources: dict[str, DataSourceSpec]
    sensors: dict[str, SensorSpec] = field(default_factory=dict)
    strict: bool = False

    def compressor(self, compressor_id: str) -> CompressorSpec:
        """The spec for ``compressor_id``, or an error listing what is available."""
        try:
            return self.compressors[compressor_id]
        except KeyError:
            known = ", ".join(sorted(self.compressors)) or "none"
            raise UnknownCompressorError(
                f"no installed plugin registers compressor {compressor_id!r} (available: {known}); "
                "see `sage plugins`"
            ) from None

    def data_source(self, name: str) -> DataSourceSpec:
        try:
            return self.data_sources[name]
        except KeyError:
            known = ", ".join(sorted(self.data_sources)) or "none"
            raise PluginError(f"no data source {name!r} (available: {known})") from None

    def sensor(self, name: str) -> SensorSpec:
        try:
            return self.sensors[name]
        except KeyError:
            known = ", ".join(sorted(self.sensors)) or "none"
            raise PluginError(f"no sensor {name!r} (available: {known}); see `sage sensors`") from None

    def compressors_for(self, modality: str) -> list[CompressorSpec]:
        return [spec for spec in self.compressors.values() if spec.modality == modality]

    def add_commands(self, cli: Any) -> None:
        """Let each healthy plugin add CLI commands; a failure disables only that plugin."""
        for record, impl in self._impls("register_commands"):
            try:
                impl.function(cli=cli)
            except Exception as exc:  # noqa: BLE001 - one plugin must not break the CLI
                _fail(record, f"register_commands failed: {exc!r}", self.strict, exc)

    def _impls(self, hook: str) -> Iterable[tuple[PluginRecord, Any]]:
        """Each healthy plugin's implementation of ``hook``, in plugin-name order."""
        impls = {impl.plugin_name: impl for impl in getattr(self.manager.hook, hook).get_hookimpls()}
        for record in self.records:
            if record.status == "ok" and record.name in impls:
                yield record, impls[record.name]


def _names(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _fail(record: PluginRecord, message: str, strict: bool, exc: BaseException | None) -> None:
    record.status = "error"
    record.error = message
    print(f"sage: warning: plugin {record.name!r} disabled: {message}", file=sys.stderr)
    if strict:
        raise PluginError(f"plugin {record.name!r}: {message}") from exc


def _is_blocked(ep: EntryPoint, dist_name: str, environ: Mapping[str, str]) -> bool:
    names = {ep.name, dist_name}
    if "SAGE_LOAD_PLUGINS" in environ and not names & _names(environ["SAGE_LOAD_PLUGINS"]):
        return True
    return bool(names & _names(environ.get("SAGE_DISABLE_PLUGINS", "")))


def _sage_entry_points() -> list[EntryPoint]:
    eps = {(ep.name, ep.value): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(eps.values(), key=lambda ep: (ep.dist.name if ep.dist else "", ep.name))


def load_plugins(
    environ: Mapping[str, str] | None = None,
    extra: Iterable[object] = (),
) -> PluginRegistry:
    """Load every plugin in the ``sage`` entry-point group plus ``extra`` objects.

    ``extra`` lets tests and applications register plugin modules or objects directly.
    """
    environ = os.environ if environ is None else environ
    strict = environ.get("SAGE_STRICT_PLUGINS", "") not in ("", "0")
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []

    candidates: list[tuple[PluginRecord, Callable[[], object]]] = []
    for ep in _sage_entry_points():
        dist_name = ep.dist.name if ep.dist else ep.name
        record = PluginRecord(
            name=dist_name,
            version=ep.dist.version if ep.dist else "",
            entry_point=f"{ep.name} = {ep.value}",
        )
        records.append(record)
        if _is_blocked(ep, dist_name, environ):
            record.status = "blocked"
            continue
        candidates.append((record, ep.load))
    for obj in extra:
        name = getattr(obj, "__name__", type(obj).__name__)
        record = PluginRecord(name=name, version="", entry_point="(registered directly)")
        records.append(record)
        candidates.append((record, lambda obj=obj: obj))

    for record, load in candidates:
        try:
            plugin = load()
            api = getattr(plugin, "SAGE_PLUGIN_API", None)
            if api not in hookspecs.SUPPORTED_PLUGIN_APIS:
                supported = ", ".join(map(str, sorted(hookspecs.SUPPORTED_PLUGIN_APIS)))
                raise PluginError(
                    f"declares SAGE_PLUGIN_API = {api!r}; this sage-core supports {supported}"
                )
            manager.register(plugin, name=record.name)
            record.hooks = sorted(
                hook.name for hook in manager.get_hookcallers(plugin) or []
            )
        except Exception as exc:  # noqa: BLE001 - record and keep going
            _fail(record, str(exc) if isinstance(exc, PluginError) else repr(exc), strict, exc)

    registry = PluginRegistry(manager, records, {}, {}, {}, strict)
    _collect(registry, "register_compressors", CompressorSpec, registry.compressors, "compressors")
    _collect(registry, "register_data_sources", DataSourceSpec, registry.data_sources, "data_sources")
    _collect(registry, "register_sensors", SensorSpec, registry.sensors, "sensors")
    failed = {record.name for record in records if record.status == "error"}
    for table in (registry.compressors, registry.data_sources, registry.sensors):
        for key in [key for key, spec in table.items() if spec.plugin in failed]:
            del table[key]
    return registry


def _collect(
    registry: PluginRegistry,
    hook: str,
    kind: type,
    target: dict[str, Any],
    record_field: str,
) -> None:
    """Call ``hook`` plugin by plugin; keep a plugin's items only if all of them are valid."""
    for record, impl in registry._impls(hook):
        items: dict[str, Any] = {}

        def register(item: Any, items: dict[str, Any] = items) -> None:
            if not isinstance(item, kind):
                raise PluginError(f"{hook} expects {kind.__name__}, got {type(item).__name__}")
            key = getattr(item, "id", None) or getattr(item, "name")
            if key in target or key in items:
                owner = target[key].plugin if key in target else record.name
                raise PluginError(f"duplicate {kind.__name__} id {key!r} (already registered by {owner})")
            items[key] = replace(item, plugin=record.name)

        try:
            impl.function(register=register)
        except Exception as exc:  # noqa: BLE001 - one plugin must not break the rest
            message = str(exc) if isinstance(exc, PluginError) else f"{hook} failed: {exc!r}"
            _fail(record, message, registry.strict, exc)
            continue
        target.update(items)
        getattr(record, record_field).extend(items)
