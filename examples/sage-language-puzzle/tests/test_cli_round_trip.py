"""The plugin through the `sage` command, as its users run it: train, evaluate, encode, decode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["-o", "width=16", "-o", "encoder_layers=1", "-o", "decoder_layers=1", "-o", "train.batch_size=8"]


def sage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "sage_core.cli", *args], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"sage {' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.mark.slow  # a real (tiny) training run, evaluation and codec: ~30-90 s on 2 shared cores
def test_train_evaluate_encode_decode_a_text_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env["SAGE_CACHE_DIR"] = str(tmp_path / "cache")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"note{i}.txt").write_text(f"Note {i}: the quick brown fox jumps over the lazy dog. " * 8)

    listed = {row["name"]: row for row in json.loads(sage("plugins", "--json", env=env).stdout)}
    assert listed["sage-language-puzzle"]["status"] == "ok"
    assert listed["sage-language-puzzle"]["compressors"] == ["language_puzzle"]

    run = tmp_path / "run"
    sage("train", "language_puzzle", "--data", str(corpus), "--max-steps", "12", "--out", str(run),
         "--device", "cpu", *TINY, env=env)
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["primary_metric"] == "char_accuracy" and evaluation["higher_is_better"] is True
    assert evaluation["probes"] is None  # files directly in the folder carry no labels: no probe, no error

    text = tmp_path / "letter.txt"
    text.write_text("hello world\n" * 60, encoding="utf-8")  # 720 bytes: two windows of 450
    puzzles = tmp_path / "letter.npz"
    sage("encode", str(run), str(text), "--out", str(puzzles), env=env)
    decoded = tmp_path / "decoded.txt"
    sage("decode", str(run), str(puzzles), "--out", str(decoded), env=env)
    assert decoded.exists() and len(decoded.read_bytes()) <= 900
