"""Images in and out: any picture a user holds -> ``(3, R, R)`` RGB float in [0, 1], and back to PNG.

The conversion is per image and fixed: integers are divided by their type's maximum,
grayscale is repeated to RGB, alpha is dropped, and the image is resized (squashed, so
nothing is cropped away) to ``R x R`` with an antialiased bilinear filter. Nothing
depends on other images in a batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from sage_core import InputError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
#: Float inputs may overshoot [0, 1] by this much (rounding in other tools) before we call them wrong.
FLOAT_TOLERANCE = 1e-3


def array_to_chw(array: np.ndarray, source: str = "image") -> Tensor:
    """``(H, W)``, ``(H, W, 1|3|4)`` numpy array (uint8/uint16/bool/float in [0, 1]) -> ``(3, H, W)`` float."""
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        hwc = array
    elif array.ndim == 2:
        hwc = array[..., None]
    else:
        raise InputError(source, f"expected an (H, W) or (H, W, 1|3|4) image array, got shape {array.shape}")
    if hwc.dtype == np.uint8 and hwc.shape[-1] == 3 and hwc.size:
        # The common case (photos, camera frames) in two passes instead of five; the same values
        # as the general path, whose clamp and channel slice change nothing for 8-bit RGB.
        return torch.from_numpy(np.array(hwc.transpose(2, 0, 1), order="C")).float() / 255.0
    hwc = np.array(hwc) if not hwc.flags.writeable else np.ascontiguousarray(hwc)  # torch wants writable memory
    return _to_unit_float(torch.from_numpy(hwc).permute(2, 0, 1), source)


def _to_unit_float(chw: Tensor, source: str) -> Tensor:
    """``(C, H, W)`` with C in 1, 3, 4 of any numeric dtype -> ``(3, H, W)`` float32 in [0, 1]."""
    if chw.shape[-1] < 1 or chw.shape[-2] < 1:
        raise InputError(source, f"image has no pixels (shape {tuple(chw.shape)})")
    if chw.dtype == torch.bool:
        x = chw.float()
    elif chw.dtype == torch.uint8:
        x = chw.float() / 255.0
    elif chw.dtype == torch.uint16:
        x = chw.float() / 65535.0
    elif not chw.dtype.is_floating_point:
        raise InputError(source, f"integer image of type {chw.dtype}: give uint8 (0-255), uint16 or float in [0, 1]")
    else:
        x = chw.float()
        if not bool(torch.isfinite(x).all()):
            raise InputError(source, "image contains NaN or inf")
        lo, hi = float(x.min()), float(x.max())
        if lo < -FLOAT_TOLERANCE or hi > 1 + FLOAT_TOLERANCE:
            raise InputError(
                source, f"float image values must lie in [0, 1], got [{lo:.3g}, {hi:.3g}] (divide 0-255 data by 255)"
            )
    x = x.clamp(0, 1)
    channels = x.shape[0]
    if channels == 1:
        return x.expand(3, -1, -1).contiguous()
    if channels in (3, 4):
        return x[:3].contiguous()
    raise InputError(source, f"expected 1, 3 or 4 channels, got {channels}")


def resize_square(chw: Tensor, resolution: int) -> Tensor:
    """``(3, H, W)`` -> ``(3, R, R)``; antialiased bilinear, squashing rather than cropping."""
    if chw.shape[-2:] == (resolution, resolution):
        return chw
    resized = F.interpolate(chw[None], size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return resized[0].clamp(0, 1)


def to_model_input(observation: Any, resolution: int, source: str = "image") -> Tensor:
    """PIL image, numpy ``(H, W[, C])`` or torch ``(C, H, W)``/``(N, C, H, W)`` -> ``(N, 3, R, R)``."""
    if isinstance(observation, Image.Image):
        images = [array_to_chw(pil_to_array(observation), source)]
    elif isinstance(observation, np.ndarray):
        images = [array_to_chw(observation, source)]
    elif isinstance(observation, Tensor):
        t = observation.detach().cpu()
        if t.ndim == 3:
            images = [_to_unit_float(t, source)]
        elif t.ndim == 4:
            images = [_to_unit_float(item, source) for item in t]
        else:
            raise InputError(source, f"expected a (C, H, W) or (N, C, H, W) tensor, got shape {tuple(t.shape)}")
    else:
        raise InputError(source, f"cannot read an image from a {type(observation).__name__}")
    return torch.stack([resize_square(image, resolution) for image in images])


def pil_to_array(image: Image.Image) -> np.ndarray:
    """A decoded PIL image in any mode -> ``(H, W)`` or ``(H, W, C)`` numpy array."""
    if image.mode in ("RGB", "L", "RGBA"):
        return np.asarray(image)
    if image.mode == "LA":
        return np.asarray(image)[..., 0]
    if image.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(image, dtype=np.uint16)
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    if image.mode == "I":  # 32-bit integer grayscale, in practice 16-bit data
        array = np.asarray(image, dtype=np.int64)
        if array.min() < 0 or array.max() > 65535:
            raise ValueError(f"32-bit integer pixels outside 0-65535 ({array.min()}..{array.max()})")
        return array.astype(np.uint16)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


#: Pixel limit when PIL's own ``Image.MAX_IMAGE_PIXELS`` was switched off (None): PIL's default.
DEFAULT_MAX_PIXELS = 89_478_485


def read_image(path: Path, data: IO[bytes] | None = None) -> np.ndarray:
    """Decode an image file (or its bytes already read) fully -> numpy array; ``InputError`` naming it.

    PIL's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, 89.5 megapixels) is
    enforced as a hard limit, on the size the header declares, before anything is decoded:
    PIL itself only warns between 1x and 2x of it and would decode a 179-megapixel image.
    """
    import warnings

    limit = Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data if data is not None else path) as image:
                width, height = image.size
                if width * height > limit:  # PIL checks only while MAX_IMAGE_PIXELS is set
                    raise InputError(path, f"image too large to decode safely ({width}x{height} = "
                                           f"{width * height} pixels, limit {limit})")
                image.load()  # decode now, so truncated files fail here, not later
                upright = ImageOps.exif_transpose(image)  # phone photos store their rotation in EXIF
                return pil_to_array(upright if upright is not None else image)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not an image") from None
    except UnidentifiedImageError:
        raise InputError(path, "not an image file PIL can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(path, f"image too large to decode safely ({' '.join(str(exc).split())})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"unreadable image ({' '.join(str(exc).split())})") from None


def write_png(chw: Tensor, path: Path) -> Path:
    """``(3, H, W)`` in [0, 1] -> an 8-bit image file (format from the suffix, PNG by default)."""
    from sage_core import save_atomic

    array = (chw.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    target = path if path.suffix.lower() in IMAGE_SUFFIXES else path.with_name(path.name + ".png")
    image = Image.fromarray(array)
    fmt = Image.registered_extensions()[target.suffix.lower()]
    return save_atomic(target, lambda tmp: image.save(tmp, format=fmt))
