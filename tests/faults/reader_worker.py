"""Run SAGE's file readers on request, under a hard address-space limit.

Started by the fault tests (``tests/faults/conftest.py``) as a subprocess. After importing
and warming up every reader, it caps its own address space (``RLIMIT_AS``) at what it
uses then plus ``--headroom-mb``, so a reader that tries to allocate what a hostile
header declares fails with ``MemoryError`` instead of taking the machine's memory.

Protocol: one JSON request per line on stdin, ``{"reader": NAME, "arg": TEXT}``; one JSON
reply per line on stdout: ``{"outcome": "ok"}``, ``{"outcome": "sage_error", "message":
str(exc)}`` or ``{"outcome": "crash", "message": traceback}`` for any other exception
(``MemoryError`` included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _readers() -> dict[str, Callable[[str], Any]]:
    """Each reader a user's file can reach, called as the CLI and the trainer call it."""
    import numpy as np
    import torch

    from sage_audio_puzzle.config import AudioPuzzleConfig
    from sage_audio_puzzle.modality import AudioModality
    from sage_core.config import resolve_config
    from sage_core.puzzle import Puzzle
    from sage_core.rundir import RunDirectory, read_json
    from sage_vision_puzzle.config import VisionConfig
    from sage_vision_puzzle.datasets import read_cifar_batch
    from sage_vision_puzzle.modality import VisionModality

    torch.set_num_threads(1)
    audio_modality, vision_modality = AudioModality(), VisionModality(VisionConfig(resolution=30))

    def audio(path: str) -> Any:
        return audio_modality.read_file(Path(path))  # what `sage encode` does

    def image(path: str) -> Any:
        return vision_modality.read_file(Path(path))

    def cifar(path: str) -> Any:
        data, names, labels = read_cifar_batch(Path(path))
        return np.ascontiguousarray(data).sum(), len(names), None if labels is None else int(labels.sum())

    return {
        "puzzle": lambda path: Puzzle.load(path).to_text(),
        "audio": audio,
        "image": image,
        "cifar": cifar,
        "toml": lambda path: resolve_config(AudioPuzzleConfig, toml_path=path),
        "override": lambda text: resolve_config(AudioPuzzleConfig, overrides=[text]),
        "run_json": read_json,
        "run_config": lambda path: RunDirectory(path).config(),
    }


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux ``VmSize``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _warm_up(readers: dict[str, Callable[[str], Any]], scratch: Path) -> None:
    """Run each reader once on a good input, so lazy imports and caches exist before the limit."""
    import numpy as np
    import soundfile
    from PIL import Image

    from sage_core.puzzle import Puzzle, PuzzleMeta

    scratch.mkdir(parents=True, exist_ok=True)
    Puzzle(np.zeros((1, 30, 30), np.uint8), PuzzleMeta("audio", "a", "1")).save(scratch / "p.npz")
    readers["puzzle"](str(scratch / "p.npz"))
    t = np.arange(22_050) / 22_050
    soundfile.write(scratch / "a.wav", (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22_050)
    readers["audio"](str(scratch / "a.wav"))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(scratch / "i.png")
    readers["image"](str(scratch / "i.png"))
    (scratch / "c.toml").write_text("[train]\nlr = 0.001\n")
    readers["toml"](str(scratch / "c.toml"))
    readers["override"]("train.lr=0.001")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headroom-mb", type=int, required=True)
    parser.add_argument("--scratch", type=Path, required=True)
    args = parser.parse_args()
    readers = _readers()
    _warm_up(readers, args.scratch)
    limit = _address_space() + args.headroom_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    from sage_core.errors import SageError

    print(json.dumps({"outcome": "ready", "limit": limit}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            readers[request["reader"]](request["arg"])
            reply = {"outcome": "ok"}
        except SageError as exc:
            reply = {"outcome": "sage_error", "message": str(exc)}
        except BaseException:  # noqa: BLE001 - reporting every other exception is the point
            reply = {"outcome": "crash", "message": traceback.format_exc(limit=-8)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
