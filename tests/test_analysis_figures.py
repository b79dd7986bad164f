"""The examples figure draws input, puzzle and reconstruction with row 0 on the same side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sage_core.analysis import figures


def _marked_pixels_by_height(path: Path) -> np.ndarray:
    """Per pixel row of the saved figure's panels: how many pixels show the marked row's colour.

    The marked row is magma's top colour (yellow) in the grey panels and pure red in the
    puzzle; the white background and the black (magma 0) rest are neither. The colour bars
    on the right (which hold every colour) are cut off.
    """
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=int)
    rgb = rgb[:, : rgb.shape[1] * 3 // 5]
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


def test_example_panels_have_labelled_axes_and_colour_bars(tmp_path: Path) -> None:
    """The modality's axes label input and reconstruction; puzzles are labelled in cells with a code bar."""
    import matplotlib

    from sage_core.figure_axes import FigureAxes

    created = []
    original = matplotlib.figure.Figure.colorbar

    def spy(self, mappable, *args, **kwargs):  # record every colour bar the figure gets
        bar = original(self, mappable, *args, **kwargs)
        created.append(bar)
        return bar

    axes = FigureAxes(x_label="time (s)", y_label="frequency (Hz, mel bands)", x_extent=(0.0, 1.0),
                      y_extent=(-0.5, 7.5), y_ticks=((0.0, "100"), (7.0, "8k")), value_label="dB", value_range=(-80, 0))
    image = np.linspace(0, 1, 64).reshape(8, 8)
    puzzle = np.zeros((30, 30, 3), dtype=np.uint8)
    matplotlib.figure.Figure.colorbar = spy
    try:
        figure_path = figures.examples([("a", image, puzzle, image), ("b", image, puzzle, image)],
                                       tmp_path / "examples.png", origin="lower", axes=axes)
    finally:
        matplotlib.figure.Figure.colorbar = original
    assert figure_path.is_file()
    labels = sorted(bar.ax.get_ylabel() for bar in created)
    assert labels == ["code", "dB", "dB"]  # one bar per row: input, puzzle, reconstruction
    code_bar = next(bar for bar in created if bar.ax.get_ylabel() == "code")
    assert [tick.get_text() for tick in code_bar.ax.get_yticklabels()] == [str(code) for code in range(10)]
    value_bar = next(bar for bar in created if bar.ax.get_ylabel() == "dB")
    assert value_bar.norm.vmin == -80 and value_bar.norm.vmax == 0
    input_axis = created[0].ax.figure.axes[0]
    assert input_axis.get_xlabel() == "time (s)" and "frequency" in input_axis.get_ylabel()
    assert [tick.get_text() for tick in input_axis.get_yticklabels()] == ["100", "8k"]
    assert input_axis.get_xlim() == (0.0, 1.0) and input_axis.get_ylim() == (-0.5, 7.5)  # origin lower: row 0 below


def _drawn(path: Path) -> tuple[int, bytes]:
    return path.stat().st_mtime_ns, path.read_bytes()


def test_a_figure_is_drawn_again_only_when_what_it_shows_changed(tmp_path: Path) -> None:
    path = tmp_path / "confusion.png"
    shown = {"run": {"classes": ["a", "b"], "panels": {"trained": [[3, 1], [0, 4]]}}}
    figures.confusion_matrices(shown, path)
    first = _drawn(path)
    assert figures.confusion_matrices(shown, path) == path
    assert _drawn(path) == first  # the same counts: the file is left as it was
    changed = {"run": {"classes": ["a", "b"], "panels": {"trained": [[3, 1], [1, 3]]}}}
    figures.confusion_matrices(changed, path)
    assert _drawn(path)[1] != first[1]
    again = _drawn(path)
    figures.confusion_matrices(changed, tmp_path / "elsewhere.png")  # another path is its own figure
    assert (tmp_path / "elsewhere.png").read_bytes() == again[1] and _drawn(path) == again


def test_a_damaged_or_foreign_figure_is_drawn_anew(tmp_path: Path) -> None:
    path = tmp_path / "histogram.png"
    shown = {"run": {"trained": [5, 1, 0, 0, 0, 0, 0, 0, 0, 4]}}
    figures.code_histograms(shown, path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # cut short
    figures.code_histograms(shown, path)
    assert path.read_bytes() == whole
    Image.new("RGB", (4, 4)).save(path)  # a PNG that sage did not draw
    figures.code_histograms(shown, path)
    assert path.read_bytes() == whole
    path.unlink()
    path.mkdir()  # not a file at all: drawing fails as it always did, it is not skipped
    with pytest.raises(OSError):
        figures.code_histograms(shown, path)


def test_a_figure_of_inputs_that_have_no_digest_is_drawn_every_time(tmp_path: Path) -> None:
    from sage_core.analysis.redraw import only_when_changed

    drawn = []

    @only_when_changed
    def draw(thing: object, path: Path) -> Path:
        drawn.append(thing)
        path.write_bytes(b"drawn")
        return path

    for _ in range(2):
        draw(object(), tmp_path / "figure.png")  # an object with no array and no plain value
    assert len(drawn) == 2
