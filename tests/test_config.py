"""Config resolution: defaults < TOML file < -o overrides, with clear errors."""

from __future__ import annotations

import pytest
from pydantic import Field

from sage_core import CompressorConfig, ConfigError, TrainingConfig
from sage_core.config import resolve_config


class DemoConfig(CompressorConfig):
    width: int = Field(16, ge=1)
    name: str = "demo"
    train: TrainingConfig = TrainingConfig(epochs=3)


def test_defaults_are_the_recommended_setting() -> None:
    config = resolve_config(DemoConfig)
    assert config.width == 16 and config.train.epochs == 3 and config.train.lr == TrainingConfig().lr


def test_toml_then_overrides_win_in_order(tmp_path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('width = 32\nname = "from-file"\n[train]\nlr = 0.01\nepochs = 7\n')
    config = resolve_config(DemoConfig, toml_path=toml, overrides=["train.epochs=9", "name=cli"])
    assert (config.width, config.name, config.train.lr, config.train.epochs) == (32, "cli", 0.01, 9)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["widht=3"], "widht"),
        (["width=0"], "width"),
        (["train.lr=-1"], "train.lr"),
        (["novalue"], "key=value"),
        (["width.x=1"], "width"),
    ],
)
def test_bad_overrides_name_the_field(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_config(DemoConfig, overrides=overrides)


def test_missing_or_broken_toml_is_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        resolve_config(DemoConfig, toml_path=tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("width = = 3")
    with pytest.raises(ConfigError, match="broken.toml"):
        resolve_config(DemoConfig, toml_path=broken)
