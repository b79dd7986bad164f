"""Ship the default runs inside the plugins, so `sage encode audio talk.wav` works right after install.

    sage train audio_puzzle --out RUN_A          # the README's main job, unchanged
    sage train vision_puzzle --out RUN_V
    python benchmarks/ship_default_models.py --audio RUN_A --vision RUN_V [--real DIR]

Each run must be finished and evaluated (`sage train` evaluates at its end). It is copied
without its trainer state into ``plugins/*/sage_*/shipped/<id>/`` with ``shipped.json``: the
command that made it, seed, threads, commit, machine, and its figures (the test split; for
audio also real recordings, evaluated as `sage evaluate RUN --data DIR` does).
`benchmarks/reproduce_shipped.py` trains again and checks the weights bit for bit.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"audio_puzzle": ROOT / "plugins/audio_puzzle/sage_audio_puzzle/shipped/audio_puzzle",
           "vision_puzzle": ROOT / "plugins/vision_puzzle/sage_vision_puzzle/shipped/vision_puzzle"}


def cpu_type() -> str:
    """The CPU's model name and the vector extensions oneDNN picks kernels by: weights are
    bit-identical only where these match (another CPU rounds differently)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in info.splitlines())}
    flags = set(fields.get("flags", "").split())
    extensions = [name for name in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if name in flags]
    return f"{fields.get('model name', '?')} ({', '.join(extensions) or 'no AVX2'})"


def provenance(run_dir: Path, real: Path | None) -> dict[str, Any]:
    """How the run was made and what it scores, for ``sage info``."""
    from sage_core.analysis import evaluate_run
    from sage_core.rundir import RunDirectory

    run = RunDirectory(run_dir)
    config, summary, evaluation = run.config(), run.summary(), run.evaluation()
    assert summary is not None and evaluation is not None
    commit = config.commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                             text=True).stdout.strip()
    made = {
        "command": f"sage train {config.compressor_id}" + (f" --seed {config.seed}" if config.seed else ""),
        "seed": config.seed,
        "threads": summary.threads,
        "steps": summary.steps,
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}",
        "cpu": cpu_type(),
        "versions": summary.versions,
        "trained_at": config.created,
        "evaluations": {},
    }
    if real is not None:
        on_real = evaluate_run(run.path, data=real)
        base, end = on_real.improvement["over_baseline"], (on_real.model_extra or {})["end_to_end_improvement"]
        name = "real recordings (benchmarks/install_real_recordings.sh DIR; sage evaluate audio_puzzle --data DIR)"
        made["evaluations"][name] = (
            f"{on_real.primary_metric} {base.trained:.4g} vs {base.other:.4g} ({base.ratio:.3g}x); end to end "
            f"{end['trained']:.4g} vs {end['other']:.4g} ({end['ratio']:.3g}x), {on_real.samples} windows")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, help="a finished `sage train audio_puzzle` run")
    parser.add_argument("--vision", type=Path, help="a finished `sage train vision_puzzle` run")
    parser.add_argument("--real", type=Path, default=os.environ.get("SAGE_REAL_RECORDINGS"),
                        help="real recordings to evaluate the audio run on [default: $SAGE_REAL_RECORDINGS]")
    args = parser.parse_args()
    from sage_core.shipping import ship_run

    for compressor_id, run, real in (("audio_puzzle", args.audio, args.real), ("vision_puzzle", args.vision, None)):
        if run is None:
            continue
        made = provenance(run, Path(real) if real else None)
        target = ship_run(run, TARGETS[compressor_id], made)
        print(f"shipped {run} as {target.relative_to(ROOT)}")
        for name, figures in made["evaluations"].items():
            print(f"  {name}: {figures}")


if __name__ == "__main__":
    main()
