"""Runs killed with SIGKILL at any instant resume from their last complete checkpoint."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from cli_runner import SAGE, run_sage
from safetensors.torch import load_file

# 8 batches per epoch, 6 epochs: long enough to kill mid-run, short enough for a test.
SMALL = ["-o", "modality.train_samples=64", "-o", "modality.eval_samples=8", "-o", "train.batch_size=8", "-o", "train.epochs=6",
         "-o", "train.log_every_s=0.5", "--device", "cpu", "--no-evaluate"]


@pytest.fixture()
def env(one_thread_env: dict[str, str]) -> dict[str, str]:
    return one_thread_env


def last_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    name = (run_dir / "checkpoints" / "last").read_text().strip()
    return load_file(str(run_dir / "checkpoints" / f"{name}.safetensors"))


def start_training(run_dir: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*SAGE, "train", "toy_puzzle", "--out", str(run_dir), *SMALL, *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_when(process: subprocess.Popen[str], ready, delay: float = 0.0, timeout: float = 120) -> None:
    """SIGKILL ``process`` ``delay`` seconds after ``ready()`` is true; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"training ended before it could be killed: {process.stderr.read()}"
        assert time.monotonic() < deadline, "training never reached the point to kill it"
        time.sleep(0.005)
    time.sleep(delay)
    assert process.poll() is None, "training ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()


def checkpoint_steps(run_dir: Path) -> list[int]:
    folder = run_dir / "checkpoints"
    return sorted(int(p.name[5:13]) for p in folder.glob("step-*.safetensors")) if folder.is_dir() else []


@pytest.mark.slow
def test_resume_after_sigkill_ends_bit_identical(env, tmp_path) -> None:
    every = ["-o", "train.checkpoint_every_steps=3"]
    straight_run = start_training(tmp_path / "straight", env, *every)  # in parallel, same settings
    interrupted = tmp_path / "interrupted"
    process = start_training(interrupted, env, *every)
    kill_when(process, lambda: (interrupted / "checkpoints" / "last").is_file())
    assert straight_run.wait() == 0, straight_run.stderr.read()
    assert not (interrupted / "summary.json").exists()
    killed_at = int((interrupted / "checkpoints" / "last").read_text().strip()[5:])
    assert killed_at < 48

    result = run_sage("train", "--resume", str(interrupted), "--no-evaluate", env=env)
    assert "training toy_puzzle into" in result.stdout
    straight, resumed = last_weights(tmp_path / "straight"), last_weights(interrupted)
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    summary = json.loads((interrupted / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 48
    config = json.loads((interrupted / "config.json").read_text())
    assert len(config["resumed"]) == 1
    records = [json.loads(line) for line in (interrupted / "metrics.jsonl").read_text().splitlines()]
    train_steps = [record["step"] for record in records if record["split"] == "train"]
    assert train_steps == sorted(set(train_steps)), "the resumed run logged some steps twice"


@pytest.mark.slow
def test_kill_during_checkpoint_writes_leaves_only_whole_files(env, tmp_path) -> None:
    """Checkpoint every step and kill at random instants: whatever exists must load."""
    run_dir = tmp_path / "run"
    rng = random.Random(0)
    process = start_training(run_dir, env, "-o", "train.checkpoint_every_steps=1")
    wait_for = rng.randint(2, 12)
    # Most of this run's time goes to writing checkpoints, so the kill lands in one.
    kill_when(process, lambda: max(checkpoint_steps(run_dir), default=0) >= wait_for, rng.uniform(0, 0.05))
    folder = run_dir / "checkpoints"
    for pointer in ("last", "best"):
        if (folder / pointer).exists():
            name = (folder / pointer).read_text().strip()
            assert load_file(str(folder / f"{name}.safetensors"))
            assert torch.load(folder / f"{name}.state.pt", weights_only=True)["step"] == int(name[5:])
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        json.loads(line)
    json.loads((run_dir / "config.json").read_text())

    run_sage("train", "--resume", str(run_dir), "--no-evaluate", "-o", "train.checkpoint_every_steps=1000",
             env=env)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
    leftovers = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert not [name for name in leftovers if name.endswith(".tmp")]
    assert len(leftovers) <= 6  # last + best pairs and their two pointers
