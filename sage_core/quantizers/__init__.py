"""Quantizers shared by every modality: one idea per module."""

from __future__ import annotations

from typing import Any

from sage_core.quantizers.fsq import FiniteScalarQuantizer

__all__ = ["FiniteScalarQuantizer", "EMAVectorQuantizer"]


def __getattr__(name: str) -> Any:
    if name == "EMAVectorQuantizer":
        from sage_core.quantizers.ema_vq import EMAVectorQuantizer

        return EMAVectorQuantizer
    raise AttributeError(name)
