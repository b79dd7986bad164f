"""The shared analyzer: code statistics, ``evaluate_run`` and the figures.

``evaluate_run`` needs torch and is imported on first use, so reading an existing
evaluation (``sage compare``) never pays for torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate_run"]


def evaluate_run(run_dir: Any, **options: Any) -> Any:
    """Evaluate a run; see :func:`sage_core.analysis.evaluate.evaluate_run` for ``options``."""
    from sage_core.analysis.evaluate import evaluate_run as run

    return run(run_dir, **options)
