"""Configuration: one pydantic model per compressor, whose defaults are the recommended setting.

A compressor's config subclasses :class:`CompressorConfig` and adds its model fields; the
settings of its modality (how observations are windowed, the embedded data) live under
``modality`` and training settings under ``train``. Users override any field from a TOML
file and from ``-o key=value`` (dotted keys reach nested fields: ``-o train.lr=3e-4``,
``-o modality.voices=16``).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sage_core.errors import ConfigError


class TrainingConfig(BaseModel):
    """How the shared trainer trains; every compressor gets the same knobs."""

    model_config = ConfigDict(extra="forbid")

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
    schedule: Literal["cosine", "constant"] = "cosine"
    grad_clip: float | None = Field(1.0, gt=0)
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")
    bad_data_limit: float = Field(0.01, ge=0, le=1, description="max fraction of unreadable samples")
    log_every_s: float = Field(5.0, gt=0, description="seconds between plain log lines")
    checkpoint_every_s: float = Field(60.0, gt=0, description="seconds between checkpoints")
    checkpoint_every_steps: int | None = Field(None, ge=1, description="also checkpoint every this many steps")
    eval_max_samples: int | None = Field(None, ge=1, description="cap the evaluation split size")


class ModalityConfig(BaseModel):
    """Base for a modality's settings: how observations become model inputs, the embedded data.

    A modality's config subclasses it; every compressor of that modality carries one as its
    ``modality`` field, so a run records exactly how its inputs were made.
    """

    model_config = ConfigDict(extra="forbid")


class CompressorConfig(BaseModel):
    """Base for every compressor's config: model fields, ``modality`` settings, ``train`` settings.

    A subclass narrows ``modality`` to its modality's config class.
    """

    model_config = ConfigDict(extra="forbid")

    modality: ModalityConfig = ModalityConfig()
    train: TrainingConfig = TrainingConfig()


ConfigT = TypeVar("ConfigT", bound=BaseModel)


def _parse_value(text: str) -> Any:
    """``-o`` values are JSON when they parse as JSON (numbers, true, null, lists), else strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


def resolve_config(
    config_cls: type[ConfigT],
    base: dict[str, Any] | None = None,
    toml_path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> ConfigT:
    """Build a config: defaults < ``base`` < TOML file < ``key=value`` overrides.

    Values are merged into the class defaults field by field, so ``-o train.lr=1e-3``
    keeps the other ``train`` defaults a compressor's config chose.
    """
    data: dict[str, Any] = _defaults(config_cls)
    for key, value in _flatten(base or {}).items():
        _set_dotted(data, key, value)
    if toml_path is not None:
        path = Path(toml_path)
        try:
            loaded = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML ({exc})") from None
        for key, value in _flatten(loaded).items():
            _set_dotted(data, key, value)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like key=value")
        _set_dotted(data, key.strip(), _parse_value(value.strip()))
    try:
        return config_cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {config_cls.__name__}: {problems}") from None


def _defaults(config_cls: type[BaseModel]) -> dict[str, Any]:
    """The class defaults as JSON data (empty when some field has no default)."""
    try:
        return config_cls().model_dump(mode="json")
    except ValidationError:
        return {}


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat
