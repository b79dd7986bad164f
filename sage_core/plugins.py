"""Find, load and validate plugins.

The manager is built by :func:`load_plugins`, never at import time, so tests and
embedding applications can build as many as they like. Each entry point is loaded in
its own ``try``: a broken plugin is recorded with status ``error`` and a one-line
warning, and everything else keeps working (``SAGE_STRICT_PLUGINS=1`` re-raises).

Ownership: the built-in plugins load first, then the others in distribution-name order.
The first plugin to register an id (modality, compressor, data source) or a command name
keeps it; a later plugin claiming it is refused as a whole, with one line naming both
distributions. A plugin that fails in any hook is disabled as a whole: nothing it
registered stays.

Environment switches:
- ``SAGE_LOAD_PLUGINS``: comma-separated allow-list of plugin names (entry-point or
  distribution name); set but empty loads none.
- ``SAGE_DISABLE_PLUGINS``: comma-separated block-list.
- ``SAGE_STRICT_PLUGINS=1`` (or true/yes/on): raise on the first broken plugin.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, TypeVar

import pluggy

from sage_core import hookspecs
from sage_core.errors import PluginError, SageError, UnknownCompressorError
from sage_core.specs import CompressorSpec, DataSourceSpec, ModalitySpec, SensorSpec

ENTRY_POINT_GROUP = "sage"
#: Distributions that load first, so no other plugin can take over their ids or commands.
BUILTIN_PLUGINS = ("sage-audio-puzzle", "sage-vision-puzzle")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass
class PluginRecord:
    """What ``sage plugins`` shows for one plugin."""

    name: str
    version: str
    entry_point: str
    status: str = "ok"  # ok | error | blocked
    error: str | None = None
    modalities: list[str] = field(default_factory=list)
    compressors: list[str] = field(default_factory=list)
    data_sources: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: What each registration hook registers: (hook, spec type, key attribute, registry/record field).
_TABLES = (
    ("register_modalities", ModalitySpec, "name", "modalities"),
    ("register_compressors", CompressorSpec, "id", "compressors"),
    ("register_data_sources", DataSourceSpec, "name", "data_sources"),
    ("register_sensors", SensorSpec, "name", "sensors"),
)


@dataclass
class PluginRegistry:
    """Everything the installed, healthy plugins registered."""

    manager: pluggy.PluginManager
    records: list[PluginRecord]
    modalities: dict[str, ModalitySpec] = field(default_factory=dict)
    compressors: dict[str, CompressorSpec] = field(default_factory=dict)
    data_sources: dict[str, DataSourceSpec] = field(default_factory=dict)
    sensors: dict[str, SensorSpec] = field(default_factory=dict)
    strict: bool = False

    def compressor(self, compressor_id: str) -> CompressorSpec:
        """The spec for ``compressor_id``, or an error listing what is available."""
        return _lookup(self.compressors, compressor_id, "compressor", UnknownCompressorError)

    def modality(self, name: str) -> ModalitySpec:
        return _lookup(self.modalities, name, "modality")

    def data_source(self, name: str) -> DataSourceSpec:
        return _lookup(self.data_sources, name, "data source")

    def sensor(self, name: str) -> SensorSpec:
        return _lookup(self.sensors, name, "sensor")

    def compressors_for(self, modality: str, include_reference: bool = False) -> list[CompressorSpec]:
        """The compressors of ``modality``; reference compressors only when asked for."""
        return [spec for spec in self.compressors.values()
                if spec.modality == modality and (include_reference or not spec.reference)]

    def version_of(self, plugin: str) -> str:
        return next((record.version for record in self.records if record.name == plugin), "")

    def add_commands(self, cli: Any) -> None:
        """Let each healthy plugin add CLI commands; it may add names, never replace one."""
        for record, impl in self._impls("register_commands"):
            before = dict(cli.commands)
            try:
                _call_plugin(impl.function, cli=cli)
                replaced = sorted(name for name, command in before.items() if cli.commands.get(name) is not command)
                if replaced:
                    owner = next((r.name for r in self.records if replaced[0] in r.commands), "sage-core")
                    raise PluginError(f"claims command {replaced[0]!r}, which {owner} already provides")
            except Exception as exc:  # noqa: BLE001 - one plugin must not break the CLI
                cli.commands.clear()
                cli.commands.update(before)
                self.disable(record, exc if isinstance(exc, PluginError) else f"register_commands failed: {exc!r}", exc)
                continue
            record.commands = sorted(set(cli.commands) - set(before))

    def disable(self, record: PluginRecord, problem: Exception | str, exc: BaseException | None = None) -> None:
        """Mark ``record`` as broken and drop everything it registered (raises in strict mode)."""
        for _, _, _, table in _TABLES:
            target: dict[str, Any] = getattr(self, table)
            for key in [key for key, spec in target.items() if spec.plugin == record.name]:
                del target[key]
            getattr(record, table).clear()
        _fail(record, str(problem), self.strict, exc)

    def _impls(self, hook: str) -> Iterator[tuple[PluginRecord, Any]]:
        """Each healthy plugin's implementation of ``hook``, in loading order."""
        impls = {impl.plugin_name: impl for impl in getattr(self.manager.hook, hook).get_hookimpls()}
        for record in self.records:
            if record.status == "ok" and record.name in impls:
                yield record, impls[record.name]


SpecT = TypeVar("SpecT")


def _lookup(table: Mapping[str, SpecT], key: str, noun: str, error: type[SageError] = PluginError) -> SpecT:
    """``table[key]``, or one line naming what is available."""
    try:
        return table[key]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise error(f"no installed plugin registers {noun} {key!r} (available: {known}); see `sage plugins`") from None


def _names(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _strict(environ: Mapping[str, str]) -> bool:
    value = environ.get("SAGE_STRICT_PLUGINS", "").strip().lower()
    if value not in _TRUE | _FALSE:
        print(f"sage: warning: SAGE_STRICT_PLUGINS={value!r} is not a boolean (use 1 or 0); strict mode is off",
              file=sys.stderr)
    return value in _TRUE


def _fail(record: PluginRecord, message: str, strict: bool, exc: BaseException | None) -> None:
    """Mark ``record`` broken with one warning line; in strict mode the error alone is that line."""
    record.status = "error"
    record.error = message
    if strict:
        raise PluginError(f"plugin {record.name!r}: {message} (SAGE_STRICT_PLUGINS is set)") from None
    print(f"sage: warning: plugin {record.name!r} disabled: {message}", file=sys.stderr)


def _call_plugin(function: Callable[..., Any], **kwargs: Any) -> Any:
    """Call plugin code; ``sys.exit`` and other BaseException escapes become ordinary errors.

    KeyboardInterrupt still stops the program: it is the user's, not the plugin's.
    """
    try:
        return function(**kwargs)
    except (KeyboardInterrupt, Exception):
        raise
    except BaseException as exc:  # SystemExit, GeneratorExit, ...: a plugin must not end sage
        raise PluginError(f"raised {type(exc).__name__}({', '.join(map(repr, exc.args))})") from None


def _is_blocked(ep: EntryPoint, dist_name: str, environ: Mapping[str, str]) -> bool:
    names = {ep.name, dist_name}
    if "SAGE_LOAD_PLUGINS" in environ and not names & _names(environ["SAGE_LOAD_PLUGINS"]):
        return True
    return bool(names & _names(environ.get("SAGE_DISABLE_PLUGINS", "")))


def _sage_entry_points() -> list[EntryPoint]:
    """Entry points of the ``sage`` group: built-ins first, then by distribution name."""
    eps = {(ep.name, ep.value): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}

    def order(ep: EntryPoint) -> tuple[int, str, str]:
        dist = ep.dist.name if ep.dist else ""
        rank = BUILTIN_PLUGINS.index(dist) if dist in BUILTIN_PLUGINS else len(BUILTIN_PLUGINS)
        return rank, dist, ep.name

    return sorted(eps.values(), key=order)


def _check_plugin(plugin: object) -> None:
    """The declared API version is loadable and every hook implementation names a known hook."""
    api = getattr(plugin, "SAGE_PLUGIN_API", None)
    if api not in hookspecs.SUPPORTED_PLUGIN_APIS:
        supported = ", ".join(map(str, sorted(hookspecs.SUPPORTED_PLUGIN_APIS)))
        note = hookspecs.MIGRATIONS.get(api) if isinstance(api, int) else None
        raise PluginError(
            f"written for plugin API {api!r}; this sage-core supports {supported}" + (f": {note}" if note else "")
        )
    known = {name for name in dir(hookspecs) if name.startswith("register_")}
    marker = f"{ENTRY_POINT_GROUP}_impl"
    for name in dir(plugin):
        if name.startswith("_"):
            continue
        value = getattr(plugin, name, None)
        if callable(value) and hasattr(value, marker) and name not in known:
            optional = (getattr(value, marker) or {}).get("optionalhook", False)
            if not optional:
                raise PluginError(f"implements unknown hook {name!r} (known: {', '.join(sorted(known))})")


def load_plugins(
    environ: Mapping[str, str] | None = None,
    extra: Iterable[object] = (),
) -> PluginRegistry:
    """Load every plugin in the ``sage`` entry-point group plus ``extra`` objects.

    ``extra`` lets tests and applications register plugin modules or objects directly;
    they load after the installed plugins.
    """
    environ = os.environ if environ is None else environ
    strict = _strict(environ)
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []

    candidates: list[tuple[PluginRecord, Callable[[], object]]] = []
    for ep in _sage_entry_points():
        dist_name = ep.dist.name if ep.dist else ep.name
        record = PluginRecord(name=dist_name, version=ep.dist.version if ep.dist else "",
                              entry_point=f"{ep.name} = {ep.value}")
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
            plugin = _call_plugin(load)
            _check_plugin(plugin)
            manager.register(plugin, name=record.name)
            record.hooks = sorted(hook.name for hook in manager.get_hookcallers(plugin) or [])
        except Exception as exc:  # noqa: BLE001 - record and keep going
            _fail(record, str(exc) if isinstance(exc, PluginError) else repr(exc), strict, exc)

    registry = PluginRegistry(manager, records, strict=strict)
    for hook, kind, key, table in _TABLES:
        _collect(registry, hook, kind, key, table)
    _drop_orphans(registry)
    return registry


def _collect(registry: PluginRegistry, hook: str, kind: type, key: str, table: str) -> None:
    """Call ``hook`` plugin by plugin; a plugin keeps its items only if all of them are valid."""
    target: dict[str, Any] = getattr(registry, table)
    for record, impl in registry._impls(hook):
        items: dict[str, Any] = {}

        def register(item: Any, items: dict[str, Any] = items) -> None:
            if not isinstance(item, kind):
                raise PluginError(f"{hook} expects {kind.__name__}, got {type(item).__name__}")
            name = getattr(item, key)
            if name in target:
                noun = kind.__name__.removesuffix("Spec").lower()
                raise PluginError(f"claims {noun} {key} {name!r}, already registered by {target[name].plugin}")
            if name in items:
                raise PluginError(f"registers {kind.__name__} {key} {name!r} twice")
            items[name] = replace(item, plugin=record.name)

        try:
            _call_plugin(impl.function, register=register)
        except Exception as exc:  # noqa: BLE001 - one plugin must not break the rest
            registry.disable(record, exc if isinstance(exc, PluginError) else f"{hook} failed: {exc!r}", exc)
            continue
        target.update(items)
        getattr(record, table).extend(items)


def _drop_orphans(registry: PluginRegistry) -> None:
    """Disable plugins whose compressors, data sources or sensors name a modality nobody registered."""
    changed = True
    while changed:
        changed = False
        for spec in [*registry.compressors.values(), *registry.data_sources.values(), *registry.sensors.values()]:
            if spec.modality not in registry.modalities:
                record = next(r for r in registry.records if r.name == spec.plugin)
                what = f"compressor {spec.id!r}" if isinstance(spec, CompressorSpec) else (
                    f"{type(spec).__name__.removesuffix('Spec').lower()} {spec.name!r}")
                registry.disable(record, f"{what} needs modality {spec.modality!r}, which no loaded plugin registers")
                changed = True
                break
