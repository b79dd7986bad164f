"""The shared trainer: ``run_training`` trains any compressor into a run directory.

Modules: ``trainer`` (the loop), ``launch`` (planning, processes, evaluation),
``checkpoint`` (safetensors weights + trainer state, atomic pointers), ``rundir``
(layout, lock, metrics log), ``distributed`` (torch.distributed helpers), ``progress``.
"""

from sage_core.training.launch import run_training

__all__ = ["run_training"]
