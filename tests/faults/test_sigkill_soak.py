"""SIGKILL soak: one run of the toy compressor, checkpointing every step, killed at 24 random
moments (while starting, while training, inside atomic writes) and resumed after each kill. At
the end no file is partial and the weights are bit-identical to an uninterrupted run.

Each `sage` command is forked from a warmed-up interpreter (``warm_sage``): its own process,
killed with a real SIGKILL, but without seconds of imports per restart, so 24 kills fit in well
under a minute and a half on 2 cores.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

#: 64 samples in batches of 8 for 12 epochs: 96 steps, a checkpoint after each.
SETTINGS = ("-o", "modality.train_samples=64", "-o", "modality.eval_samples=8", "-o", "train.batch_size=8",
            "-o", "train.epochs=12", "-o", "train.log_every_s=0.05", "-o", "train.checkpoint_every_steps=1",
            "--seed", "11", "--threads", "1", "--no-evaluate")
TOTAL_STEPS = 96
KILLS = 24
#: Where a kill is aimed: while the command starts (plugins, planning, data, loading the
#: checkpoint), a moment after its first new checkpoint (a training step, a metrics line, the next
#: checkpoint), or at the k-th atomic write it begins (config, data report, metrics, weights, state,
#: pointers), the kill landing before that write's rename.
MOMENTS = ("starting", "training", "writing")


def temporary_files(run: Path) -> set[str]:
    """What atomic writes in progress (or cut by a kill) look like: ``.NAME.XXXXXXXX.tmp``."""
    found = set()
    for folder in (run, run / "checkpoints"):
        try:
            found |= {f"{folder.name}/{name}" for name in os.listdir(folder) if name.endswith(".tmp")}
        except FileNotFoundError:
            pass
    return found


def pointer(run: Path) -> bytes | None:
    try:
        return (run / "checkpoints" / "last").read_bytes()
    except FileNotFoundError:
        return None


def kill_at(child, run: Path, moment: str, rng: random.Random, timeout: float = 60) -> bool:
    """SIGKILL ``child`` at ``moment``; False if it ended by itself first (the run is complete)."""
    began, deadline = time.monotonic(), time.monotonic() + timeout
    seen, start_pointer = temporary_files(run), pointer(run)
    delay = rng.uniform(0, 0.3)
    writes_to_pass = rng.randint(1, 8)
    trained_at = None
    while True:
        if child.poll() is not None:
            return False
        now = time.monotonic()
        assert now < deadline, f"the command never reached the moment to kill it ({moment})"
        if moment == "starting" and now - began >= delay:
            break
        if moment == "training":
            if trained_at is None and pointer(run) not in (None, start_pointer):
                trained_at, delay = now, rng.uniform(0, 0.05)
            if trained_at is not None and now - trained_at >= delay:
                break
        if moment == "writing":
            seen_now = temporary_files(run)
            writes_to_pass -= len(seen_now - seen)
            seen |= seen_now
            if writes_to_pass <= 0:
                break
        time.sleep(0.0005)
    os.kill(child.pid, signal.SIGKILL)
    status = child.wait(60)
    return status == -signal.SIGKILL


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    name = (run / "checkpoints" / "last").read_text().strip()
    return load_file(str(run / "checkpoints" / f"{name}.safetensors"))


@pytest.mark.slow
def test_a_run_killed_24_times_resumes_to_the_weights_of_an_uninterrupted_one(warm_sage, fault_report,
                                                                                tmp_path) -> None:
    straight = tmp_path / "straight"
    warm_sage.run("train", "toy_puzzle", "--out", str(straight), *SETTINGS)

    run = tmp_path / "run"
    rng = random.Random(20261202)
    landed = {moment: 0 for moment in MOMENTS}
    cut_writes = 0
    began = time.monotonic()
    for _ in range(KILLS):
        # A user resumes once the run has its config.json; before that, starts it again.
        command = (("train", "--resume", str(run), "--no-evaluate") if (run / "config.json").is_file()
                   else ("train", "toy_puzzle", "--out", str(run), *SETTINGS))
        before = temporary_files(run)
        moment = rng.choice(MOMENTS)
        assert kill_at(warm_sage.start(*command), run, moment, rng), f"the run completed after {sum(landed.values())} kills"
        landed[moment] += 1
        cut_writes += bool(temporary_files(run) - before)  # a write the kill cut before its rename
        for name in ("config.json", "summary.json", "data_report.json"):  # never torn, whenever killed
            if (run / name).exists():
                json.loads((run / name).read_text())
    result = warm_sage.run("train", "--resume", str(run), "--no-evaluate")
    seconds = time.monotonic() - began
    kills = sum(landed.values())
    fault_report(f"SIGKILL soak: {kills} kills ({', '.join(f'{n} {m}' for m, n in landed.items())}; "
                 f"{cut_writes} cut an atomic write before its rename), {kills + 1} resumes/restarts, "
                 f"{seconds:.1f} s")
    assert kills == KILLS and "finished after 96 steps" in result.stdout, result.stdout
    assert cut_writes >= 1, "no kill landed inside a write"

    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == TOTAL_STEPS
    straight_weights, resumed_weights = last_weights(straight), last_weights(run)
    assert straight_weights.keys() == resumed_weights.keys()
    for key in straight_weights:
        assert torch.equal(straight_weights[key], resumed_weights[key]), key

    leftovers = [str(p) for p in run.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".sage-")]
    assert not leftovers, leftovers
    for name in ("config.json", "summary.json", "data_report.json"):
        json.loads((run / name).read_text())
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [row["step"] for row in rows if row["split"] == "train"]
    assert steps == sorted(set(steps)), "a step was logged twice or out of order"
    checkpoints = run / "checkpoints"
    named = {(checkpoints / p).read_text().strip() for p in ("last", "best")}
    assert {p.name for p in checkpoints.iterdir()} == {"last", "best"} | {
        f"{name}.{kind}" for name in named for kind in ("safetensors", "state.pt")}
    for name in named:
        state = torch.load(checkpoints / f"{name}.state.pt", weights_only=True)
        assert state["step"] == int(name.removeprefix("step-"))
