"""Run the `sage` CLI in a subprocess exactly as a user would, for tests anywhere in the repo."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

SAGE = [sys.executable, "-m", "sage_core.cli"]


def run_sage(
    *args: str,
    env: Mapping[str, str],
    cwd: str | Path | None = None,
    timeout: float = 300,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``sage ARGS`` in a subprocess; on failure show its output in the assertion."""
    result = subprocess.run(
        [*SAGE, *args], env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"sage {' '.join(args)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result
