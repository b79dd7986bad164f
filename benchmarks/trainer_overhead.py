"""What the shared trainer costs: its loop vs a bare hand-written loop, and DDP start-up.

Both loops train the tiny toy compressor (tests/plugins/sage-fixture-plugin) on the same
in-memory data with the same batch size, AdamW and one thread. The toy model is so small
that per-step overhead shows up as clearly as it ever will; real models hide it.
The two are measured alternately in one process, best of ``--repeats``, and reported as
a ratio, because this machine is shared and absolute timings are noisy.

    python benchmarks/trainer_overhead.py [--steps 300] [--repeats 3] [--nproc 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "sage-fixture-plugin"))

import torch  # noqa: E402

import sage_fixture_plugin  # noqa: E402
from sage_core.plugins import load_plugins  # noqa: E402
from sage_core.training import TrainingRequest, train  # noqa: E402
from sage_fixture_plugin.toy import ToyCompressor  # noqa: E402

BATCH = 32
CONFIG = (f"train.batch_size={BATCH}", "modality.train_samples=2048", "modality.eval_samples=8", "train.epochs=1000")


def bare_loop(steps: int) -> float:
    """Samples/s of the simplest correct loop: shuffle, forward, backward, clip, step."""
    torch.manual_seed(0)
    model = ToyCompressor(ToyCompressor.Config())
    data = model.modality.build_datasets(None, Path(tempfile.gettempdir()), _report()).train.samples
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    done, began = 0, time.perf_counter()
    while done < steps:
        for batch in data[torch.randperm(len(data))].split(BATCH):
            out = model(batch)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done += 1
            if done == steps:
                break
    return steps * BATCH / (time.perf_counter() - began)


def _report():
    from sage_core.data import DataReport

    return DataReport()


def trainer_loop(steps: int, out: Path, nproc: int = 1) -> dict:
    """The shared trainer's summary for ``steps`` steps (log lines and checkpoints at defaults)."""
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[sage_fixture_plugin])
    result = train(TrainingRequest("toy_puzzle", overrides=CONFIG, out=out, max_steps=steps, nproc=nproc,
                                   progress="off"), registry)
    return json.loads((result.run_dir / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--nproc", type=int, default=2, help="processes for the DDP start-up figure (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bare, trainer = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            bare.append(bare_loop(args.steps))
            trainer.append(trainer_loop(args.steps, Path(tmp) / f"run{i}")["train_samples_per_s"])
        print(f"bare loop:      {max(bare):8.0f} samples/s  (best of {args.repeats}, batch {BATCH}, 1 thread)")
        print(f"shared trainer: {max(trainer):8.0f} samples/s")
        print(f"trainer / bare: {max(trainer) / max(bare):8.2f}")
        if args.nproc > 1:
            began = time.perf_counter()
            summary = trainer_loop(20, Path(tmp) / "ddp", nproc=args.nproc)
            total = time.perf_counter() - began
            print(f"DDP start-up:   {summary['startup_s']:8.2f} s until {args.nproc} gloo processes joined "
                  f"(whole 20-step run {total:.1f} s)")


if __name__ == "__main__":
    main()
