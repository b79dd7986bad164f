"""The embedded default data: CIFAR-like crops of real photographs that ship with
scikit-image and scikit-learn (no download), split BY PHOTO so held-out crops come
from photographs the model never saw.

Generated once per (resolution, sizes) and cached as uint8 in ``cache_dir``.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sage_core import SPLITS, DataReport, DataSplits, cached_arrays
from sage_vision_puzzle.datasets import ImageArrayDataset

#: Bump when the photo list, the split or the crop recipe changes.
CROPS_VERSION = 1
#: Photographs in scikit-image 0.26 that load offline (no pooch), by colour.
COLOUR_PHOTOS = (
    "astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry",
    "retina", "rocket", "stereo_motorcycle", "sklearn:china.jpg", "sklearn:flower.jpg",
)
GRAY_PHOTOS = ("brick", "camera", "cell", "clock", "coins", "grass", "gravel", "moon", "page", "text")
#: Held-out photos per colour group: the first by SHA-1 of the name go to test, the next to validation.
TEST_PER_GROUP, VALIDATION_PER_GROUP = 2, 1
MIN_CROP = 32


def photo_split() -> dict[str, str]:
    """Photo name -> split; within each colour group, ordered by the SHA-1 of the name."""
    assignment = {}
    for group in (COLOUR_PHOTOS, GRAY_PHOTOS):
        ordered = sorted(group, key=lambda name: hashlib.sha1(name.encode()).hexdigest())
        for rank, name in enumerate(ordered):
            held = "test" if rank < TEST_PER_GROUP else "validation" if rank < TEST_PER_GROUP + VALIDATION_PER_GROUP else "train"
            assignment[name] = held
    return assignment


def load_photo(name: str) -> np.ndarray:
    """A bundled photograph -> uint8 ``(H, W, 3)``."""
    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image

        array = load_sample_image(name.split(":", 1)[1])
    else:
        import skimage.data

        array = getattr(skimage.data, name)()
        array = array[0] if isinstance(array, tuple) else array  # stereo pairs: the left view
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    return np.ascontiguousarray(array[..., :3].astype(np.uint8))


def random_crops(photo: np.ndarray, count: int, resolution: int, seed: int) -> np.ndarray:
    """``count`` square crops (side log-uniform from 32 px to the photo's short side, random
    flips), each resized to ``R x R`` -> uint8 ``(count, 3, R, R)``."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(photo)
    height, width = photo.shape[:2]
    short = min(height, width)
    out = np.empty((count, 3, resolution, resolution), dtype=np.uint8)
    for i in range(count):
        side = int(round(np.exp(rng.uniform(np.log(MIN_CROP), np.log(short)))))
        left, top = rng.integers(0, width - side + 1), rng.integers(0, height - side + 1)
        crop = image.resize((resolution, resolution), Image.BILINEAR, box=(left, top, left + side, top + side))
        array = np.asarray(crop)
        if rng.random() < 0.5:
            array = array[:, ::-1]
        out[i] = array.transpose(2, 0, 1)
    return out


def _share(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def generate_crops(resolution: int, train_crops: int, eval_crops: int) -> dict[str, np.ndarray]:
    """Crops per split (uint8 ``(N, 3, R, R)``) and the photo each came from (``names_<split>``)."""
    assignment = photo_split()
    arrays: dict[str, np.ndarray] = {}
    for split in SPLITS:
        photos = [name for name in (*COLOUR_PHOTOS, *GRAY_PHOTOS) if assignment[name] == split]
        total = train_crops if split == "train" else eval_crops
        crops, names = [], []
        for name, count in zip(photos, _share(total, len(photos))):
            seed = zlib.crc32(f"{CROPS_VERSION}:{name}:{resolution}".encode())
            crops.append(random_crops(load_photo(name), count, resolution, seed))
            names += [name] * count
        arrays[split] = np.concatenate(crops)
        arrays[f"names_{split}"] = np.asarray(names)
    return arrays


def embedded_photo_crops(resolution: int, train_crops: int, eval_crops: int, cache_dir: Path, report: DataReport) -> DataSplits:
    """The default data: cached crops, generated on first use (a few seconds)."""
    path = Path(cache_dir) / "vision_puzzle" / f"photo-crops-v{CROPS_VERSION}-r{resolution}-{train_crops}-{eval_crops}.npz"
    arrays = cached_arrays(path, lambda: generate_crops(resolution, train_crops, eval_crops), report)
    datasets = {}
    for split in SPLITS:
        names = [str(n) for n in arrays[f"names_{split}"]]
        datasets[split] = ImageArrayDataset(torch.from_numpy(arrays[split]), resolution, names)
        report.notes[f"{split}_photos"] = sorted(set(names))
    report.source = "crops of photographs bundled with scikit-image and scikit-learn, split by photo"
    report.notes["cache"] = str(path)
    return DataSplits.from_datasets(datasets, report)
