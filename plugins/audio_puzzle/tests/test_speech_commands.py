"""The Speech Commands v2 loader on a small tree in the real layout, written to disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile
from cli_runner import run_sage

from sage_core import DataReport, InputError, labels_of

from sage_audio_puzzle.modality import AudioModality
from sage_audio_puzzle.speech_commands import list_clips, split_by_hash

SPEAKERS = ("0a7c2a8d", "1b4c9b89", "2c6b9ad1", "3d1e7c3a", "4e2f8f2b", "5f3a1b0c")


def _write_tree(root: Path, with_lists: bool) -> None:
    rng = np.random.default_rng(0)
    for word in ("yes", "no"):
        (root / word).mkdir(parents=True)
        for speaker in SPEAKERS:
            length = int(rng.integers(8000, 16000))  # many real clips are shorter than 1 s
            soundfile.write(root / word / f"{speaker}_nohash_0.wav", (0.1 * rng.standard_normal(length)).astype(np.float32),
                            16_000, subtype="PCM_16")
    (root / "_background_noise_").mkdir()
    soundfile.write(root / "_background_noise_" / "white_noise.wav", np.zeros(40_000, np.float32), 16_000)
    (root / "no" / "b544d4fd_nohash_0.wav").write_bytes(b"RIFF\x00\x00garbage")
    if with_lists:
        (root / "validation_list.txt").write_text(f"yes/{SPEAKERS[0]}_nohash_0.wav\nno/{SPEAKERS[0]}_nohash_0.wav\n")
        (root / "testing_list.txt").write_text(f"yes/{SPEAKERS[1]}_nohash_0.wav\n")


def test_official_lists_decide_the_split_and_bad_files_are_reported(tmp_path):
    root = tmp_path / "sc"
    _write_tree(root, with_lists=True)
    report = DataReport()
    splits = AudioModality().build_datasets(root, tmp_path / "cache", report)
    assert splits.sizes() == {"train": 9, "validation": 2, "test": 1}
    assert [(Path(s.path).name, s.split) for s in report.skipped] == [("b544d4fd_nohash_0.wav", "train")]
    assert "not readable audio" in report.skipped[0].reason
    assert splits.train[0].shape == (1, 128, 32)
    assert not any("_background_noise_" in relative for relative, _ in list_clips(root))
    # The folder is the word: every split labelled with the same sorted classes.
    assert splits.classes == ("no", "yes")
    assert labels_of(splits.validation).tolist() == [0, 1]  # no/ and yes/ of the first speaker, in path order
    assert labels_of(splits.test).tolist() == [1]
    assert sorted(labels_of(splits.train).tolist()) == [0] * 5 + [1] * 4  # the unreadable no/ clip is not counted
    assert report.class_counts == {"train": {"no": 5, "yes": 4}, "validation": {"no": 1, "yes": 1},
                                   "test": {"no": 0, "yes": 1}}


def test_without_lists_the_speaker_hash_rule_splits_by_speaker(tmp_path):
    root = tmp_path / "sc"
    _write_tree(root, with_lists=False)
    clips = list_clips(root)
    by_speaker: dict[str, set[str]] = {}
    for relative, split in clips:
        by_speaker.setdefault(Path(relative).name.split("_nohash_")[0], set()).add(split)
        assert split == split_by_hash(relative)
    assert all(len(splits) == 1 for splits in by_speaker.values()), "a speaker never spans two splits"
    report = DataReport()
    splits = AudioModality().build_datasets(root, tmp_path / "cache", report)
    assert sum(splits.sizes().values()) == 12 and len(report.skipped) == 1


def test_the_data_set_rule_matches_its_readme_example():
    # The README's rule in its own terms: sha1 of the speaker id, mod 2**27, scaled to percent.
    import hashlib

    speaker = "0a7c2a8d"
    percent = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % (2**27)) * (100.0 / (2**27 - 1))
    expected = "validation" if percent < 10 else "test" if percent < 20 else "train"
    assert split_by_hash(f"yes/{speaker}_nohash_3.wav") == expected


def test_second_load_comes_from_the_cache_with_the_same_report(tmp_path):
    root = tmp_path / "sc"
    _write_tree(root, with_lists=True)
    first, second = DataReport(), DataReport()
    a = AudioModality().build_datasets(root, tmp_path / "cache", first)
    cached = list((tmp_path / "cache" / "audio_puzzle").glob("speech_commands_*.npz"))
    assert len(cached) == 1
    for wav in root.glob("yes/*.wav"):
        wav.chmod(0)  # unreadable now: a second load must not read audio again
    try:
        b = AudioModality().build_datasets(root, tmp_path / "cache", second)
    finally:
        for wav in root.glob("yes/*.wav"):
            wav.chmod(0o644)
    assert (a.train.samples == b.train.samples).all()
    assert [s.path for s in second.skipped] == [s.path for s in first.skipped]
    assert b.classes == a.classes == ("no", "yes")
    for split in ("train", "validation", "test"):
        assert labels_of(b.split(split)).tolist() == labels_of(a.split(split)).tolist()


def test_a_cache_written_before_labels_existed_is_not_used(tmp_path):
    """Caches made by the first recipe hold log-mels only: keyed without the recipe, so never found now."""
    import hashlib

    from sage_audio_puzzle.speech_commands import CACHE_RECIPE

    root = tmp_path / "sc"
    _write_tree(root, with_lists=True)
    digest = hashlib.sha1(str(root.resolve()).encode())  # the first recipe's key
    for relative, split in list_clips(root):
        digest.update(f"{relative}\t{split}\t{(root / relative).stat().st_size}\n".encode())
    old = tmp_path / "cache" / "audio_puzzle" / f"speech_commands_{digest.hexdigest()[:16]}.npz"
    old.parent.mkdir(parents=True)
    empty = np.zeros((0, 1, 128, 32), np.float16)
    np.savez(old, skipped=np.zeros((0, 3), str), train=empty, validation=empty, test=empty)
    splits = AudioModality().build_datasets(root, tmp_path / "cache", DataReport())
    assert CACHE_RECIPE >= 2 and len(splits.train) == 9 and len(labels_of(splits.train)) == 9
    assert len(list(old.parent.glob("speech_commands_*.npz"))) == 2  # the old file is left alone, a new one made


def test_a_folder_without_word_clips_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="Speech Commands"):
        AudioModality().build_datasets(tmp_path, tmp_path / "cache", DataReport())


TINY = ("encoder_filters=2", "encoder_hidden=4", "decoder_channels=4", "decoder_blocks=1", "decoder_basis=2",
        "train.batch_size=4")


@pytest.mark.slow
def test_the_cli_trains_on_a_folder_then_encodes_and_decodes_a_long_stereo_file(tmp_path):
    """The user's path: `sage train audio_puzzle --data`, then their own recording in and out."""
    root = tmp_path / "sc"
    _write_tree(root, with_lists=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}, "SAGE_CACHE_DIR": str(tmp_path / "cache")}
    run = tmp_path / "run"
    overrides = [arg for pair in (("-o", o) for o in TINY) for arg in pair]
    args = ("train", "audio_puzzle", "--data", str(root), "--max-steps", "3", *overrides)
    refused = run_sage(*args, "--out", str(tmp_path / "refused"), env=env, check=False)  # 1 bad clip of 13 is over the default 1% limit
    assert refused.returncode != 0 and "b544d4fd_nohash_0.wav" in refused.stderr and "not readable audio" in refused.stderr
    run_sage(*args, "-o", "train.bad_data_limit=0.1", "--out", str(run), env=env)
    skipped = json.loads((run / "data_report.json").read_text())["skipped"]
    assert [Path(entry["path"]).name for entry in skipped] == ["b544d4fd_nohash_0.wav"]
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["split"] == "test" and evaluation["samples"] == 1
    assert (run / "figures" / "examples.png").is_file()

    rate = 44_100
    t = np.arange(int(2.5 * rate)) / rate
    low_then_high = np.where(t < 1.0, np.sin(2 * np.pi * 200 * t), np.sin(2 * np.pi * 5000 * t)) * 0.3
    talk = tmp_path / "talk.wav"
    soundfile.write(talk, np.stack([low_then_high, low_then_high], axis=1).astype(np.float32), rate)
    run_sage("encode", str(run), str(talk), "--out", str(tmp_path / "talk.npz"), "--png", env=env)
    with np.load(tmp_path / "talk.npz") as saved:
        codes = saved["codes"]
    assert codes.shape == (3, 30, 30) and codes.dtype == np.uint8  # 2.5 s -> three 1 s windows
    assert list(tmp_path.glob("talk*.png"))

    run_sage("decode", str(run), str(tmp_path / "talk.npz"), "--out", str(tmp_path / "back.wav"), env=env)
    audio, back_rate = soundfile.read(tmp_path / "back.wav")
    assert back_rate == 16_000 and audio.ndim == 1 and len(audio) == 3 * 16_000
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
