"""Train the fixture plugin's toy compressor for tests, through the real trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: 4 batches per epoch: a whole run takes a fraction of a second.
TINY = ("modality.train_samples=32", "modality.eval_samples=8", "train.batch_size=8", "train.epochs=2",
        "train.log_every_s=0.01")


def train_toy(registry: Any, out: Path, *overrides: str, compressor: str = "toy_puzzle", evaluate: bool = False,
              **request: Any) -> Path:
    """Train ``compressor`` into ``out`` (``request``: more ``TrainingRequest`` fields); return the run."""
    from sage_core.training import TrainingRequest, train

    result = train(TrainingRequest(compressor, overrides=tuple(overrides), out=out,
                                   **{"progress": "off", **request}), registry)
    if evaluate:
        from sage_core.analysis import evaluate_run

        evaluate_run(result.run_dir, registry=registry)
    return result.run_dir
