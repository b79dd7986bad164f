"""The shared finite scalar quantizer."""

from __future__ import annotations

import torch

from sage_core import FiniteScalarQuantizer


def test_codes_are_ordered_and_cover_every_level() -> None:
    quantizer = FiniteScalarQuantizer(10)
    z = torch.linspace(-8, 8, 1000)
    values, codes = quantizer(z)
    assert torch.all(codes[1:] >= codes[:-1]), "a larger latent must never give a smaller code"
    assert set(codes.tolist()) == set(range(10))
    assert torch.allclose(values, quantizer.values_from_codes(codes))
    assert torch.equal(quantizer.codes_from_latent(z), codes)


def test_gradient_passes_straight_through() -> None:
    z = torch.randn(5, 30, 30, requires_grad=True)
    values, _ = FiniteScalarQuantizer(10)(z)
    values.sum().backward()
    expected = torch.sigmoid(z) * (1 - torch.sigmoid(z))
    assert torch.allclose(z.grad, expected)
