"""Higher code = brighter cell: it holds after training, for whole images and for single codes."""

from __future__ import annotations

import torch

from sage_vision_puzzle.compressor import VisionPuzzleCompressor
from sage_vision_puzzle.luma_range import header_mask, read_header
from sage_vision_puzzle.metrics import cell_luminance


def test_decoding_a_higher_code_everywhere_is_brighter(trained_tiny_model) -> None:
    model = trained_tiny_model
    with torch.no_grad():
        flat = torch.arange(10).view(10, 1, 1).expand(10, 30, 30)
        brightness = cell_luminance(model.decode_codes(flat)).mean((1, 2))
    assert torch.all(brightness[1:] > brightness[:-1]), brightness


def test_a_brighter_image_gets_a_brighter_range_and_decodes_brighter(trained_tiny_model, crops_of) -> None:
    """Exposure is in the header's range (the cells are relative to it), and decoding gives it back."""
    model = trained_tiny_model
    x = crops_of("camera", 8, 60, seed=3)
    darker = x * 0.6
    with torch.no_grad():
        codes, darker_codes = model.encode_codes(x), model.encode_codes(darker)
        brightness = cell_luminance(model.decode_codes(codes)).mean((1, 2))
        darker_brightness = cell_luminance(model.decode_codes(darker_codes)).mean((1, 2))
    assert torch.all(read_header(darker_codes)[:, 1] < read_header(codes)[:, 1])
    assert torch.all(darker_brightness < brightness)


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


def test_training_moves_a_cell_at_most_its_reach_from_its_luma_level(trained_tiny_model, crops_of) -> None:
    """The learned correction may move a code one level (``code_reach``) from the luma quantiser's, never more,
    so a trained puzzle stays a brightness map; before the colour nudges, which move a few cells one level more."""
    model = trained_tiny_model
    untrained = VisionPuzzleCompressor(model.config).eval()
    x = crops_of("astronaut", 16, 60, seed=5)
    with torch.no_grad():
        luma_range = model.luma_range(x)
        levels = [m.quantizer.codes_from_latent(m.latent(x, luma_range)) for m in (model, untrained)]
        nudged = model.encode_codes(x)
    moved = (levels[0] - levels[1]).abs()
    assert model.config.code_reach == 1.0
    assert int(moved.max()) == 1 and float((moved > 0).float().mean()) > 0.01  # it learned, within its reach
    assert float(((nudged - levels[1]).abs() > 1)[:, ~header_mask()].float().mean()) < 0.02
