"""Real microphone recordings for EVALUATION (never training), installed from package registries.

``benchmarks/install_real_recordings.sh DIR`` lays them out as ``DIR/<source>/*.wav`` (each
with the package's ``COPYRIGHT``); :func:`list_real_recordings` lists them. Torch-free, so
CI scripts and ``sage`` commands can call it without loading a model. Why: the embedded
training data is synthetic (eSpeak NG), and a model that only holds on synthetic speech is
of no use; these files are how we measure that it holds on real microphones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sage_core import InputError


@dataclass(frozen=True)
class RealSource:
    """One registry package's recordings: what they are, under which licence."""

    name: str  # the folder under the install DIR
    package: str
    licence: str
    description: str
    files: tuple[str, ...]
    speech: tuple[str, ...]  # the files that hold speech (the rest: noise only)


SOURCES: tuple[RealSource, ...] = (
    RealSource("alsa-utils", "Debian alsa-utils 1.2.8", "GPL-2",
               "one voice naming 8 speaker positions (~1.4 s each, 48 kHz) and one noise file",
               ("Front_Center.wav", "Front_Left.wav", "Front_Right.wav", "Rear_Center.wav", "Rear_Left.wav",
                "Rear_Right.wav", "Side_Left.wav", "Side_Right.wav", "Noise.wav"),
               ("Front_Center.wav", "Front_Left.wav", "Front_Right.wav", "Rear_Center.wav", "Rear_Left.wav",
                "Rear_Right.wav", "Side_Left.wav", "Side_Right.wav")),
    RealSource("codec2-16k", "Debian codec2-examples 1.0.5", "LGPL-2.1",
               "Codec 2's wideband speech test recordings (10.8 s and 1 s, 16 kHz)",
               ("speech_orig_16k.wav", "wia_16kHz.wav"), ("speech_orig_16k.wav", "wia_16kHz.wav")),
    RealSource("codec2-8k", "Debian codec2-examples 1.0.5", "LGPL-2.1",
               "Codec 2's narrowband test sentences, male and female speakers (1.6-4 s, 8 kHz: nothing above 4 kHz)",
               ("hts1a.wav", "hts2a.wav", "forig.wav", "morig.wav", "mmt1.wav", "big_dog.wav", "cross.wav"),
               ("hts1a.wav", "hts2a.wav", "forig.wav", "morig.wav", "mmt1.wav", "big_dog.wav", "cross.wav")),
    RealSource("pysptk", "PyPI pysptk 1.0.1 (sdist)", "CMU ARCTIC free-use licence (BSD-like)",
               "one CMU ARCTIC studio sentence (arctic_a0007, 4 s, 16 kHz)",
               ("arctic_a0007.wav",), ("arctic_a0007.wav",)),
    RealSource("amfm-decompy", "PyPI amfm-decompy 1.0.12.2 (wheel)", "MIT",
               "one short spoken phrase (0.9 s, 16 kHz), the package's example",
               ("sample.wav",), ("sample.wav",)),
    RealSource("pyannote-audio", "PyPI pyannote-audio 4.0.7 (wheel)", "MIT",
               "two people talking in a room (30 s, 16 kHz), the package's diarization sample",
               ("sample.wav",), ("sample.wav",)),
)


@dataclass(frozen=True)
class RealRecording:
    """One installed file: its source's name, its path, and whether it holds speech."""

    source: str
    path: Path
    speech: bool


def list_real_recordings(root: str | Path, speech_only: bool = False) -> list[RealRecording]:
    """Every installed recording under ``root`` (the install script's DIR), in a fixed order.

    Sources that were not installed are left out; a source folder missing one of its files,
    or a ``root`` with none at all, raises ``InputError`` naming the path.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "no such folder (install with benchmarks/install_real_recordings.sh DIR)")
    found: list[RealRecording] = []
    for source in SOURCES:
        folder = root / source.name
        if not folder.is_dir():
            continue
        for name in source.files:
            path = folder / name
            if not path.is_file():
                raise InputError(path, f"missing from the {source.name} recordings (reinstall them)")
            if name in source.speech or not speech_only:
                found.append(RealRecording(source.name, path, name in source.speech))
    if not found:
        raise InputError(root, "holds no real recordings (install with benchmarks/install_real_recordings.sh DIR)")
    return found


__all__ = ["SOURCES", "RealRecording", "RealSource", "list_real_recordings"]
