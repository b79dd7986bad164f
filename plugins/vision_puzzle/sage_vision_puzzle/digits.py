"""A labelled embedded data set: scikit-learn's handwritten digits, recoloured and jittered.

``sklearn.datasets.load_digits()`` ships 1,797 labelled 8x8 digit images (no download).
Each sample here is one of them, scaled to ``R x R`` with a random rotation, size and
position, drawn in a random foreground colour on a random background colour (either may be
the brighter one) with a smooth random shading and a little pixel noise. So no single
pixel, colour or brightness tells the class: a probe has to read the shape.

Split by source image, balanced per class: within each digit, the images are ordered by
the SHA-1 of their index; the first 10 % go to test, the next 10 % to validation. Every
sample drawn from one source image stays in that image's split. Generated once per
(resolution, sizes) and cached as uint8 in ``cache_dir``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sage_core import SPLITS, DataReport, DataSplits, cached_arrays
from sage_vision_puzzle.datasets import ImageArrayDataset

#: Bump when the split or the drawing recipe changes (old caches are then not reused).
DIGITS_VERSION = 1
CLASSES = tuple(str(digit) for digit in range(10))
HELD_OUT_FRACTION = 0.1
#: The smallest brightness (BT.601 luma) difference between a digit and its background.
MIN_CONTRAST = 0.35


def source_split(labels: np.ndarray) -> np.ndarray:
    """Source image -> split name: per class, by SHA-1 of the index (10 % test, 10 % validation)."""
    split = np.full(len(labels), "train", dtype=object)
    for digit in np.unique(labels):
        members = [int(i) for i in np.flatnonzero(labels == digit)]
        ordered = sorted(members, key=lambda i: hashlib.sha1(f"digits:{i}".encode()).hexdigest())
        held = max(1, round(HELD_OUT_FRACTION * len(ordered)))
        for rank, index in enumerate(ordered):
            split[index] = "test" if rank < held else "validation" if rank < 2 * held else "train"
    return split


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A foreground and a background RGB colour at least ``MIN_CONTRAST`` apart in luma."""
    while True:
        foreground, background = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
        if abs(_luma(foreground) - _luma(background)) >= MIN_CONTRAST:
            return foreground, background


def draw_digits(images: np.ndarray, resolution: int, seed: int) -> np.ndarray:
    """8x8 digit images (N, 8, 8) with values 0-16 -> uint8 ``(N, 3, R, R)``, each drawn at random."""
    rng = np.random.default_rng(seed)
    n = len(images)
    angle = np.deg2rad(rng.uniform(-15, 15, n))
    size = rng.uniform(0.6, 0.95, n)  # the digit's side as a fraction of the image side
    shift = rng.uniform(-1, 1, (n, 2)) * (1 - size)[:, None]
    scale = 1.0 / size
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    theta = np.stack([np.stack([cos, -sin, shift[:, 0] * scale], 1), np.stack([sin, cos, shift[:, 1] * scale], 1)], 1)
    ink = torch.from_numpy(images.astype(np.float32) / 16.0)[:, None]
    grid = F.affine_grid(torch.from_numpy(theta.astype(np.float32)), [n, 1, resolution, resolution], align_corners=False)
    alpha = F.grid_sample(ink, grid, mode="bicubic", padding_mode="zeros", align_corners=False).clamp(0, 1)
    colours = [_colours(rng) for _ in range(n)]
    foreground = torch.tensor(np.array([f for f, _ in colours]), dtype=torch.float32)[:, :, None, None]
    background = torch.tensor(np.array([b for _, b in colours]), dtype=torch.float32)[:, :, None, None]
    shading = F.interpolate(torch.from_numpy(rng.uniform(-0.08, 0.08, (n, 1, 3, 3)).astype(np.float32)),
                            size=(resolution, resolution), mode="bilinear", align_corners=True)
    noise = torch.from_numpy(rng.normal(0, 0.02, (n, 3, resolution, resolution)).astype(np.float32))
    picture = background * (1 - alpha) + foreground * alpha + shading + noise
    return (picture.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()


def generate_digits(resolution: int, train_samples: int, eval_samples: int) -> dict[str, np.ndarray]:
    """Per split: uint8 images ``(N, 3, R, R)``, labels ``labels_<split>`` and sources ``names_<split>``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = np.asarray(digits.images), np.asarray(digits.target, dtype=np.int64)
    split = source_split(labels)
    arrays: dict[str, np.ndarray] = {}
    for number, name in enumerate(SPLITS):
        sources = np.flatnonzero(split == name)
        count = train_samples if name == "train" else eval_samples
        chosen = sources[np.arange(count) % len(sources)]  # every source image, round after round
        arrays[name] = draw_digits(images[chosen], resolution, seed=DIGITS_VERSION * 1000 + number)
        arrays[f"labels_{name}"] = labels[chosen]
        arrays[f"names_{name}"] = np.asarray([f"digit{int(i)}" for i in chosen])
    return arrays


def embedded_digits(resolution: int, train_samples: int, eval_samples: int, cache_dir: Path,
                    report: DataReport) -> DataSplits:
    """The labelled embedded data: cached digit images, generated on first use (a second or two)."""
    path = Path(cache_dir) / "vision_puzzle" / f"digits-v{DIGITS_VERSION}-r{resolution}-{train_samples}-{eval_samples}.npz"
    arrays = cached_arrays(path, lambda: generate_digits(resolution, train_samples, eval_samples), report)
    datasets = {}
    for split in SPLITS:
        names = [str(n) for n in arrays[f"names_{split}"]]
        datasets[split] = ImageArrayDataset(torch.from_numpy(arrays[split]), resolution, names,
                                            labels=torch.from_numpy(arrays[f"labels_{split}"]))
        report.notes[f"{split}_source_images"] = len(set(names))
    report.source = ("scikit-learn handwritten digits (1,797 labelled 8x8 images), drawn at random size, angle and "
                     f"colours at {resolution}x{resolution}; split by source image, balanced per class")
    report.notes["cache"] = str(path)
    return DataSplits.from_datasets(datasets, report, classes=CLASSES)

