"""Property: any puzzle file or audio file gives a result or one ``SageError`` line naming the
file, never another exception, within the reader worker's address-space cap.

Inputs: random bytes, valid files mutated byte by byte, and files built from random
structure (metadata JSON, ``.npy`` headers, WAV header fields and extreme samples).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given
from hypothesis import strategies as st
from fuzz_strategies import JSON_VALUES, mutated

from sage_core import PuzzleMeta

META = {"modality": "audio", "compressor_id": "audio_puzzle", "compressor_version": "2"}




# --- puzzle .npz ------------------------------------------------------------------------


def _valid_puzzle_files() -> list[bytes]:
    meta = PuzzleMeta(**META, sources=("a.wav#0", "a.wav#1", "b.wav#0"), times=((0, 1), (1, 2), (0, 1)),
                      clock="source")
    codes = np.random.default_rng(0).integers(0, 10, (3, 30, 30), dtype=np.uint8)
    compressed = io.BytesIO()
    np.savez_compressed(compressed, codes=codes, meta=np.array(meta.to_json()))
    stored = io.BytesIO()
    np.savez(stored, codes=codes, meta=np.array(meta.to_json()))
    return [compressed.getvalue(), stored.getvalue()]


VALID_PUZZLES = _valid_puzzle_files()


def _npy(version: tuple[int, int], header: str, data: bytes) -> bytes:
    """An ``.npy`` member with any version and header text (padded as numpy pads it)."""
    text = header.encode("latin1", "replace")
    text += b" " * (-(len(text) + 12) % 64) + b"\n"
    length = struct.pack("<H" if version[0] == 1 else "<I", len(text) % (2**16 if version[0] == 1 else 2**32))
    return b"\x93NUMPY" + bytes(version) + length + text + data


@given(data=st.binary(max_size=4096))
def test_random_bytes_as_a_puzzle_file(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "random.npz"
    path.write_bytes(data)
    fuzz_count(reads_safely("puzzle", path))


@given(data=st.sampled_from(VALID_PUZZLES).flatmap(mutated))
def test_mutated_puzzle_files(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "mutated.npz"
    path.write_bytes(data)
    fuzz_count(reads_safely("puzzle", path))


PLAUSIBLE_META = {
    "sources": st.lists(st.text(max_size=20), max_size=4),
    "times": st.lists(st.lists(st.floats(), min_size=2, max_size=2), max_size=4),
    "rows": st.text(max_size=20),
    "cols": st.text(max_size=20),
    "clock": st.sampled_from(["", "source", "unix"]),
    "extra": st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=3),
    "format_version": st.integers(),
}


@given(
    meta=st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries({k: st.just(v) | JSON_VALUES for k, v in META.items()},
                              optional={name: JSON_VALUES for name in PLAUSIBLE_META}),
        st.fixed_dictionaries({k: st.just(v) for k, v in META.items()}, optional=PLAUSIBLE_META),
    ),
    count=st.integers(0, 3),
)
def test_random_puzzle_metadata(meta, count, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "meta.npz"
    np.savez(path, codes=np.zeros((count, 30, 30), np.uint8), meta=np.array(json.dumps(meta)))
    fuzz_count(reads_safely("puzzle", path))


SHAPES = st.one_of(
    st.tuples(st.integers(0, 2**63), st.just(30), st.just(30)),
    st.lists(st.integers(0, 2**40), max_size=4).map(tuple),
    st.lists(st.integers(-5, 2**64), max_size=3).map(tuple),
)
DESCRS = st.sampled_from(["|u1", "<i8", ">f4", "|b1", "<U10", "|O", "|V16", "<c16", "<M8[s]", "|S5", "<f2"])


@given(
    version=st.sampled_from([(1, 0), (2, 0), (3, 0), (9, 9)]),
    header=st.one_of(
        st.builds(lambda d, f, s: repr({"descr": d, "fortran_order": f, "shape": s}), DESCRS, st.booleans(), SHAPES),
        st.text(max_size=200),
    ),
    payload=st.binary(max_size=2000),
    name=st.sampled_from(["codes", "meta"]),
)
def test_random_array_headers(version, header, payload, name, scratch, reads_safely, fuzz_count) -> None:
    arrays = {"codes": np.zeros((1, 30, 30), np.uint8), "meta": np.array(json.dumps(META))}
    path = scratch / "header.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, array in arrays.items():
            if member == name:
                archive.writestr(f"{member}.npy", _npy(version, header, payload))
            else:
                buffer = io.BytesIO()
                np.save(buffer, array)
                archive.writestr(f"{member}.npy", buffer.getvalue())
    fuzz_count(reads_safely("puzzle", path))


# --- audio ------------------------------------------------------------------------------


def _valid_wav() -> bytes:
    buffer = io.BytesIO()
    t = np.arange(8_000) / 8_000
    soundfile.write(buffer, (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 8_000, format="WAV",
                    subtype="PCM_16")
    return buffer.getvalue()


VALID_WAV = _valid_wav()
RATES = st.one_of(
    st.sampled_from([0, 1, 999, 1_000, 8_000, 16_000, 22_051, 44_100, 1_000_000, 1_000_001, 2**31, 2**32 - 1]),
    st.integers(0, 2**32 - 1),
)
EXTREME_FLOATS = st.one_of(st.floats(width=32), st.sampled_from([1e18, -1e15, 3.4e38, 1e-45, 32767.0, 1000.0]))


WAV_FIELDS = ("tag", "channels", "bits", "rate", "block", "declared", "riff_size")


@st.composite
def wav_files(draw: st.DrawFn) -> bytes:
    """A RIFF/WAVE file of PCM or float samples (extreme values included) with up to three
    of its header fields replaced by anything; with none replaced it is a valid file."""
    wild = draw(st.sets(st.sampled_from(WAV_FIELDS), max_size=3))
    tag, bits = draw(st.sampled_from([(1, 16), (1, 8), (1, 24), (1, 32), (3, 32), (3, 64)]))
    channels = draw(st.integers(1, 3))
    rate = draw(RATES) if "rate" in wild else draw(st.sampled_from([8_000, 16_000, 22_051, 44_100, 1_000_000]))
    frames = draw(st.integers(0, 300))
    if tag == 3:
        values = draw(st.lists(EXTREME_FLOATS, min_size=frames * channels, max_size=frames * channels))
        samples = np.array(values, dtype=np.float32 if bits == 32 else np.float64).tobytes()
    else:
        samples = draw(st.binary(min_size=frames * channels * bits // 8, max_size=frames * channels * bits // 8))
    if "tag" in wild:
        tag = draw(st.integers(0, 2**16 - 1))
    if "channels" in wild:
        channels = draw(st.integers(0, 2**16 - 1))
    if "bits" in wild:
        bits = draw(st.integers(0, 2**16 - 1))
    block = draw(st.integers(0, 2**16 - 1)) if "block" in wild else (channels * bits // 8) % 2**16
    declared = draw(st.integers(0, 2**32 - 1)) if "declared" in wild else len(samples)
    fmt = struct.pack("<HHIIHH", tag, channels, rate % 2**32, (rate * block) % 2**32, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", declared) + samples
    riff_size = draw(st.integers(0, 2**32 - 1)) if "riff_size" in wild else len(body)
    return b"RIFF" + struct.pack("<I", riff_size) + body


@given(data=st.one_of(st.binary(max_size=4096), st.binary(max_size=400).map(lambda b: b"RIFF\x00\x10\x00\x00WAVE" + b)))
def test_random_bytes_as_a_wav_file(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "random.wav"
    path.write_bytes(data)
    fuzz_count(reads_safely("audio", path))


@given(data=mutated(VALID_WAV[:2000]))
def test_mutated_wav_files(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "mutated.wav"
    path.write_bytes(data)
    fuzz_count(reads_safely("audio", path))


@given(data=wav_files())
def test_wav_files_with_random_header_fields_and_samples(data, scratch, reads_safely, fuzz_count) -> None:
    path = scratch / "fields.wav"
    path.write_bytes(data)
    fuzz_count(reads_safely("audio", path))
