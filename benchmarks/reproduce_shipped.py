"""Train a shipped model again and check its weights bit for bit against the shipped ones.

    python benchmarks/reproduce_shipped.py audio_puzzle [--keep DIR]

Runs the command recorded in the shipped run's ``shipped.json`` (seed and thread count
included) into a scratch folder and compares every tensor. Bit-identical weights are
expected on the same machine type and thread count; another CPU (or another torch build) may
round differently. Takes as long as the main job.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("compressor", help="a compressor id whose plugin ships a run (see `sage info ID`)")
    parser.add_argument("--keep", type=Path, help="train into this folder and keep it")
    args = parser.parse_args()
    import torch
    from safetensors.torch import load_file

    from sage_core.plugins import load_plugins
    from sage_core.rundir import RunDirectory
    from sage_core.runs import checkpoint_weights

    shipped = load_plugins().compressor(args.compressor).shipped_path()
    if shipped is None:
        raise SystemExit(f"{args.compressor}: its plugin ships no trained run")
    made = RunDirectory(shipped).shipped() or {}
    out = args.keep or Path(tempfile.mkdtemp(prefix="sage-reproduce-")) / args.compressor
    command = [*shlex.split(made["command"]), "--threads", str(made["threads"]), "--out", str(out), "--no-evaluate"]
    print("$", " ".join(command), flush=True)
    subprocess.run([sys.executable, "-m", "sage_core.cli", *command[1:]], check=True)
    ours, theirs = load_file(str(checkpoint_weights(out, "best"))), load_file(str(checkpoint_weights(shipped, "best")))
    same = ours.keys() == theirs.keys() and all(torch.equal(ours[key], theirs[key]) for key in ours)
    differing = [key for key in ours if key in theirs and not torch.equal(ours[key], theirs[key])]
    print(f"{args.compressor}: {'bit-identical' if same else 'DIFFERENT'} weights "
          f"({len(ours)} tensors; {len(differing)} differ) vs the shipped run made at commit {made.get('commit')} "
          f"on {made.get('machine')}")
    if not same:
        from ship_default_models import cpu_type

        print(f"this CPU: {cpu_type()}; the shipped run's: {made.get('cpu', 'not recorded')} "
              "(bit-identical weights are expected only on the same CPU type and thread count)")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
