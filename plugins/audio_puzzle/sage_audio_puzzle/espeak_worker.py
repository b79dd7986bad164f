"""Synthesise a list of utterances with eSpeak NG in a FRESH process, byte-identically.

eSpeak NG keeps internal random state (its own generator, seeded from the clock at
initialisation, and libc ``rand()``) and caches across calls, so the same text can come out
slightly different depending on when and after what it was synthesised. A fresh interpreter
that seeds both after initialising the engine and then synthesises in a fixed order gives
the same bytes on every machine of the same type.

    python -m sage_audio_puzzle.espeak_worker JOBS.json OUT.npz [--progress]

``JOBS.json``: ``{"seed": int, "jobs": [[text, voice, rate, pitch, pitch_range], ...]}``;
``OUT.npz``: ``samples`` (all int16 outputs concatenated), ``offsets`` (N + 1,), ``sample_rate``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

Job = tuple[str, str, int, int, int]


def _run(jobs_path: Path, out_path: Path, progress: bool) -> None:
    from sage_audio_puzzle.espeak import EspeakEngine

    spec = json.loads(jobs_path.read_text())
    engine = EspeakEngine.shared()
    engine.seed(int(spec["seed"]))  # after initialising (which seeds from the clock), before any synthesis
    outputs = []
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar:
        task = bar.add_task("synthesising eSpeak NG speech (once, then cached)", total=len(spec["jobs"]))
        for text, voice, rate, pitch, pitch_range in spec["jobs"]:
            outputs.append(engine.synthesize(text, voice, rate, pitch, pitch_range))
            bar.advance(task)
    offsets = np.cumsum([0] + [len(o) for o in outputs])
    samples = np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.int16)
    with open(out_path, "wb") as handle:
        np.savez(handle, samples=samples.astype(np.int16), offsets=offsets, sample_rate=engine.sample_rate)


def synthesize_in_fresh_process(jobs: list[Job], seed: int, progress: bool = False) -> tuple[list[np.ndarray], int]:
    """``jobs`` spoken in that order by a new interpreter -> (int16 arrays, sample rate)."""
    import sage_core

    import sage_audio_puzzle

    with tempfile.TemporaryDirectory(prefix="sage-espeak-") as tmp:
        jobs_path, out_path = Path(tmp) / "jobs.json", Path(tmp) / "out.npz"
        jobs_path.write_text(json.dumps({"seed": seed, "jobs": [list(job) for job in jobs]}))
        # The child must import this very code, wherever it was imported from here.
        roots = {str(Path(sage_audio_puzzle.__file__).parents[1]), str(Path(sage_core.__file__).parents[1])}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sorted(roots), os.environ.get("PYTHONPATH", "")])}
        command = [sys.executable, "-m", "sage_audio_puzzle.espeak_worker", str(jobs_path), str(out_path)]
        done = subprocess.run(command + (["--progress"] if progress else []), env=env, stdout=subprocess.DEVNULL,
                              stderr=None if progress else subprocess.PIPE, text=True)
        if done.returncode != 0:
            from sage_core import SageError

            raise SageError(f"eSpeak NG synthesis failed (exit {done.returncode}): {(done.stderr or '').strip()[-500:]}")
        with np.load(out_path, allow_pickle=False) as data:
            samples, offsets, rate = data["samples"], data["offsets"], int(data["sample_rate"])
    return [samples[offsets[i] : offsets[i + 1]] for i in range(len(jobs))], rate


if __name__ == "__main__":
    _run(Path(sys.argv[1]), Path(sys.argv[2]), "--progress" in sys.argv[3:])
