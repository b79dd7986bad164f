"""What users hand the plugin: files, arrays and PIL images of any size and mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sage_core import InputError

from sage_vision_puzzle.compressor import VisionPuzzleCompressor


@pytest.fixture(scope="module")
def model(tiny) -> VisionPuzzleCompressor:
    return VisionPuzzleCompressor(tiny()).eval()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 53 x 37 RGB uint8 photo-like array (odd size, non-square)."""
    from sage_vision_puzzle.embedded import load_photo

    return np.ascontiguousarray(load_photo("coffee")[100:153, 200:237])


def test_uint8_array_is_scaled_to_unit_range(model: VisionPuzzleCompressor, photo: np.ndarray) -> None:
    x = model.modality.prepare(photo)
    assert x.shape == (1, 3, 60, 60) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert abs(float(x.mean()) - photo.mean() / 255) < 0.02


def test_float_array_and_pil_image_agree_with_uint8(model: VisionPuzzleCompressor, photo: np.ndarray) -> None:
    from_uint8 = model.modality.prepare(photo)
    assert torch.allclose(model.modality.prepare(photo.astype(np.float32) / 255), from_uint8, atol=1e-5)
    assert torch.allclose(model.modality.prepare(Image.fromarray(photo)), from_uint8, atol=1e-5)
    assert torch.allclose(model.modality.prepare(torch.from_numpy(photo).permute(2, 0, 1)), from_uint8, atol=1e-5)


def test_grayscale_is_expanded_and_alpha_dropped(model: VisionPuzzleCompressor, photo: np.ndarray) -> None:
    gray = photo[..., 1]
    x = model.modality.prepare(gray)
    assert x.shape == (1, 3, 60, 60)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    assert torch.allclose(model.modality.prepare(Image.fromarray(gray)), x)
    alpha = np.full(photo.shape[:2] + (1,), 7, dtype=np.uint8)
    assert torch.equal(model.modality.prepare(np.concatenate([photo, alpha], axis=2)), model.modality.prepare(photo))


def test_float_outside_unit_range_is_refused(model: VisionPuzzleCompressor, photo: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        model.modality.prepare(photo.astype(np.float32))
    with pytest.raises(InputError, match="NaN"):
        model.modality.prepare(np.full((8, 8, 3), np.nan, dtype=np.float32))
    with pytest.raises(InputError, match="shape"):
        model.modality.prepare(np.zeros((4, 8, 8, 3), dtype=np.uint8))


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_read_file_any_size(model: VisionPuzzleCompressor, tmp_path: Path, suffix: str) -> None:
    for height, width in [(1, 1), (37, 53), (3000, 4000)]:
        path = tmp_path / f"img-{height}x{width}{suffix}"
        ramp = np.linspace(0, 255, width, dtype=np.uint8)  # smooth, so the 12 MP file saves fast
        Image.fromarray(np.broadcast_to(ramp[None, :, None], (height, width, 3)).copy()).save(path)
        x = model.modality.read_file(path)
        assert x.shape == (1, 3, 60, 60) and torch.isfinite(x).all()


def test_read_file_modes(model: VisionPuzzleCompressor, tmp_path: Path, photo: np.ndarray) -> None:
    reference = model.modality.prepare(photo)
    for mode in ("RGBA", "P", "L", "I;16", "1"):
        path = tmp_path / f"m-{mode.replace(';', '')}.png"
        image = Image.fromarray(photo)
        if mode == "I;16":  # real 16-bit data: 0-65535
            image = Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)
        else:
            image = image.convert(mode)
        image.save(path)
        x = model.modality.read_file(path)
        assert x.shape == (1, 3, 60, 60) and 0 <= float(x.min()) and float(x.max()) <= 1
        if mode == "RGBA":
            assert torch.allclose(x, reference, atol=1e-6)
        if mode == "I;16":  # 16-bit gray keeps its brightness
            assert abs(float(x.mean()) - float(reference.mean())) < 0.05


def test_read_file_errors_name_the_file(model: VisionPuzzleCompressor, tmp_path: Path) -> None:
    missing = tmp_path / "missing.png"
    with pytest.raises(InputError, match="missing.png: no such file"):
        model.modality.read_file(missing)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a PNG")
    with pytest.raises(InputError, match="junk.png: not an image"):
        model.modality.read_file(junk)


def test_write_output_round_trips_through_png(model: VisionPuzzleCompressor, tmp_path: Path, photo: np.ndarray) -> None:
    x = model.modality.prepare(photo)
    [written] = model.modality.write_output(x, tmp_path / "out")
    assert written == tmp_path / "out.png"
    again = model.modality.read_file(written)
    assert torch.allclose(again, x, atol=1 / 255 + 1e-6)
    several = model.modality.write_output(torch.cat([x, x]), tmp_path / "pair.png")
    assert [p.name for p in several] == ["pair-0.png", "pair-1.png"]


def test_batch_mates_do_not_change_a_puzzle(model: VisionPuzzleCompressor, crops: torch.Tensor) -> None:
    alone = model.encode_codes(crops[:1])
    with_white = model.encode_codes(torch.cat([crops[:1], torch.ones(1, 3, 60, 60), crops[1:]]))
    with_black = model.encode_codes(torch.cat([torch.zeros(2, 3, 60, 60), crops[:1]]))
    assert torch.equal(alone[0], with_white[0]) and torch.equal(alone[0], with_black[2])


def test_exif_rotation_is_applied(model: VisionPuzzleCompressor, tmp_path: Path) -> None:
    """A phone photo stored sideways with EXIF orientation 6 reads upright: white band on top."""
    stored = np.zeros((40, 80, 3), dtype=np.uint8)
    stored[:, :20] = 255  # left band as stored; orientation 6 = rotate 90 degrees clockwise to view
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    image.save(path, exif=exif, quality=95)
    x = model.modality.read_file(path)[0].mean(0)
    assert float(x[:10].mean()) > 0.9 and float(x[-10:].mean()) < 0.1
