"""Checkpoints that survive SIGKILL at any instant.

A checkpoint is a pair in ``checkpoints/``: ``step-00000123.safetensors`` (the weights,
no pickle, with metadata naming the compressor) and ``step-00000123.state.pt``
(optimizer, loop position and every RNG, read with
``torch.load(weights_only=True)``). Each file is written atomically, and only then are
the text pointers ``last`` / ``best`` moved to the new name, so a pointer always names a
complete pair. Files no pointer names are pruned, and only after the pointers moved, so
a write that fails (a full disk) leaves the previous checkpoint and its pointers as they were.
Both files are serialized in memory first: a failing write is then a plain ``OSError``
naming the file (torch and safetensors report a full disk in words of their own).
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sage_core.atomic import write_bytes_atomic, write_text_atomic
from sage_core.errors import SageError
from sage_core.rundir import CHECKPOINT_NAME, CHECKPOINTS_DIR, read_pointer
from sage_core.weights import load_weights, save_weights
#: What a trainer state must hold for a resume.
_STATE_KEYS = frozenset({"step", "epoch", "batch_in_epoch", "samples_seen", "best_val_loss", "last_val_step",
                         "wall_s", "optimizer", "rng"})


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def rng_state(loader_generator: torch.Generator) -> dict[str, Any]:
    """Every random number generator the loop touches, in a ``weights_only``-safe form."""
    np_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "loader": loader_generator.get_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any], loader_generator: torch.Generator) -> None:
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    np_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": np_state["bit_generator"],
            "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": np_state["pos"]},
            "has_gauss": np_state["has_gauss"],
            "gauss": np_state["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    loader_generator.set_state(state["loader"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointStore:
    """The ``checkpoints/`` folder of one run: save, point, prune, load."""

    def __init__(self, run_dir: Path) -> None:
        self.folder = Path(run_dir) / CHECKPOINTS_DIR

    def pointer(self, which: str) -> str | None:
        """The checkpoint ``last`` or ``best`` names (None: none yet); a damaged pointer is a ``SageError``."""
        return read_pointer(self.folder / which)

    def save(
        self,
        step: int,
        model: nn.Module,
        trainer_state: dict[str, Any],
        metadata: dict[str, str],
        is_best: bool,
    ) -> str:
        """Write the pair for ``step``, then move ``last`` (and ``best``) to it."""
        name = checkpoint_name(step)
        save_weights(model, self.folder / f"{name}.safetensors", metadata)
        buffer = io.BytesIO()
        torch.save(trainer_state, buffer)
        write_bytes_atomic(self.folder / f"{name}.state.pt", buffer.getvalue())
        if is_best:
            write_text_atomic(self.folder / "best", name + "\n")
        write_text_atomic(self.folder / "last", name + "\n")
        self.prune()
        return name

    def prune(self) -> None:
        """Delete checkpoints no pointer names, and temp files a killed writer left."""
        keep = {self.pointer("last"), self.pointer("best")}
        for path in self.folder.iterdir():
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                continue
            stem = path.name.split(".", 1)[0]
            if CHECKPOINT_NAME.match(stem) and stem not in keep:
                path.unlink(missing_ok=True)

    def load_last(self, model: nn.Module) -> dict[str, Any] | None:
        """Load the ``last`` weights into ``model``; return the trainer state (None: no checkpoint)."""
        name = self.pointer("last")
        if name is None:
            return None
        weights_path, state_path = self.folder / f"{name}.safetensors", self.folder / f"{name}.state.pt"
        for path in (weights_path, state_path):
            if not path.is_file():
                raise SageError(f"{self.folder / 'last'}: names {name}, but {path.name} is missing; the checkpoint "
                                "is damaged: resume from a copy, or start a new run")
        load_weights(model, weights_path)
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises several types for damaged files
            raise SageError(f"{state_path}: unreadable trainer state ({type(exc).__name__}); the checkpoint "
                            f"{name} is damaged: resume from a copy, or start a new run") from None
        if not isinstance(state, dict) or not _STATE_KEYS <= set(state):
            raise SageError(f"{state_path}: not a trainer state (needs {', '.join(sorted(_STATE_KEYS))})")
        return state
