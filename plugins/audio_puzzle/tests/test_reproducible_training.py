"""The same command and seed give the same model: two tiny runs end with bit-identical weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from cli_runner import run_sage
from safetensors.torch import load_file

TINY = ("modality.voices=4", "modality.phrases=1", "modality.augment_copies=1", "encoder_filters=2",
        "encoder_hidden=4", "decoder_channels=4", "decoder_blocks=1", "decoder_basis=2", "train.batch_size=4")


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    name = (run / "checkpoints" / "last").read_text().strip()
    return load_file(str(run / "checkpoints" / f"{name}.safetensors"))


@pytest.mark.slow  # two short trainings from the embedded data, with its augmented copies
def test_two_runs_with_the_same_seed_give_bit_identical_weights(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}, "SAGE_CACHE_DIR": str(tmp_path / "c")}
    overrides = [arg for item in TINY for arg in ("-o", item)]
    runs = []
    for name in ("first", "second"):  # byte-identical data across processes: test_embedded_speech.py
        run = tmp_path / name
        run_sage("train", "audio_puzzle", "--max-steps", "12", "--threads", "1", "--no-evaluate", "--out", str(run),
                 *overrides, env=env)
        runs.append(last_weights(run))
    first, second = runs
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)
    other = tmp_path / "seed1"
    run_sage("train", "audio_puzzle", "--max-steps", "12", "--threads", "1", "--no-evaluate", "--seed", "1",
             "--out", str(other), *overrides, env=env)
    assert any(not torch.equal(first[key], value) for key, value in last_weights(other).items())
