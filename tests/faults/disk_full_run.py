"""Training on a disk that fills up, run inside a private mount namespace (see test_disk_full.py).

Mounts a small tmpfs on MOUNT, starts `sage train toy_puzzle` on it, fills the disk once the
first checkpoint exists but for one page (room for the next weights file, not for its trainer
state: a checkpoint cut half way), keeps a copy of what the full disk left under OUT/full, frees the
space, resumes the run on the same disk, copies the result to OUT/resumed and writes
OUT/result.json. Usage: ``disk_full_run.py MOUNT OUT SIZE TRAIN_ARGS...``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SAGE = [sys.executable, "-m", "sage_core.cli"]
#: One tmpfs page: the toy's next weights file (2.4 KB) fits, its trainer state (30 KB) does not.
LEFT_FREE = 4096


def fill(path: Path) -> int:
    """Write zeros to ``path`` until the disk refuses even one more byte; return how many were written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (1 << 16, 1 << 12, 1 << 9, 1):
            block = bytes(size)
            while True:
                try:
                    written += os.write(fd, block)
                except OSError:
                    break
    finally:
        os.close(fd)
    return written


def main(mount: Path, out: Path, size: str, *train_args: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    run = mount / "run"
    with open(out / "train.out", "w") as stdout, open(out / "train.err", "w") as stderr:
        training = subprocess.Popen([*SAGE, "train", "toy_puzzle", "--out", str(run), *train_args], stdout=stdout,
                                    stderr=stderr)
        while not (run / "checkpoints" / "last").exists() and training.poll() is None:
            time.sleep(0.005)
        filled = fill(mount / "filler")
        os.truncate(mount / "filler", filled - LEFT_FREE)
        train_status = training.wait()
    shutil.copytree(run, out / "full")
    (mount / "filler").unlink()
    resumed = subprocess.run([*SAGE, "train", "--resume", str(run), "--no-evaluate"], capture_output=True, text=True)
    shutil.copytree(run, out / "resumed")
    (out / "result.json").write_text(json.dumps({
        "mount": str(mount), "filled_bytes": filled, "train_status": train_status,
        "resume_status": resumed.returncode, "resume_stdout": resumed.stdout, "resume_stderr": resumed.stderr,
    }))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], *sys.argv[4:])
