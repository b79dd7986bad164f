"""The examples figure draws input, puzzle and reconstruction with row 0 on the same side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sage_core.analysis import figures


def _marked_pixels_by_height(path: Path) -> np.ndarray:
    """Per pixel row of the saved figure: how many pixels show the marked row's colour.

    The marked row is magma's top colour (yellow) in the grey panels and pure red in the
    puzzle; the white background and the black (magma 0) rest are neither.
    """
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    yellow = (r > 200) & (g > 200) & (b < 230)
    red = (r > 200) & (g < 80) & (b < 80)
    return (yellow | red).sum(1)


@pytest.mark.parametrize("origin", ["upper", "lower"])
def test_row_zero_is_drawn_where_the_origin_says(tmp_path: Path, origin: str) -> None:
    image = np.zeros((8, 8))
    image[0] = 1.0  # only row 0 is bright
    puzzle = np.zeros((8, 8, 3), dtype=np.uint8)
    puzzle[0] = (255, 0, 0)
    path = figures.examples([("sample", image, puzzle, image)], tmp_path / "examples.png", origin=origin)
    rows = _marked_pixels_by_height(path)
    height = len(rows)
    for panel in range(3):  # input, puzzle, reconstruction: each a third of the figure's height
        band = rows[panel * height // 3 : (panel + 1) * height // 3]
        marked = np.flatnonzero(band)
        assert marked.size, f"panel {panel}: the marked row is not drawn"
        top_half = marked.mean() < len(band) / 2
        assert top_half == (origin == "upper"), f"panel {panel}: row 0 drawn at {marked.mean():.0f} of {len(band)}"
