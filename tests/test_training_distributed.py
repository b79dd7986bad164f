"""Data-parallel training: 2 CPU processes (gloo) spawned by ``sage train --nproc 2``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from cli_runner import run_sage

from sage_core.training.trainer import epoch_order


def test_each_epoch_reshuffles_and_ranks_share_no_sample() -> None:
    rank0, rank1 = (epoch_order(21, seed=0, epoch=0, rank=r, world_size=2) for r in (0, 1))
    assert len(rank0) == len(rank1) == 10 and not set(rank0) & set(rank1)
    assert epoch_order(21, 0, 1, 0, 2) != rank0  # set_epoch gives a new permutation
    assert epoch_order(21, 0, 0, 0, 2) == rank0  # and the same one again on resume
    assert sorted(epoch_order(21, 0, 3, 0, 1)) == list(range(21))


@pytest.mark.slow
def test_two_processes_end_in_sync_and_only_rank_zero_writes(healthy_env, tmp_path, plugin_site) -> None:
    from sage_core.data import DataReport
    from sage_core.runs import load_compressor
    from sage_fixture_plugin.toy import ToyCompressor

    run_dir = tmp_path / "run"
    overrides = ["modality.train_samples=64", "modality.eval_samples=7", "train.epochs=5", "train.log_every_s=0.01"]
    result = run_sage("train", "toy_puzzle", "--nproc", "2", "--max-steps", "6", "--out", "run", "--device", "cpu",
                      "--no-evaluate", *[arg for o in overrides for arg in ("-o", o)], env=healthy_env, cwd=tmp_path)
    assert "ranks in sync: 2 processes hold identical weights" in result.stdout
    assert result.stdout.count("validation at step") == 3  # 2 batches per epoch: printed by rank 0 only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".lock", "checkpoints", "config.json", "data_report.json", "metrics.jsonl", "summary.json"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["nproc"] == 2 and summary["ranks_in_sync"] and summary["steps"] == 6

    # Validation counted each of the 7 samples exactly once (no padded duplicates across ranks).
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last_validation = [line for line in lines if line["split"] == "validation"][-1]
    assert last_validation["samples"] == 7 and last_validation["step"] == 6
    model = load_compressor(run_dir, "last")
    splits = model.modality.build_datasets(None, tmp_path, DataReport())
    with torch.no_grad():
        expected = float(model(splits.validation.samples).loss)
    assert last_validation["loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.slow
def test_an_error_in_a_spawned_rank_is_one_clear_line(healthy_env, tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for i in range(10):
        np.save(data / f"field{i}.npy", np.random.default_rng(i).random((30, 30), dtype=np.float32))
    (data / "broken.npy").write_bytes(b"junk")
    result = run_sage("train", "toy_puzzle", "--nproc", "2", "--data", str(data), "--out", str(tmp_path / "run"),
                      "--device", "cpu", "-o", "train.batch_size=2", env=healthy_env, check=False)
    assert result.returncode == 2
    assert re.search(r"sage: error: rank [01]: 1 of 11 samples \(9\.1%\) are unreadable", result.stderr)
    assert "broken.npy" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()  # failed before its first checkpoint: nothing left to resume
