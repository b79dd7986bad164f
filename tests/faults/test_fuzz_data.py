"""Property: any image file or CIFAR batch gives a result or one ``SageError`` line naming the
file, never another exception, within the reader worker's address-space cap."""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from fuzz_strategies import mutated
from hypothesis.extra import numpy as hnp
from PIL import Image

#: What a file starts with decides which PIL decoder gets it: reach each of them.
IMAGE_MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ",
               b"P6\n", b"P5\n", b""]




# --- images -----------------------------------------------------------------------------


def _image_bytes(fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


VALID_IMAGES = [_image_bytes("PNG"), _image_bytes("PNG", "LA"), _image_bytes("JPEG"), _image_bytes("GIF", "P"),
                _image_bytes("BMP"), _image_bytes("TIFF"), _image_bytes("WEBP")]


def _png_with_size(width: int, height: int, bit_depth: int, colour: int, rows: bytes) -> bytes:
    """A PNG whose IHDR says whatever it is given, with correct CRCs so PIL believes it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@given(data=st.builds(lambda magic, rest: magic + rest, st.sampled_from(IMAGE_MAGIC), st.binary(max_size=2048)))
def test_random_bytes_as_an_image(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "random.png"
    path.write_bytes(data)
    fuzz_count(reads_safely("image", path))


@given(data=st.sampled_from(VALID_IMAGES).flatmap(mutated))
def test_mutated_images(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "mutated.img"
    path.write_bytes(data)
    fuzz_count(reads_safely("image", path))


@given(
    width=st.one_of(st.integers(0, 64), st.integers(0, 2**31)),
    height=st.one_of(st.integers(0, 64), st.integers(0, 2**31)),
    bit_depth=st.sampled_from([1, 2, 4, 8, 16, 3, 0]),
    colour=st.sampled_from([0, 2, 3, 4, 6, 1, 7]),
    rows=st.one_of(st.binary(max_size=4096), st.none()),
)
def test_pngs_declaring_any_size_and_depth(width, height, bit_depth, colour, rows, scratch, reads_safely,
                                           fuzz_count) -> None:
    """``rows`` None: as many zero bytes as the declared size needs, when that is small."""
    if rows is None:
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 1)
        rows = bytes((1 + (width * channels * bit_depth + 7) // 8) * height) if width * height <= 4096 else b""
    path = scratch / "declared.png"
    path.write_bytes(_png_with_size(width, height, bit_depth, colour, rows))
    fuzz_count(reads_safely("image", path))


# --- CIFAR batches ----------------------------------------------------------------------


def _batch(images: int) -> bytes:
    data = np.random.default_rng(images).integers(0, 256, (images, 3072), dtype=np.uint8)
    return pickle.dumps({b"batch_label": b"b", b"labels": list(range(images)), b"data": data,
                         b"filenames": [f"{i}.png".encode() for i in range(images)]}, protocol=2)


VALID_BATCHES = [_batch(1), _batch(3)]
PLAIN = st.none() | st.booleans() | st.integers() | st.floats() | st.binary(max_size=20) | st.text(max_size=20)
SMALL_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.int64, np.float32, np.bool_, np.dtype("<U3"), np.dtype("S2")]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=6),
)


@given(data=st.sampled_from(VALID_BATCHES).flatmap(mutated))
def test_mutated_cifar_batches(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "data_batch_1"
    path.write_bytes(data)
    fuzz_count(reads_safely("cifar", path))


@given(data=st.one_of(st.binary(max_size=2048), st.binary(max_size=512).map(lambda b: b"\x80\x02" + b)))
def test_random_bytes_as_a_cifar_batch(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "data_batch_2"
    path.write_bytes(data)
    fuzz_count(reads_safely("cifar", path))


@given(
    batch=st.recursive(
        PLAIN | SMALL_ARRAYS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from([b"data", b"filenames", "data", 1]),
                                                                  inner, max_size=3) | st.tuples(inner, inner),
        max_leaves=12,
    ),
    protocol=st.integers(0, 5),
)
def test_pickles_of_random_structures_as_a_cifar_batch(batch, protocol, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "data_batch_3"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    fuzz_count(reads_safely("cifar", path))
