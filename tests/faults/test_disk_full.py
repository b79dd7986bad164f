"""A disk that fills up while training: the run stops with one line saying so, keeps its last
complete checkpoint (no pointer to a half-written file, nothing deleted), `sage encode` works on
it, and once there is room again `--resume` ends with the weights of an uninterrupted run.

The small disk is a tmpfs mounted in a private mount namespace (``unshare``, as root or as a
user); where that is not allowed, a file-size limit set on the running trainer stands in for it
(``prlimit``: the write fails with "File too large" instead of "No space left on device").
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import SAGE, run_sage
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
#: 64 samples in batches of 8 for 12 epochs, a checkpoint at every step: the disk fills while the run
#: has about ninety steps to go, and the next write is a checkpoint (metrics lines come later).
SETTINGS = ("-o", "modality.train_samples=64", "-o", "modality.eval_samples=8", "-o", "train.batch_size=8",
            "-o", "train.epochs=12", "-o", "train.log_every_s=600", "-o", "train.checkpoint_every_steps=1",
            "--seed", "5", "--threads", "1", "--no-evaluate")
TOTAL_STEPS = 96


def tmpfs_namespace(mount: Path) -> list[str] | None:
    """The ``unshare`` flags under which a tmpfs can be mounted on ``mount`` here, or None."""
    for flags in (["--user", "--map-root-user", "--mount"], ["--mount"]):
        try:
            probe = subprocess.run(["unshare", *flags, "sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$0"', str(mount)],
                                   capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if probe.returncode == 0:
            return ["unshare", *flags]
    return None


def fill_with_tmpfs(prefix: list[str], mount: Path, out: Path, env: dict[str, str]) -> dict:
    subprocess.run([*prefix, sys.executable, str(HERE / "disk_full_run.py"), str(mount), str(out), "2m", *SETTINGS],
                   env=env, check=True, timeout=600)
    return json.loads((out / "result.json").read_text())


def fill_with_a_size_limit(mount: Path, out: Path, env: dict[str, str]) -> dict:
    """No private mount here: cap the trainer's file size once it has a checkpoint (Python ignores SIGXFSZ)."""
    run = mount / "run"
    with open(out / "train.out", "w") as stdout, open(out / "train.err", "w") as stderr:
        training = subprocess.Popen([*SAGE, "train", "toy_puzzle", "--out", str(run), *SETTINGS], env=env,
                                    stdout=stdout, stderr=stderr)
        while not (run / "checkpoints" / "last").exists() and training.poll() is None:
            time.sleep(0.005)
        _, hard = resource.prlimit(training.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(training.pid, resource.RLIMIT_FSIZE, (8192, hard))  # the next trainer state (30 KB) fails
        train_status = training.wait()
    shutil.copytree(run, out / "full")
    resumed = run_sage("train", "--resume", str(run), "--no-evaluate", env=env, check=False)
    shutil.copytree(run, out / "resumed")
    return {"mount": str(mount), "train_status": train_status, "resume_status": resumed.returncode,
            "resume_stdout": resumed.stdout, "resume_stderr": resumed.stderr}


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    name = (run / "checkpoints" / "last").read_text().strip()
    return load_file(str(run / "checkpoints" / f"{name}.safetensors"))


@pytest.mark.slow
def test_a_full_disk_stops_training_in_one_line_and_keeps_the_last_checkpoint(healthy_env, warm_sage, fault_report,
                                                                              tmp_path) -> None:
    env = {**healthy_env, "OMP_NUM_THREADS": "1", "SAGE_CACHE_DIR": str(tmp_path / "cache")}
    mount, out = tmp_path / "disk", tmp_path / "out"
    mount.mkdir()
    out.mkdir()
    prefix = tmpfs_namespace(mount)
    if prefix is not None:
        result, how = fill_with_tmpfs(prefix, mount, out, env), "a 2 MiB tmpfs"
        problem = "No space left on device"
    elif hasattr(resource, "prlimit"):
        result, how = fill_with_a_size_limit(mount, out, env), "a file-size limit (no private mount here)"
        problem = "File too large"
    else:
        pytest.skip("neither a private tmpfs (unshare --mount) nor prlimit is available here")
    run = Path(result["mount"]) / "run"

    lines = [line for line in (out / "train.err").read_text().splitlines() if line.strip()]
    assert result["train_status"] == 2 and len(lines) == 1, (out / "train.err").read_text()
    line = lines[0]
    assert line.startswith(f"sage: error: {run}/") and f"cannot be written ({problem})" in line, line
    full = out / "full"
    kept = (full / "checkpoints" / "last").read_text().strip()
    assert f"the last complete checkpoint, {kept}, is kept" in line and f"sage train --resume {run}" in line, line
    fault_report(f"disk full ({how}): {line}")

    assert not [p.name for p in full.rglob("*") if p.name.endswith(".tmp")]  # the cut write left no temp file
    pointers = [full / "checkpoints" / name for name in ("last", "best")]
    for name in {pointer.read_text().strip() for pointer in pointers if pointer.exists()}:
        assert load_file(str(full / "checkpoints" / f"{name}.safetensors"))
        assert torch.load(full / "checkpoints" / f"{name}.state.pt", weights_only=True)["step"] == int(name[5:])
    fields = tmp_path / "fields.npy"
    np.save(fields, np.random.default_rng(0).random((2, 30, 30)).astype(np.float32))
    encoded = run_sage("encode", str(full), str(fields), "--out", str(tmp_path / "p.npz"), env=env)
    assert "wrote 2 puzzle(s)" in encoded.stdout

    assert result["resume_status"] == 0 and not result["resume_stderr"].strip(), result["resume_stderr"]
    resumed = out / "resumed"
    assert json.loads((resumed / "summary.json").read_text())["steps"] == TOTAL_STEPS
    straight = tmp_path / "straight"
    warm_sage.run("train", "toy_puzzle", "--out", str(straight), *SETTINGS)
    expected, got = last_weights(straight), last_weights(resumed)
    assert all(torch.equal(expected[key], got[key]) for key in expected)
    assert os.listdir(mount) == [] or prefix is None  # the tmpfs lived only in its namespace
