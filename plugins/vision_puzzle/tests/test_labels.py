"""Class labels of the vision data: CIFAR-10 batches, ImageFolder trees and the embedded digits."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sage_core import DataReport, labels_of

from sage_vision_puzzle.config import VisionConfig
from sage_vision_puzzle.digits import CLASSES, source_split
from sage_vision_puzzle.modality import VisionModality

CIFAR_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _write_batch(path: Path, images: np.ndarray, labels: list[int] | None) -> None:
    """As CIFAR-10's python version ships: a protocol-2 pickle of a dict with bytes keys."""
    batch = {b"batch_label": path.name.encode(), b"data": images.reshape(len(images), 3072),
             b"filenames": [f"{path.name}_{i}.png".encode() for i in range(len(images))]}
    if labels is not None:
        batch[b"labels"] = labels
    path.write_bytes(pickle.dumps(batch, protocol=2))


def _cifar(root: Path, meta: bool = True, unlabelled: str | None = None) -> dict[str, tuple[np.ndarray, list[int]]]:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (12, 3, 32, 32), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, 12)]
        _write_batch(root / name, images, None if name == unlabelled else labels)
        written[name] = (images, labels)
    if meta:
        names = {b"label_names": [n.encode() for n in CIFAR_NAMES], b"num_cases_per_batch": 12, b"num_vis": 3072}
        (root / "batches.meta").write_bytes(pickle.dumps(names, protocol=2))
    return written


def test_cifar_labels_follow_their_images_and_batches_meta_names_the_classes(tmp_path: Path) -> None:
    written = _cifar(tmp_path / "cifar-10-batches-py")
    report = DataReport()
    splits = VisionModality(VisionConfig(resolution=30)).build_datasets(tmp_path, tmp_path / "cache", report)
    assert splits.classes == CIFAR_NAMES
    assert labels_of(splits.test).tolist() == written["test_batch"][1]
    # Train and validation share the training batches' images: each image keeps its own label.
    by_image = {images[i].tobytes(): labels[i] for name, (images, labels) in written.items() if name != "test_batch"
                for i in range(len(labels))}
    for split in ("train", "validation"):
        dataset = splits.split(split)
        stored = [by_image[dataset.images[i].numpy().tobytes()] for i in range(len(dataset))]
        assert labels_of(dataset).tolist() == stored
    assert sum(report.class_counts["test"].values()) == 12 and set(report.class_counts["test"]) == set(CIFAR_NAMES)


def test_cifar_without_meta_numbers_its_classes_and_an_unlabelled_batch_unlabels_the_set(tmp_path: Path) -> None:
    _cifar(tmp_path / "a")
    (tmp_path / "a" / "batches.meta").unlink()
    report = DataReport()
    splits = VisionModality(VisionConfig(resolution=30)).build_datasets(tmp_path / "a", tmp_path, report)
    assert splits.classes == tuple(str(i) for i in range(10)) and "batches.meta" in report.notes["class_names"]
    _cifar(tmp_path / "b", unlabelled="data_batch_3")
    report = DataReport()
    splits = VisionModality(VisionConfig(resolution=30)).build_datasets(tmp_path / "b", tmp_path, report)
    assert splits.classes is None and labels_of(splits.train) is None
    assert "data_batch_3" in report.notes["labels"] and len(splits.test) == 12


def _png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(path)


def test_image_folder_classes_are_the_sorted_sub_folders_and_hidden_folders_are_not_classes(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for index in range(30):
        _png(root / ("zebra" if index % 3 == 0 else "cat" if index % 3 == 1 else "emu") / f"{index}.png", 5 * index)
    _png(root / ".thumbnails" / "x.png", 1)
    (root / "emu" / "broken.png").write_bytes(b"\x89PNG not really")
    report = DataReport()
    splits = VisionModality(VisionConfig(resolution=30)).build_datasets(root, tmp_path / "cache", report)
    assert splits.classes == ("cat", "emu", "zebra")
    total = sum(len(splits.split(s)) for s in ("train", "validation", "test"))
    assert total == 30 and [Path(s.path).name for s in report.skipped] == ["broken.png"]
    for split in ("train", "validation", "test"):
        dataset = splits.split(split)
        for i in range(len(dataset)):  # each image is one grey level: 5 x its index; its class follows
            index = round(float(dataset[i].mean()) * 255 / 5)
            assert splits.classes[int(labels_of(dataset)[i])] == ("zebra", "cat", "emu")[index % 3]
    assert sum(sum(counts.values()) for counts in report.class_counts.values()) == 30


def test_images_directly_in_the_folder_are_unlabelled(tmp_path: Path) -> None:
    for index in range(10):
        _png(tmp_path / "flat" / f"{index}.png", 20 * index)
    _png(tmp_path / "flat" / "sub" / "x.png", 3)
    report = DataReport()
    splits = VisionModality(VisionConfig(resolution=30)).build_datasets(tmp_path / "flat", tmp_path, report)
    assert splits.classes is None and labels_of(splits.train) is None and "unlabelled" in report.notes["labels"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache")
    config = VisionConfig(embedded="digits", resolution=30, train_crops=400, eval_crops=100)
    report = DataReport()
    return VisionModality(config).build_datasets(None, cache, report), report, config, cache


def test_digits_are_labelled_balanced_and_split_by_source_image(digits) -> None:
    splits, report, _, _ = digits
    assert splits.classes == CLASSES and splits.sizes() == {"train": 400, "validation": 100, "test": 100}
    sources = {split: set(splits.split(split).names) for split in ("train", "validation", "test")}
    assert sources["train"].isdisjoint(sources["validation"] | sources["test"])
    assert sources["validation"].isdisjoint(sources["test"])
    for split in ("train", "validation", "test"):
        counts = torch.bincount(labels_of(splits.split(split)), minlength=10)
        assert int(counts.min()) >= 0.6 * float(counts.float().mean()), (split, counts.tolist())
    from sklearn.datasets import load_digits

    original = load_digits()
    held = source_split(np.asarray(original.target))
    for digit in range(10):  # 10 % of every digit's images are test, 10 % validation
        members = held[np.asarray(original.target) == digit]
        assert abs((members == "test").mean() - 0.1) < 0.02 and abs((members == "validation").mean() - 0.1) < 0.02
    assert report.classes == list(CLASSES) and set(report.class_counts) == {"train", "validation", "test"}


def test_digits_come_back_from_the_cache_unchanged(digits) -> None:
    splits, _, config, cache = digits
    files = list((cache / "vision_puzzle").glob("digits-*.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = VisionModality(config).build_datasets(None, cache, DataReport())
    assert files[0].stat().st_mtime_ns == stamp
    assert torch.equal(again.test.images, splits.test.images)
    assert torch.equal(labels_of(again.test), labels_of(splits.test))


def test_no_single_pixel_tells_the_digit(digits) -> None:
    """Random colours, polarity, size and position: the best one-pixel classifier is weak."""
    splits, _, _, _ = digits
    x = torch.stack([splits.train[i] for i in range(len(splits.train))]).reshape(len(splits.train), -1)
    y = labels_of(splits.train)
    means = torch.stack([x[y == digit].mean(0) for digit in range(10)])  # (10, pixels)
    nearest = (x[:, None, :] - means[None]).abs().argmin(1)  # per sample and pixel: the closest class mean
    accuracy = (nearest == y[:, None]).float().mean(0)
    assert float(accuracy.max()) < 0.3, float(accuracy.max())


@pytest.mark.parametrize("labels, problem", [([1, 2], "12 class indices"), (["a"] * 12, "12 class indices"),
                                             ([5000] * 12, "0-999"), ([-1] * 12, "0-999")])
def test_malformed_cifar_labels_are_one_clear_line(tmp_path: Path, labels: list, problem: str) -> None:
    from sage_core import InputError

    from sage_vision_puzzle.datasets import read_cifar_batch

    path = tmp_path / "data_batch_1"
    _write_batch(path, np.zeros((12, 3, 32, 32), dtype=np.uint8), labels)
    with pytest.raises(InputError, match=problem) as caught:
        read_cifar_batch(path)
    assert "data_batch_1" in str(caught.value)
