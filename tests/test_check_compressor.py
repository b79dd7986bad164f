"""check_compressor passes a correct compressor and names the rule a broken one breaks."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from sage_core.testing import check_compressor


@pytest.fixture()
def toy_classes(plugin_site):
    from sage_fixture_plugin.toy import ToyCompressor

    class BatchScaledToy(ToyCompressor):
        """Scales by the batch maximum, as the prototype did: puzzles depend on batch-mates."""

        def encode_codes(self, x: Tensor) -> Tensor:
            return super().encode_codes(x / x.max())

    class WrongShapeToy(ToyCompressor):
        def encode_codes(self, x: Tensor) -> Tensor:
            return super().encode_codes(x)[:, :29]

    class NoisyToy(ToyCompressor):
        def encode_codes(self, x: Tensor) -> Tensor:
            return super().encode_codes(x + 0.2 * torch.rand_like(x))

    return ToyCompressor, BatchScaledToy, WrongShapeToy, NoisyToy


def test_a_correct_compressor_passes_by_id_and_by_instance(toy_classes) -> None:
    toy = toy_classes[0]
    assert check_compressor("toy_puzzle").id == "toy_puzzle"
    check_compressor(toy(toy.Config(channels=2)))


@pytest.mark.parametrize(
    ("index", "message"),
    [(1, "batch"), (2, r"shape \(6, 29, 30\)"), (3, "different codes")],
)
def test_broken_compressors_fail_with_the_rule_named(toy_classes, index: int, message: str) -> None:
    broken = toy_classes[index]
    with pytest.raises(AssertionError, match=message):
        check_compressor(broken(broken.Config()))
