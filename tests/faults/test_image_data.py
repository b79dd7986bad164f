"""Hostile image data: CIFAR batches that are cut, missing or lying about their size, and image bombs."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_sage
from PIL import Image, PngImagePlugin

from sage_core import DataReport, InputError

from sage_vision_puzzle.datasets import load_cifar10, read_cifar_batch
from sage_vision_puzzle.images import read_image

BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
PER_BATCH = 20


def batch_bytes(images: int, seed: int = 0) -> bytes:
    """A CIFAR-10 batch as the python version ships it: a protocol-2 pickle with bytes keys."""
    data = np.random.default_rng(seed).integers(0, 256, (images, 3072), dtype=np.uint8)
    names = [f"img_{seed}_{i}.png".encode() for i in range(images)]
    return pickle.dumps({b"batch_label": b"batch", b"labels": [i % 10 for i in range(images)], b"data": data,
                         b"filenames": names}, protocol=2)


def cifar_folder(root: Path, meta: bool = True) -> Path:
    root.mkdir(parents=True)
    for seed, name in enumerate(BATCHES):
        (root / name).write_bytes(batch_bytes(PER_BATCH, seed))
    if meta:
        (root / "batches.meta").write_bytes(pickle.dumps({b"num_cases_per_batch": PER_BATCH,
                                                          b"label_names": [b"cat"]}, protocol=2))
    return root


def test_a_truncated_batch_stops_training_in_one_line(tmp_path, cli_env, one_error_line) -> None:
    """It held a fifth of the training images; it used to count as one sample (bad_fraction 0.8%, exit 0)."""
    root = cifar_folder(tmp_path / "cifar-10-batches-py")
    cut = root / "data_batch_3"
    cut.write_bytes(cut.read_bytes()[:5_000])
    result = run_sage("train", "vision_puzzle", "--data", str(root), "--max-steps", "1", "--no-evaluate",
                      "--threads", "1", "--out", str(tmp_path / "run"), "-o", "channels=8", "-o", "decoder_blocks=1",
                      "-o", "train.batch_size=16", env=cli_env, check=False)
    line = one_error_line(result, cut)
    assert f"{PER_BATCH} of {6 * PER_BATCH} samples" in line and "train.bad_data_limit" in line
    assert not list((tmp_path / "run").glob("**/*.safetensors"))


@pytest.mark.parametrize("damage", ["missing", "unreadable", "short"])
def test_a_damaged_batch_counts_the_images_it_should_hold(damage, tmp_path) -> None:
    root = cifar_folder(tmp_path / "cifar")
    batch = root / "data_batch_2"
    if damage == "missing":
        batch.unlink()
    elif damage == "unreadable":
        batch.write_bytes(b"\x80\x02 not a batch")
    else:
        batch.write_bytes(batch_bytes(PER_BATCH // 4, seed=1))
    report = DataReport()
    load_cifar10(root, 32, report)
    lost = PER_BATCH if damage != "short" else PER_BATCH - PER_BATCH // 4
    assert report.skipped_samples == lost
    assert report.bad_fraction == pytest.approx(lost / (6 * PER_BATCH))
    assert report.as_dict()["skipped_samples"] == lost


def test_without_batches_meta_a_batch_is_expected_to_hold_ten_thousand_images(tmp_path) -> None:
    root = cifar_folder(tmp_path / "cifar", meta=False)
    (root / "data_batch_5").unlink()
    report = DataReport()
    load_cifar10(root, 32, report)
    missing = [s for s in report.skipped if s.path.endswith("data_batch_5")]
    assert [s.samples for s in missing] == [10_000]


def _array_pickle(shape_ops: bytes, raw_ops: bytes, dtype: str = "u1") -> bytes:
    """``{b'data': ndarray}`` in pickle opcodes, with the array's shape and raw data as given."""
    dtype_ops = pickle.dumps(np.dtype(dtype), protocol=2)[2:-1]
    return (
        b"\x80\x02}C\x04data"
        + b"cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R"
        + b"(K\x01" + shape_ops + dtype_ops + b"\x89" + raw_ops + b"tb"
        + b"s."
    )


def _long(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data


HOSTILE_PICKLES = {
    # BINBYTES8 declaring 10**13 bytes (the pixels of 3.3e9 images) in a 60-byte file
    "bytes length": b"\x80\x04}C\x04data\x8e" + struct.pack("<Q", 10**13) + b"xx" + b"s.",
    # an array state declaring 10**13 pixels backed by 2 bytes
    "array shape": _array_pickle(_long(10**13 // 3072) + b"M\x00\x0c\x86", b"C\x02xx"),
    # numpy's rebuilder asked to allocate 10**10 bytes before any state arrives
    "rebuilder shape": b"\x80\x02}C\x04data" + b"cnumpy._core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
    + _long(10**10) + b"\x85C\x01b\x87R" + b"s.",
    # a memo slot at index 2**31: the unpickler would grow its memo table to 16 GB
    "memo index": b"\x80\x02}C\x04datar" + struct.pack("<I", 2**31) + b"s.",
    # an object array of 10**9 slots filled from a list
    "object array": _array_pickle(_long(10**9) + b"\x85", b"]", dtype="O"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PICKLES))
def test_a_batch_declaring_more_than_it_holds_is_refused_before_allocation(case, tmp_path, reads_safely) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(HOSTILE_PICKLES[case])
    reply = reads_safely("cifar", path)  # under the worker's address-space cap
    assert reply["outcome"] == "sage_error" and "not a CIFAR-10 python batch" in reply["message"]


def test_a_python2_batch_still_loads(tmp_path) -> None:
    """CIFAR-10's files are Python 2 pickles: strings as BINSTRING, arrays via numpy.core."""
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251
    dtype_state = b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    raw = data.tobytes()
    pickled = (
        b"\x80\x02}(U\x04data"
        + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        + b"(K\x01K\x02M\x00\x0c\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R" + dtype_state
        + b"\x89T" + struct.pack("<i", len(raw)) + raw + b"tb"
        + b"U\tfilenames]q\x00(U\x05a.pngU\x05b.pnge"
        + b"u."
    )
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickled)
    images, names, labels = read_cifar_batch(path)
    assert names == ["a.png", "b.png"] and np.array_equal(images.reshape(2, 3072), data)
    assert labels is None  # this batch has no labels
    assert type(images) is np.ndarray


def _png(width: int, height: int, rows: bytes | None) -> bytes:
    """A 1-bit grayscale PNG of ``width x height``; ``rows`` None writes the header only."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    data = chunk(b"IDAT", zlib.compress(rows, 9)) if rows is not None else b""
    return b"\x89PNG\r\n\x1a\n" + header + data + chunk(b"IEND", b"")


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path) -> None:
    """PIL only warns between 89.5 and 179 megapixels and decodes; the limit is now hard."""
    width = height = 10_000  # 100 megapixels: 12 KB of PNG
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(width, height, (b"\x00" + bytes((width + 7) // 8)) * height))
    assert bomb.stat().st_size < 50_000
    with pytest.raises(InputError, match=r"bomb.png: image too large to decode safely .*100000000 pixels"):
        read_image(bomb)
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png(100_000, 100_000, None))  # 10 gigapixels: PIL's own error
    with pytest.raises(InputError, match="huge.png: image too large to decode safely"):
        read_image(huge)


def test_pil_safety_limits_are_in_force() -> None:
    import sage_vision_puzzle.images  # noqa: F401 - importing the plugin must not loosen PIL

    from PIL import ImageFile

    assert Image.MAX_IMAGE_PIXELS == 89_478_485
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert PngImagePlugin.MAX_TEXT_CHUNK == 1024 * 1024


def test_the_pixel_limit_holds_even_when_pil_is_told_to_skip_it(tmp_path, monkeypatch) -> None:
    """Another library may set ``Image.MAX_IMAGE_PIXELS = None``; the reader keeps PIL's default."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(10_000, 10_000, None))
    with pytest.raises(InputError, match=r"bomb.png: image too large to decode safely \(10000x10000 = 100000000 pixels"):
        read_image(bomb)
