"""How figures label a modality's pictures: axis names and units, and what a pixel's value means.

Dependency-free (no numpy, torch or matplotlib), so a modality can describe its axes and
``sage compare`` can draw them without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FigureAxes:
    """The axes of ``Modality.to_image``'s pictures, as figures draw them.

    Extents are the data coordinates of the picture's edges: ``x_extent`` (left, right),
    ``y_extent`` (the edge of row 0, the edge of the last row); None means array indices.
    ``value_label``/``value_range`` say what 0 and 1 of a one-channel picture stand for
    (for the colour bar); colour pictures (RGB) get no colour bar.
    """

    x_label: str = "column"
    y_label: str = "row"
    x_extent: tuple[float, float] | None = None
    y_extent: tuple[float, float] | None = None
    #: Extra tick marks ``(position in y data units, label)``, e.g. Hz on a mel-band axis.
    y_ticks: tuple[tuple[float, str], ...] = ()
    value_label: str = "value (scaled to 0-1)"
    value_range: tuple[float, float] = (0.0, 1.0)
