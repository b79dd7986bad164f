"""Configuration: one pydantic model per compressor, whose defaults are the recommended setting.

A compressor's config subclasses :class:`CompressorConfig` and adds its model fields; the
settings of its modality (how observations are windowed, the embedded data) live under
``modality`` and training settings under ``train``. Users override any field from a TOML
file and from ``-o key=value`` (dotted keys reach nested fields: ``-o train.lr=3e-4``,
``-o modality.voices=16``).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sage_core.errors import ConfigError


class TrainingConfig(BaseModel):
    """How the shared trainer trains; every compressor gets the same knobs."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    epochs: int = Field(10, ge=1, description="passes over the training split")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    max_minutes: float | None = Field(None, gt=0, description="stop cleanly after this wall time")
    anneal_by_time: bool = Field(
        True, description="with max_minutes: the schedule also advances with time, so it ends decayed when time runs out"
    )
    batch_size: int = Field(64, ge=1)
    threads: int | None = Field(
        None, ge=1, description="torch CPU threads per training process (None: torch's default); 1 is fastest on a busy machine"
    )
    eval_batch_size: int = Field(256, ge=1)
    lr: float = Field(2e-3, gt=0, description="peak learning rate (AdamW)")
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(100, ge=0, description="linear learning-rate warm-up")
    schedule: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="after warm-up: cosine or linear decay to zero, or the peak rate throughout")
    grad_clip: float | None = Field(1.0, gt=0)
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    bad_data_limit: float = Field(0.01, ge=0, le=1, description="max fraction of unreadable samples")
    log_every_s: float = Field(5.0, gt=0, description="seconds between plain log lines")
    checkpoint_every_s: float = Field(60.0, gt=0, description="seconds between checkpoints")
    checkpoint_every_steps: int | None = Field(None, ge=1, description="also checkpoint every this many steps")
    eval_max_samples: int | None = Field(None, ge=1, description="cap the evaluation split size")
    select: Literal["last", "validation"] = Field(
        "last", description="the run's model ('best' checkpoint): the last one (where the schedule has decayed) "
        "or the one of lowest validation loss (for a constant schedule, or early stopping)"
    )


class ModalityConfig(BaseModel):
    """Base for a modality's settings: how observations become model inputs, the embedded data.

    A modality's config subclasses it; every compressor of that modality carries one as its
    ``modality`` field, so a run records exactly how its inputs were made. No field may be NaN
    or infinite.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CompressorConfig(BaseModel):
    """Base for every compressor's config: model fields, ``modality`` settings, ``train`` settings.

    A subclass narrows ``modality`` to its modality's config class. No field may be NaN or
    infinite.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    modality: ModalityConfig = ModalityConfig()
    train: TrainingConfig = TrainingConfig()


ConfigT = TypeVar("ConfigT", bound=BaseModel)


#: Seeds are 64-bit signed integers: torch's generators take them, also after adding an epoch number.
SEED_RANGE = (-(2**63), 2**63 - 1)


def _parse_value(key: str, text: str) -> Any:
    """``-o`` values are JSON when they parse as JSON (numbers, true, null, lists), else strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text
    except (ValueError, RecursionError) as exc:  # a number of over 4300 digits; nesting deeper than Python's stack
        problem = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        raise ConfigError(f"override {key!r}: unusable value ({problem})") from None


def _split_key(item: str, key: str) -> tuple[str, ...]:
    parts = tuple(part.strip() for part in key.split("."))
    if not all(parts):
        raise ConfigError(f"override {item!r}: the key has an empty part (write section.field=value)")
    return parts


def _set_dotted(
    data: dict[str, Any], parts: tuple[str, ...], value: Any, sections: set[tuple[str, ...]], origin: str
) -> None:
    """Set ``data[parts[0]][parts[1]]... = value``; ``sections`` are the keys that hold nested
    settings; ``origin`` says where the value came from, for messages."""
    key = ".".join(parts)
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{origin} {key!r}: {part!r} is not a section")
        node = child
    if parts in sections and not isinstance(value, dict):
        raise ConfigError(
            f"{origin} {key!r}: {key!r} is a section of settings, not one value; set a field in it ({key}.NAME=VALUE)"
        )
    node[parts[-1]] = value


def _sections(config_cls: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Keys of the fields that are themselves models (``("train",)``), at any depth."""
    found: set[tuple[str, ...]] = set()
    for name, info in config_cls.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.add((*prefix, name))
            found |= _sections(annotation, (*prefix, name))
    return found


def _non_finite(value: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite float inside ``value``, else None."""
    if isinstance(value, float):
        return path if not math.isfinite(value) else None
    if isinstance(value, BaseModel):
        value = dict(value)
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict, or a ``ConfigError`` naming the file and the problem in one line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a TOML config file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a TOML config file (not UTF-8 text)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: unreadable config file ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    except (ValueError, RecursionError) as exc:  # huge integers, nesting deeper than Python's stack
        raise ConfigError(f"{path}: unusable TOML ({type(exc).__name__}: {' '.join(str(exc).split())})") from None


def check_seed(seed: Any, where: str = "seed") -> int:
    """``seed`` as a 64-bit signed int (what torch's generators accept), or a ``ConfigError``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{where}: must be a whole number, got {' '.join(repr(seed).split())[:80]}")
    if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise ConfigError(f"{where}: must be between {SEED_RANGE[0]} and {SEED_RANGE[1]}, got {seed}")
    return seed


def resolve_config(
    config_cls: type[ConfigT],
    base: dict[str, Any] | None = None,
    toml_path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> ConfigT:
    """Build a config: defaults < ``base`` < TOML file < ``key=value`` overrides.

    Values are merged into the class defaults field by field, so ``-o train.lr=1e-3``
    keeps the other ``train`` defaults a compressor's config chose. NaN and infinite
    numbers are refused wherever they appear (a learning rate of ``Infinity`` is a typo,
    never a setting).
    """
    data: dict[str, Any] = _defaults(config_cls)
    sections = _sections(config_cls)
    for parts, value in _flatten(base or {}).items():
        _set_dotted(data, parts, value, sections, "stored config key")
    if toml_path is not None:
        for parts, value in _flatten(read_toml(toml_path)).items():
            _set_dotted(data, parts, value, sections, f"{toml_path}: key")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like key=value")
        parts, parsed = _split_key(item, key), _parse_value(key.strip(), value.strip())
        if parts in sections and isinstance(parsed, dict):  # -o train='{"lr": 1e-3}' keeps train's other values
            for sub_parts, sub_value in _flatten(parsed, parts).items():
                _set_dotted(data, sub_parts, sub_value, sections, "override")
        else:
            _set_dotted(data, parts, parsed, sections, "override")
    origin = f" (with {toml_path})" if toml_path is not None else ""
    try:
        config = config_cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {config_cls.__name__}{origin}: {' '.join(problems.split())}") from None
    bad = _non_finite(config)
    if bad is not None:
        raise ConfigError(f"invalid {config_cls.__name__}{origin}: {bad}: must be a finite number, not NaN or infinity")
    return config


def _defaults(config_cls: type[BaseModel]) -> dict[str, Any]:
    """The class defaults as JSON data (empty when some field has no default)."""
    try:
        return config_cls().model_dump(mode="json")
    except ValidationError:
        return {}


def _flatten(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Nested dicts -> ``{("train", "lr"): 0.001, ...}`` (tuples, so a quoted TOML key may hold a dot)."""
    flat: dict[tuple[str, ...], Any] = {}
    for key, value in data.items():
        parts = (*prefix, str(key))
        if isinstance(value, dict):
            flat.update(_flatten(value, parts))
        else:
            flat[parts] = value
    return flat
