"""The core contract suite on the vision compressors (tiny sizes), and the prototype's facts."""

from __future__ import annotations

import pytest
import torch
from sage_core.testing import check_compressor

from sage_vision_puzzle.compressor import VisionPuzzleCompressor
from sage_vision_puzzle.config import VisionConfig, VisionPrototypeConfig, VisionPuzzleConfig
from sage_vision_puzzle.prototype import VisionPrototypeCompressor


def test_contract_tiny_vision_puzzle(crops: torch.Tensor, tiny) -> None:
    check_compressor(VisionPuzzleCompressor(tiny()), samples=crops)


@pytest.mark.parametrize("resolution", [30, 90])
def test_contract_other_resolutions(resolution: int, tiny, crops_of) -> None:
    samples = crops_of("rocket", 4, resolution)
    check_compressor(VisionPuzzleCompressor(tiny(resolution=resolution)), samples=samples)


@pytest.mark.slow
def test_contract_prototype(crops: torch.Tensor) -> None:
    check_compressor(VisionPrototypeCompressor(VisionPrototypeConfig(prototype_size=32)), samples=crops[:3])


def test_prototype_has_the_reported_parameter_count() -> None:
    assert sum(p.numel() for p in VisionPrototypeCompressor().parameters()) == 349_187


def test_untrained_gray_only_model_is_the_baseline_codec(crops: torch.Tensor, tiny) -> None:
    """Both learned parts start at zero, so training starts from the luma quantiser, all codes live."""
    model = VisionPuzzleCompressor(tiny(chroma_classes=1, luma_range="fixed")).eval()
    codes = model.encode_codes(crops)
    base_codes, base_hat = model.modality.baseline_codec(crops)
    assert torch.equal(codes, base_codes)
    assert torch.allclose(model.decode_codes(codes), base_hat, atol=1e-6)


def test_resolution_must_be_a_multiple_of_30() -> None:
    with pytest.raises(ValueError, match="multiple of 30"):
        VisionConfig(resolution=64)


@pytest.mark.slow
def test_contract_default_config_by_id(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registered default, on held-out crops of the embedded default data (generated here)."""
    monkeypatch.setenv("SAGE_CACHE_DIR", str(tmp_path))
    check_compressor("vision_puzzle")


def test_the_shipped_run_loads_and_encodes_an_image(crops) -> None:
    """The weights in the package fit this version of the model (re-ship after a version bump)."""
    from sage_core.plugins import load_plugins
    from sage_core.runs import load_compressor

    shipped = load_plugins().compressor("vision_puzzle").shipped_path()
    assert shipped is not None, "sage-vision-puzzle ships its default run (benchmarks/ship_default_models.py)"
    model = load_compressor(shipped)
    assert len(model.encode(crops[:2])) == 2
