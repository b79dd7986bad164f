"""Loaders on small fixtures written in the real formats: CIFAR-10 python pickles and ImageFolder trees."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from sage_core import DataReport, InputError

from sage_vision_puzzle.config import VisionConfig
from sage_vision_puzzle.modality import VisionModality
from sage_vision_puzzle.datasets import read_cifar_batch
from sage_vision_puzzle.embedded import photo_split


def write_cifar_batch(path: Path, images: np.ndarray, names: list[str], label: str) -> None:
    """As CIFAR-10's python version ships: a protocol-2 pickle of a dict with bytes keys."""
    batch = {
        b"batch_label": label.encode(),
        b"labels": [i % 10 for i in range(len(images))],
        b"data": images.reshape(len(images), 3072),  # R plane, then G, then B
        b"filenames": [name.encode() for name in names],
    }
    path.write_bytes(pickle.dumps(batch, protocol=2))


@pytest.fixture
def cifar_root(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (20, 3, 32, 32), dtype=np.uint8)
        write_cifar_batch(root / name, images, [f"{name}_{i}.png" for i in range(20)], name)
        written[name] = images
    meta = {b"label_names": [b"airplane", b"automobile"], b"num_cases_per_batch": 20, b"num_vis": 3072}
    (root / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return root, written


def test_cifar_batches_become_train_validation_and_test(cifar_root, tmp_path: Path) -> None:
    root, written = cifar_root
    report = DataReport()
    config = VisionConfig(resolution=30)
    splits = VisionModality(config).build_datasets(tmp_path, tmp_path / "cache", report)  # parent folder works
    assert len(splits.train) + len(splits.validation) == 100 and len(splits.train) > len(splits.validation) > 0
    assert len(splits.test) == 20 and not report.skipped
    first_test = written["test_batch"][0]
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(first_test)[None].float() / 255, size=30, mode="bilinear", antialias=True
    )[0]
    assert torch.allclose(splits.test[0], expected, atol=1e-6)  # plane order R, G, B kept
    again = VisionModality(config).build_datasets(root, tmp_path / "cache", DataReport())
    assert torch.equal(again.validation[0], splits.validation[0])  # the split is deterministic


def test_cifar_missing_and_malicious_batches_are_reported(cifar_root, tmp_path: Path) -> None:
    root, _ = cifar_root
    (root / "data_batch_2").unlink()

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (root / "data_batch_3").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    (root / "data_batch_4").write_bytes(b"\x80\x02 truncated")
    report = DataReport()
    splits = VisionModality(VisionConfig()).build_datasets(root, tmp_path, report)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["data_batch_2"] == "missing batch file"
    assert "refusing to load global" in reasons["data_batch_3"] and "system" in reasons["data_batch_3"]
    assert "not a CIFAR-10 python batch" in reasons["data_batch_4"]
    assert not (tmp_path / "pwned").exists()
    assert len(splits.train) + len(splits.validation) == 40


def test_cifar_batch_with_wrong_shape_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8)}, protocol=2))
    with pytest.raises(InputError, match="data_batch_1: 'data' must be a uint8 N x 3072"):
        read_cifar_batch(path)


def _save(path: Path, seed: int, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.random.default_rng(seed).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(array).save(path, format=fmt)


def test_image_folder_skips_hidden_corrupt_and_truncated(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    for i in range(30):
        _save(root / ("cat" if i % 2 else "dog") / f"{i}.{'png' if i % 3 else 'jpg'}", i)
    _save(root / ".thumbnails" / "hidden.png", 99)
    _save(root / "cat" / ".hidden.png", 98)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    _save(root / "dog" / "whole.jpg", 7, "JPEG")
    data = (root / "dog" / "whole.jpg").read_bytes()
    (root / "dog" / "truncated.jpg").write_bytes(data[: len(data) // 2])
    report = DataReport()
    splits = VisionModality(VisionConfig(resolution=30)).build_datasets(root, tmp_path, report)
    skipped = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(skipped) == {"corrupt.png", "truncated.jpg"}
    assert "truncated" in skipped["truncated.jpg"]
    assert sum(splits.sizes().values()) == 31  # 30 + whole.jpg; hidden files and notes.txt are not data
    assert splits.train[0].shape == (3, 30, 30)
    again = VisionModality(VisionConfig(resolution=30)).build_datasets(root, tmp_path, DataReport())
    assert again.sizes() == splits.sizes()


def test_image_folder_without_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(InputError, match="no readable training images"):
        VisionModality(VisionConfig()).build_datasets(tmp_path / "empty", tmp_path, DataReport())


def test_embedded_default_is_split_by_photo() -> None:
    split = photo_split()
    held_out = {name for name, s in split.items() if s != "train"}
    assert {s for s in split.values()} == {"train", "validation", "test"}
    assert len(held_out) == 6 and sum(s == "test" for s in split.values()) == 4


@pytest.mark.slow
def test_embedded_default_generates_once_and_caches(tmp_path: Path) -> None:
    config = VisionConfig(resolution=30, train_crops=200, eval_crops=40)
    report = DataReport()
    splits = VisionModality(config).build_datasets(None, tmp_path, report)
    assert splits.sizes() == {"train": 200, "validation": 40, "test": 40}
    assert not set(report.notes["test_photos"]) & set(report.notes["train_photos"])
    [cache] = list((tmp_path / "vision_puzzle").glob("*.npz"))
    stamp = cache.stat().st_mtime_ns
    again = VisionModality(config).build_datasets(None, tmp_path, DataReport())
    assert cache.stat().st_mtime_ns == stamp and torch.equal(again.test[3], splits.test[3])
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]  # no temp files left
