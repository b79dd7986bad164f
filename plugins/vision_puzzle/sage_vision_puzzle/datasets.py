"""Image data sets: CIFAR-10's python folder, ImageFolder trees, and the in-memory dataset both feed.

Images are held as uint8 ``(N, 3, h, w)`` and converted to ``(3, R, R)`` float in [0, 1]
one at a time, so 50,000 CIFAR images cost 150 MB rather than gigabytes of floats.
Unreadable files are recorded with ``report.skip(path, reason, split)`` and left out.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from sage_core import SPLITS, DataReport, DataSplits, InputError, split_of
from sage_vision_puzzle.images import IMAGE_SUFFIXES, array_to_chw, read_image, resize_square
from sage_vision_puzzle.safe_pickle import load_restricted

CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
#: Images in each CIFAR-10 batch file; ``batches.meta``'s ``num_cases_per_batch`` overrides it.
CIFAR_IMAGES_PER_BATCH = 10_000
#: A CIFAR-10 batch is 31 MB; a "batch" many times larger is not one, and is refused before it is read.
MAX_CIFAR_BATCH_BYTES = 256 * 2**20
#: Class indices a CIFAR-style batch may use (CIFAR-10 uses 10, CIFAR-100 100).
MAX_CIFAR_CLASSES = 1000
#: Fraction of CIFAR-10's training batches held out for validation (by file name hash).
CIFAR_VALIDATION_FRACTION = 0.1


class ImageArrayDataset(Dataset[Tensor]):
    """uint8 images ``(N, 3, h, w)`` -> items ``(3, R, R)`` float in [0, 1], resized on access.

    ``labels``: ``(N,)`` class indices when the images are labelled, else None.
    """

    def __init__(self, images: Tensor, resolution: int, names: list[str] | None = None,
                 labels: Tensor | None = None) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected uint8 (N, 3, h, w) images, got {images.dtype} {tuple(images.shape)}")
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"{len(labels)} labels for {len(images)} images")
        self.images = images
        self.resolution = resolution
        self.names = names
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> Tensor:
        return resize_square(self.images[index].float() / 255.0, self.resolution)


def _splits(images: dict[str, list[Tensor]], stored_size: int, resolution: int, report: DataReport,
            labels: dict[str, list[int]] | None = None, classes: tuple[str, ...] | None = None) -> DataSplits:
    """Stack each split's ``(3, s, s)`` uint8 images into a dataset that yields ``(3, R, R)``.

    ``labels`` (per split, aligned with ``images``) and ``classes`` when the images are labelled.
    """
    empty = torch.zeros(0, 3, stored_size, stored_size, dtype=torch.uint8)
    datasets = {
        split: ImageArrayDataset(torch.stack(images[split]) if images[split] else empty, resolution,
                                 labels=torch.tensor(labels[split], dtype=torch.int64) if labels else None)
        for split in SPLITS
    }
    return DataSplits.from_datasets(datasets, report, classes=classes if labels else None)


# --- CIFAR-10 ("python version": cifar-10-batches-py) ---------------------------------


def find_cifar_root(path: Path) -> Path | None:
    """``path`` itself or its ``cifar-10-batches-py`` child when it holds CIFAR-10 batches."""
    for candidate in (path, path / "cifar-10-batches-py"):
        if (candidate / "test_batch").is_file() or any((candidate / b).is_file() for b in CIFAR_TRAIN_BATCHES):
            return candidate
    return None


def read_cifar_batch(path: Path) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """One CIFAR-10 batch file -> (uint8 ``(N, 3, 32, 32)``, file names, labels ``(N,)`` or None);
    ``InputError`` if malformed."""
    import pickle

    try:
        size = path.stat().st_size
        if size > MAX_CIFAR_BATCH_BYTES:
            raise InputError(path, f"{size / 1e6:.0f} MB, larger than any CIFAR-10 batch ({MAX_CIFAR_BATCH_BYTES // 2**20} MiB limit)")
        batch = load_restricted(path.read_bytes())
    except OSError as exc:
        raise InputError(path, f"unreadable ({exc.strerror or exc})") from None
    except pickle.UnpicklingError as exc:
        raise InputError(path, f"not a CIFAR-10 python batch ({' '.join(str(exc).split())})") from None
    if not isinstance(batch, dict):
        raise InputError(path, f"not a CIFAR-10 python batch (holds a {type(batch).__name__}, not a dict)")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = batch.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise InputError(path, f"'data' must be a uint8 N x 3072 array, got {type(data).__name__} {shape}")
    raw_names = batch.get("filenames")
    if raw_names is None:
        raw_names = [f"{path.name}#{i}" for i in range(len(data))]
    if not isinstance(raw_names, list) or not all(isinstance(n, (bytes, str)) for n in raw_names):
        raise InputError(path, "'filenames' must be a list of names")
    if len(raw_names) != len(data):
        raise InputError(path, f"{len(raw_names)} file names for {len(data)} images")
    names = [n.decode("latin1") if isinstance(n, bytes) else n for n in raw_names]
    return data.reshape(-1, 3, 32, 32), names, cifar_labels(batch.get("labels"), len(data), path)


def cifar_labels(raw: object, count: int, path: Path) -> np.ndarray | None:
    """A batch's ``labels`` -> int64 ``(count,)`` class indices; None when the batch has none."""
    if raw is None:
        return None
    try:
        labels = np.asarray(raw)
    except (ValueError, TypeError, OverflowError):
        raise InputError(path, f"'labels' must be {count} class indices, got a {type(raw).__name__} of another shape") from None
    if labels.shape != (count,) or labels.dtype.kind not in "iu":
        raise InputError(path, f"'labels' must be {count} class indices, got {labels.dtype} {labels.shape}")
    if count and (int(labels.min()) < 0 or int(labels.max()) >= MAX_CIFAR_CLASSES):
        raise InputError(path, f"'labels' must lie in 0-{MAX_CIFAR_CLASSES - 1}, got {labels.min()}-{labels.max()}")
    return labels.astype(np.int64)


def read_cifar_classes(root: Path, labels: int, report: DataReport) -> tuple[str, ...]:
    """Class names from ``batches.meta`` (``label_names``); numbered when it is missing or names too few."""
    path = root / "batches.meta"
    try:
        meta = load_restricted(path.read_bytes())
        names = meta.get(b"label_names", meta.get("label_names")) if isinstance(meta, dict) else None
        names = [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names or []]
    except Exception as exc:  # noqa: BLE001 - any unreadable meta file only costs the names
        names, problem = [], f"unreadable ({type(exc).__name__})"
    else:
        problem = f"names {len(names)} classes" if names else "has no label_names"
    if len(names) >= labels:
        return tuple(names)
    report.notes["class_names"] = f"{path}: {problem}, labels reach {labels - 1}; classes are numbered"
    return tuple(str(i) for i in range(labels))


def cifar_images_per_batch(root: Path) -> int:
    """How many images each batch file holds: ``batches.meta``'s ``num_cases_per_batch``, else 10,000."""
    import pickle

    meta = root / "batches.meta"
    try:
        if meta.is_file() and meta.stat().st_size <= MAX_CIFAR_BATCH_BYTES:
            loaded = load_restricted(meta.read_bytes())
            if isinstance(loaded, dict):
                count = loaded.get(b"num_cases_per_batch", loaded.get("num_cases_per_batch"))
                if isinstance(count, int) and not isinstance(count, bool) and 0 < count <= 10 * CIFAR_IMAGES_PER_BATCH:
                    return count
    except (OSError, pickle.UnpicklingError):
        pass
    return CIFAR_IMAGES_PER_BATCH


def load_cifar10(root: Path, resolution: int, report: DataReport) -> DataSplits:
    """data_batch_1..5 -> train and validation (by file-name hash); test_batch -> test.

    A batch file that is missing or unreadable counts as the images it should hold, and
    one holding fewer counts the shortfall, so ``train.bad_data_limit`` judges images.
    """
    images: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    labels: dict[str, list[int]] = {split: [] for split in SPLITS}
    unlabelled = []
    expected = cifar_images_per_batch(root)
    for name in (*CIFAR_TRAIN_BATCHES, "test_batch"):
        path = root / name
        split_of_file = "test" if name == "test_batch" else "train"
        if not path.is_file():
            report.skip(path, "missing batch file", split_of_file, samples=expected)
            continue
        try:
            data, names, batch_labels = read_cifar_batch(path)
        except InputError as exc:
            report.skip(path, exc.problem, split_of_file, samples=expected)
            continue
        if len(data) < expected:
            report.skip(path, f"holds {len(data)} of the {expected} images of a batch", split_of_file,
                        samples=expected - len(data))
        tensor = torch.from_numpy(data)
        unlabelled += [name] if batch_labels is None else []
        for index, image_name in enumerate(names):
            split = "test" if name == "test_batch" else split_of(image_name, (CIFAR_VALIDATION_FRACTION, 0.0))
            images[split].append(tensor[index])
            labels[split].append(-1 if batch_labels is None else int(batch_labels[index]))
    if not images["train"]:
        raise InputError(root, "no readable CIFAR-10 training batch (data_batch_1..5)")
    report.source = f"CIFAR-10 python batches in {root}"
    if unlabelled:
        report.notes["labels"] = f"no labels in {', '.join(unlabelled)}: the data set is used unlabelled"
        return _splits(images, 32, resolution, report)  # kept at 32x32, resized on access
    classes = read_cifar_classes(root, 1 + max(max(values, default=0) for values in labels.values()), report)
    return _splits(images, 32, resolution, report, labels, classes)


# --- ImageFolder (root/<class>/*.png ...) ------------------------------------------------


def image_files(root: Path) -> list[Path]:
    """Image files under ``root``, sorted; hidden files and folders (``.name``) are not data."""
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            files.append(path)
    return files


def load_image_folder(root: Path, resolution: int, report: DataReport) -> DataSplits:
    """Every image under ``root`` (ImageFolder layout), split 80/10/10 by the file's content hash.

    Hashing content, not names, keeps duplicate files in one split. When every image lies in
    a sub-folder (``root/<class>/...``), the sub-folder names, sorted, are the classes.
    """
    images: dict[str, list[Tensor]] = {split: [] for split in SPLITS}
    files = image_files(root)
    folders = [path.relative_to(root).parts[0] if len(path.relative_to(root).parts) > 1 else None for path in files]
    classes = tuple(sorted(set(folders))) if files and None not in folders else None  # type: ignore[arg-type]
    labels: dict[str, list[int]] = {split: [] for split in SPLITS}
    for path, folder in zip(files, folders):
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.skip(path, f"unreadable ({exc.strerror or exc})")
            continue
        split = split_of(hashlib.sha1(data).hexdigest())
        try:
            array = read_image(path, io.BytesIO(data))
            chw = resize_square(array_to_chw(array, str(path)), resolution)
        except InputError as exc:
            report.skip(path, exc.problem, split)
            continue
        images[split].append((chw * 255.0 + 0.5).to(torch.uint8))
        labels[split].append(classes.index(folder) if classes else -1)
    if not images["train"]:
        raise InputError(root, f"no readable training images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    report.source = f"image folder {root}"
    if classes is None:
        report.notes["labels"] = "images directly in the folder: unlabelled (use root/<class>/ sub-folders for classes)"
        return _splits(images, resolution, resolution, report)
    return _splits(images, resolution, resolution, report, labels, classes)


def load_image_data(path: Path, resolution: int, report: DataReport) -> DataSplits:
    """``--data PATH``: a CIFAR-10 python folder or an ImageFolder tree."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "--data must be a folder (cifar-10-batches-py or an ImageFolder tree)")
    cifar = find_cifar_root(path)
    return load_cifar10(cifar, resolution, report) if cifar else load_image_folder(path, resolution, report)
