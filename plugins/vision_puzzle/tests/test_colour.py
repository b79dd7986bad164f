"""The colour channel: each block's code sum names its chroma, at a small cost in luma levels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sage_vision_puzzle.chroma import block_classes, embed_classes, from_ycbcr, to_blocks, to_ycbcr
from sage_vision_puzzle.compressor import VisionPuzzleCompressor
from sage_vision_puzzle.config import VisionPuzzleConfig
from sage_vision_puzzle.metrics import luminance_codes


@pytest.mark.parametrize(("block", "classes"), [(5, 8), (3, 6), (2, 4), (1, 10), (6, 10)])
def test_every_block_sum_names_its_target_even_at_the_ends_of_the_scale(block: int, classes: int) -> None:
    torch.manual_seed(block * 10 + classes)
    position = torch.rand(5, 30, 30) * 11 - 1  # level coordinates, some beyond level 0 and level 9
    position[0] = -0.4  # a black image: every cell at level 0
    position[1] = 9.4  # a white image: every cell at level 9
    codes = position.round().clamp(0, 9).long()
    target = torch.randint(0, classes, (5, 30 // block, 30 // block))
    embedded = embed_classes(codes, position, target, block, classes, 10)
    assert embedded.min() >= 0 and embedded.max() <= 9
    assert torch.equal(block_classes(embedded, block, classes), target)
    steps = to_blocks((embedded - codes).abs(), block).sum(-1)
    assert steps.max() <= classes - 1  # one way round the modulus, one level per step


def test_colour_and_back_is_exact() -> None:
    x = torch.rand(3, 3, 8, 8)
    luma, chroma = to_ycbcr(x)
    assert torch.allclose(from_ycbcr(luma, chroma), x, atol=1e-6)


def test_codes_stay_the_luma_quantiser_but_for_a_few_cells(crops: torch.Tensor) -> None:
    """Colour is bought by moving few cells, each by a level or so: the puzzle still reads as brightness."""
    model = VisionPuzzleCompressor(VisionPuzzleConfig(channels=8, decoder_blocks=1, luma_range="fixed")).eval()
    with torch.no_grad():
        codes = model.encode_codes(crops)
    luma = luminance_codes(crops)
    assert (codes != luma).float().mean() < 0.15
    assert (codes - luma).float().abs().mean() < 0.2
    c = model.config
    target = model.palette.nearest(F.adaptive_avg_pool2d(to_ycbcr(crops)[1], 30 // c.chroma_block))
    assert torch.equal(block_classes(codes, c.chroma_block, c.chroma_classes), target)


def test_images_of_equal_luma_decode_to_their_own_colours() -> None:
    """Red, blue and gray images of one luma: three puzzles, three hues back (untrained model)."""
    luma = 0.45
    red = torch.tensor([0.75, luma, luma]); red[1] = (luma - 0.299 * 0.75 - 0.114 * 0.35) / 0.587; red[2] = 0.35
    blue = torch.tensor([0.30, 0.0, 0.85]); blue[1] = (luma - 0.299 * 0.30 - 0.114 * 0.85) / 0.587
    gray = torch.full((3,), luma)
    images = torch.stack([c.view(3, 1, 1).expand(3, 60, 60) for c in (red, blue, gray)])
    model = VisionPuzzleCompressor(VisionPuzzleConfig(channels=8, decoder_blocks=1)).eval()
    with torch.no_grad():
        codes = model.encode_codes(images)
        decoded = model.decode_codes(codes).mean((2, 3))
    assert not torch.equal(codes[0], codes[1]) and not torch.equal(codes[0], codes[2])
    assert decoded[0, 0] > decoded[0, 2] + 0.1, decoded[0]  # red stays red
    assert decoded[1, 2] > decoded[1, 0] + 0.1, decoded[1]  # blue stays blue
    assert (decoded[2].max() - decoded[2].min()) < 1e-6, decoded[2]  # gray stays gray


def test_chroma_block_must_divide_the_grid() -> None:
    with pytest.raises(ValueError, match="divide"):
        VisionPuzzleConfig(chroma_block=4)
