"""The shared trainer: ``train(TrainingRequest(...))`` trains any compressor into a run directory.

Modules: ``request`` (what the user asked: every option once), ``plan`` (the request
resolved), ``launch`` (claim the run directory, start the ranks, finish), ``trainer`` (the
loop), ``checkpoint`` (safetensors weights + trainer state, atomic pointers),
``distributed`` (torch.distributed helpers), ``progress``. Importing this package is cheap:
``train`` (and torch with it) loads on first use, so the CLI can read ``TrainingRequest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sage_core.lazy import lazy_names
from sage_core.training.request import TrainingRequest

__all__ = ["TrainingRequest", "TrainingResult", "train"]
__getattr__ = lazy_names(__name__, {"train": "sage_core.training.launch", "TrainingResult": "sage_core.training.launch"})


if TYPE_CHECKING:  # pragma: no cover
    from sage_core.training.launch import TrainingResult, train
