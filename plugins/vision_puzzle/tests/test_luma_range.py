"""Each image's own luma range: all ten codes for the contrast that is there, the range in the header."""

from __future__ import annotations

import torch

from sage_vision_puzzle.chroma import block_classes, embed_classes
from sage_vision_puzzle.compressor import VisionPuzzleCompressor
from sage_vision_puzzle.luma_range import header_mask, read_header, write_header
from sage_vision_puzzle.metrics import cell_luminance, psnr_db

HEADER = header_mask()


def test_the_header_holds_every_range_and_any_codes_read_as_one() -> None:
    lo, hi = torch.meshgrid(torch.arange(100), torch.arange(100), indexing="ij")
    ranges = torch.stack([lo.flatten(), hi.flatten()], 1)
    ordered = ranges[ranges[:, 0] <= ranges[:, 1]]
    written = write_header(torch.zeros(len(ordered), 30, 30, dtype=torch.long), ordered)
    assert torch.equal(read_header(written), ordered)
    assert torch.equal(written[:, ~HEADER], torch.zeros_like(written[:, ~HEADER]))  # nothing else written
    anything = torch.randint(0, 10, (200, 30, 30))
    read = read_header(anything)
    assert torch.all(read[:, 0] <= read[:, 1]) and read.min() >= 0 and read.max() <= 99


def test_header_cells_never_move_for_colour_and_still_count_in_their_block() -> None:
    torch.manual_seed(0)
    position = torch.rand(8, 30, 30) * 10 - 0.5
    codes = write_header(position.round().clamp(0, 9).long(), torch.tensor([[7, 93]]).expand(8, 2))
    position = torch.where(HEADER, codes.float(), position)
    target = torch.randint(0, 8, (8, 6, 6))
    embedded = embed_classes(codes, position, target, 5, 8, 10, frozen=HEADER)
    assert torch.equal(embedded[:, HEADER], codes[:, HEADER])
    assert torch.equal(block_classes(embedded, 5, 8), target)


def test_a_dim_low_contrast_image_gets_more_codes_and_decodes_closer(crops: torch.Tensor, tiny) -> None:
    """A photo squeezed into luma 0.30-0.45: the fixed range spends two or three codes on it, the image range all
    its contrast needs."""
    dim = 0.30 + 0.15 * crops
    image, fixed = (VisionPuzzleCompressor(tiny(luma_range=r)).eval() for r in ("image", "fixed"))
    with torch.no_grad():
        image_codes, fixed_codes = image.encode_codes(dim), fixed.encode_codes(dim)
        image_psnr = psnr_db(dim, image.decode_codes(image_codes)).mean()
        fixed_psnr = psnr_db(dim, fixed.decode_codes(fixed_codes)).mean()
    fixed_levels = [len(torch.unique(one)) for one in fixed_codes]
    image_levels = [len(torch.unique(one[~HEADER])) for one in image_codes]
    assert max(fixed_levels) <= 3
    assert all(i >= f for i, f in zip(image_levels, fixed_levels)) and sum(image_levels) >= 2 * sum(fixed_levels)
    assert image_psnr > fixed_psnr + 6, (float(image_psnr), float(fixed_psnr))


def test_the_range_covers_every_cell_and_codes_are_levels_within_it(crops: torch.Tensor, tiny) -> None:
    """Untrained, gray only: outside the header, each code is its cell's level within the image's range."""
    model = VisionPuzzleCompressor(tiny(chroma_classes=1)).eval()
    x = torch.cat([crops, 0.2 + 0.5 * crops, torch.full((1, 3, 60, 60), 0.5)])
    with torch.no_grad():
        codes = model.encode_codes(x)
    luma = cell_luminance(x)
    lo, hi = (read_header(codes).float() / 99).unbind(1)
    assert torch.all(lo <= luma.flatten(1).min(1).values + 1e-6)
    assert torch.all(hi >= luma.flatten(1).max(1).values - 1e-6)
    assert torch.all(hi - lo >= 0.1 - 1e-6)  # a flat image's noise is not stretched to ten levels
    expected = ((luma - lo[:, None, None]) / (hi - lo)[:, None, None] * 10).floor().clamp(0, 9).long()
    assert (codes[:, ~HEADER] != expected[:, ~HEADER]).float().mean() < 0.01  # float ties at level edges


def test_a_darker_copy_reads_as_the_same_shapes_in_a_darker_range(crops: torch.Tensor, tiny) -> None:
    """Exposure lives in the header, shape in the cells: a reasoner sees the same picture darker."""
    model = VisionPuzzleCompressor(tiny(chroma_classes=1)).eval()
    with torch.no_grad():
        bright, dark = model.encode_codes(crops), model.encode_codes(crops * 0.6)
        assert torch.all(read_header(dark)[:, 1] < read_header(bright)[:, 1])
        assert torch.all(cell_luminance(model.decode_codes(dark)).mean((1, 2))
                         < cell_luminance(model.decode_codes(bright)).mean((1, 2)))
    # Most images read the same; one whose darker range falls under the narrowest span is stretched less.
    moved = (bright[:, ~HEADER] - dark[:, ~HEADER]).abs().float().mean(1)
    assert int((moved < 0.1).sum()) >= len(crops) - 1, moved
