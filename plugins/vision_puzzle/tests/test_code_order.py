"""Higher code = brighter cell: it holds after training, for whole images and for single codes."""

from __future__ import annotations

import torch

from sage_vision_puzzle.metrics import cell_luminance


def test_decoding_a_higher_code_everywhere_is_brighter(trained_tiny_model) -> None:
    model = trained_tiny_model
    with torch.no_grad():
        flat = torch.arange(10).view(10, 1, 1).expand(10, 30, 30)
        brightness = cell_luminance(model.decode_codes(flat)).mean((1, 2))
    assert torch.all(brightness[1:] > brightness[:-1]), brightness


def test_a_brighter_image_gets_higher_codes(trained_tiny_model, crops_of) -> None:
    model = trained_tiny_model
    x = crops_of("camera", 8, 60, seed=3)
    darker = x * 0.6
    with torch.no_grad():
        assert model.encode_codes(x).float().mean() > model.encode_codes(darker).float().mean()
        per_image = model.encode_codes(x).float().mean((1, 2)) - model.encode_codes(darker).float().mean((1, 2))
    assert torch.all(per_image >= 0)


def test_codes_rank_with_decoded_cell_brightness(trained_tiny_model, crops_of) -> None:
    """Spearman-style check on held-out crops: cells with a higher code decode brighter on average."""
    model = trained_tiny_model
    x = crops_of("astronaut", 16, 60, seed=5)
    with torch.no_grad():
        codes = model.encode_codes(x)
        luma = cell_luminance(model.decode_codes(codes))
    means = torch.stack([luma[codes == k].mean() for k in range(10) if bool((codes == k).any())])
    assert len(means) >= 6
    assert torch.all(means[1:] > means[:-1]), means
