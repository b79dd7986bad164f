"""The real-recording listing: what the install script lays out, found and checked."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sage_core import InputError

from sage_audio_puzzle.real_recordings import SOURCES, list_real_recordings


def lay_out(root: Path, source_name: str, skip: str | None = None) -> None:
    """Short real WAV files under the names the install script gives them."""
    source = next(s for s in SOURCES if s.name == source_name)
    folder = root / source.name
    folder.mkdir(parents=True)
    for name in source.files:
        if name != skip:
            soundfile.write(folder / name, np.zeros(800, dtype=np.float32), 16_000)


def test_lists_installed_sources_in_a_fixed_order(tmp_path):
    lay_out(tmp_path, "pysptk")
    lay_out(tmp_path, "alsa-utils")
    found = list_real_recordings(tmp_path)
    assert [r.source for r in found] == ["alsa-utils"] * 9 + ["pysptk"]
    assert [r.path.name for r in found if not r.speech] == ["Noise.wav"]
    assert all(r.path.is_file() for r in found)
    assert "Noise.wav" not in [r.path.name for r in list_real_recordings(tmp_path, speech_only=True)]


def test_a_source_missing_a_file_is_named(tmp_path):
    lay_out(tmp_path, "codec2-8k", skip="forig.wav")
    with pytest.raises(InputError, match="forig.wav.*missing"):
        list_real_recordings(tmp_path)


def test_an_empty_or_absent_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="holds no real recordings"):
        list_real_recordings(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        list_real_recordings(tmp_path / "absent")


@pytest.mark.skipif(not os.environ.get("SAGE_REAL_RECORDINGS"),
                    reason="set SAGE_REAL_RECORDINGS to a folder from benchmarks/install_real_recordings.sh")
def test_installed_recordings_are_readable_speech():
    from sage_audio_puzzle.frontend import read_audio

    found = list_real_recordings(os.environ["SAGE_REAL_RECORDINGS"], speech_only=True)
    assert {r.source for r in found} == {s.name for s in SOURCES}
    for recording in found:
        audio = read_audio(recording.path).numpy()
        assert audio.size >= 14_000 and np.abs(audio).max() > 0.05, recording.path
    licences = [Path(os.environ["SAGE_REAL_RECORDINGS"]) / s.name / "COPYRIGHT" for s in SOURCES]
    assert all(p.is_file() and p.stat().st_size > 0 for p in licences)
