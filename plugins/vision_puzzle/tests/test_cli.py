"""The vision plugin through the real `sage` CLI: discovery, a tiny training run, encode and decode."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_sage
from PIL import Image


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    return {**environ, "SAGE_CACHE_DIR": str(tmp_path / "cache")}


def test_plugins_lists_both_vision_compressors(env: dict[str, str]) -> None:
    listing = json.loads(run_sage("plugins", "--json", env=env).stdout)
    text = json.dumps(listing)
    assert '"vision_puzzle"' in text and '"vision_prototype"' in text
    assert "resolution" in run_sage("info", "vision_puzzle", env=env).stdout


@pytest.mark.slow
def test_train_encode_decode_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_sage("train", "vision_puzzle", "--out", str(run), "--max-steps", "2", "--no-evaluate",
             "-o", "channels=8", "-o", "decoder_blocks=1", "-o", "modality.train_crops=64", "-o", "modality.eval_crops=8",
             "-o", "train.batch_size=16", env=env)
    photo = tmp_path / "photo.jpg"
    ramp = np.linspace(0, 255, 300, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(ramp, (200, 1))] * 3, axis=2)).save(photo)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    encoded = run_sage("encode", str(run), str(photo), str(broken), "--out", str(tmp_path / "p.npz"),
                       "--text", env=env, check=False)
    assert encoded.returncode == 1 and "broken.png" in encoded.stderr  # reported, the good file still encoded
    digits = [line for line in encoded.stdout.splitlines() if len(line.replace(" ", "")) == 30]
    assert len(digits) == 30
    row = digits[0].replace(" ", "")
    assert row[0] < row[-1]  # the ramp gets brighter to the right, so do the codes
    run_sage("decode", str(run), str(tmp_path / "p.npz"), "--out", str(tmp_path / "back.png"), env=env)
    with Image.open(tmp_path / "back.png") as decoded:
        assert decoded.size == (60, 60) and decoded.mode == "RGB"
