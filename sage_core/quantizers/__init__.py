"""Quantizers shared by every modality: one idea per module."""

from sage_core.quantizers.fsq import FiniteScalarQuantizer

__all__ = ["FiniteScalarQuantizer"]
