"""The language plugin as a user meets it: text files in, text files out, honest metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sage_core import DataReport, InputError, labels_of
from sage_core.testing import check_compressor
from sage_language_puzzle.compressor import LanguagePuzzleCompressor
from sage_language_puzzle.config import LanguageConfig, LanguagePuzzleConfig
from sage_language_puzzle.data import text_folder_splits
from sage_language_puzzle.text import END, bytes_from_windows

TINY = dict(width=16, encoder_layers=1, decoder_layers=1)


@pytest.fixture
def tiny() -> LanguagePuzzleCompressor:
    torch.manual_seed(0)
    return LanguagePuzzleCompressor(LanguagePuzzleConfig(**TINY))


def test_contract_on_held_out_stdlib_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGE_CACHE_DIR", str(tmp_path))
    torch.manual_seed(0)
    compressor = check_compressor(
        LanguagePuzzleCompressor(LanguagePuzzleConfig(**TINY, modality={"group_bytes": 2, "group_cells": 3})))
    # Split by top-level module, the stdlib corpus has no class shared by the splits: unlabelled.
    report = DataReport()
    splits = compressor.modality.build_datasets(None, tmp_path, report)
    assert splits.classes is None and labels_of(splits.train) is None and report.as_dict()["classes"] is None


def test_short_text_keeps_its_spaces(tiny: LanguagePuzzleCompressor) -> None:
    x = tiny.modality.prepare("hello world  ")
    assert x.shape == (1, 450)
    assert int(x[0, 5]) == ord(" ") and int(x[0, 13]) == END
    assert bytes_from_windows(x) == b"hello world  "


def test_long_utf8_file_round_trips_through_windows(tiny: LanguagePuzzleCompressor, tmp_path: Path) -> None:
    text = ("Naïve café, 日本語 and emoji 🙂 survive as bytes.\n" * 40).encode("utf-8")
    source = tmp_path / "in.txt"
    source.write_bytes(text)
    x = tiny.modality.read_file(source)
    assert x.shape == (-(-len(text) // 450), 450)
    written = tiny.modality.write_output(x, tmp_path / "out")
    assert written == [tmp_path / "out.txt"]
    assert written[0].read_bytes() == text


def test_bad_files_are_named(tiny: LanguagePuzzleCompressor, tmp_path: Path) -> None:
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match="latin1.txt: not UTF-8 text"):
        tiny.modality.read_file(binary)
    with pytest.raises(InputError, match="missing.txt: cannot read"):
        tiny.modality.read_file(tmp_path / "missing.txt")


def test_metrics_punish_early_end_and_baseline_carries_300_bytes(tiny: LanguagePuzzleCompressor) -> None:
    x = tiny.modality.prepare("a" * 450)
    early = x.clone()
    early[0, 400:] = END
    metrics = tiny.modality.reconstruction_metrics(x, early)
    assert metrics["char_accuracy"].item() == pytest.approx(400 / 450)
    assert metrics["exact_window_accuracy"].item() == 0.0
    assert metrics["mse01"].item() > 0

    codes, x_hat = tiny.modality.baseline_codec(x)
    assert codes.shape == (1, 30, 30)
    base = tiny.modality.reconstruction_metrics(x, x_hat)
    assert base["correct_chars_per_puzzle"].item() == 300
    short = tiny.modality.prepare("three cells per byte, lossless")
    assert torch.equal(tiny.modality.baseline_codec(short)[1], short)


def test_text_folder_is_split_by_file_and_bad_files_reported(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"doc{i}.txt").write_text(chr(ord("A") + i) * (200 + 20 * i), encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe broken")
    report = DataReport()
    splits = text_folder_splits(LanguageConfig(short_window_fraction=0.0), tmp_path, report)
    assert [s.path for s in report.skipped] == [str(tmp_path / "bad.txt")]
    seen: dict[int, str] = {}
    for name in ("train", "validation", "test"):
        dataset = getattr(splits, name)
        for i in range(len(dataset)):
            doc = int(dataset[i][0])  # each document is one repeated letter
            assert seen.setdefault(doc, name) == name, f"document {doc!r} is in two splits"
    assert len(set(seen.values())) >= 2


def test_class_folders_label_every_window_of_their_files(tmp_path: Path) -> None:
    topics = {"cooking": "Stir the onions slowly. ", "sailing": "Trim the jib and ease the sheet. "}
    for topic, sentence in topics.items():
        (tmp_path / topic).mkdir()
        for i in range(12):
            (tmp_path / topic / f"{i}.txt").write_text(sentence * (10 + 3 * i), encoding="utf-8")
    report = DataReport()
    splits = text_folder_splits(LanguageConfig(short_window_fraction=0.5), tmp_path, report)
    assert splits.classes == ("cooking", "sailing")
    for name in ("train", "validation", "test"):
        dataset = getattr(splits, name)
        labels = labels_of(dataset)
        assert labels is not None and len(labels) == len(dataset)
        for i in range(len(dataset)):  # cut-short copies included: each window reads as its topic
            text = bytes_from_windows(dataset[i][None]).decode("utf-8")
            sentence = topics[splits.classes[int(labels[i])]]
            assert text in sentence * (2 + len(text) // len(sentence)), (name, text)
    assert sum(report.class_counts["train"].values()) == len(splits.train)


def test_a_stray_end_prediction_does_not_cut_the_text() -> None:
    from sage_language_puzzle.compressor import symbols_from_logits

    text = list(b"hi there") + [END] * 4
    logits = torch.nn.functional.one_hot(torch.tensor([text]), 257).float()
    logits[0, 2, END] = 5.0  # the space is misread as the end symbol; "t" is the runner-up
    logits[0, 2, ord("t")] = 2.0
    assert bytes_from_windows(symbols_from_logits(logits)) == b"hitthere"


def test_initialize_starts_each_frequent_symbol_in_its_own_cell() -> None:
    torch.manual_seed(0)
    model = LanguagePuzzleCompressor(LanguagePuzzleConfig(**TINY))
    batch = model.modality.prepare("The quick brown fox jumps over the lazy dog; 0123456789 (x) [y] <z> *w* #v" * 4)
    seen = sorted(set(batch.flatten().tolist()))
    symbols = torch.tensor([seen])

    def cells() -> list[tuple[int, int]]:
        codes = model.quantizer.codes_from_latent(model.encoder(symbols))[0]
        return [tuple(pair) for pair in codes.tolist()]

    assert len(set(cells())) < len(seen)  # random weights: symbols share cells
    model.initialize(batch)
    assert len(set(cells())) == len(seen)  # every symbol of the batch starts in a cell of its own
    model.eval()
    assert torch.equal(model.encode_codes(batch), model.encode_codes(batch.repeat(3, 1))[:1])


def test_commitment_is_a_training_loss_only(tiny: LanguagePuzzleCompressor) -> None:
    x = tiny.modality.prepare("commitment pulls each latent to its cell centre")
    out = tiny(x)
    expected = out.logs["cross_entropy"] + tiny.config.commitment * out.logs["commitment"]
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert 0 < out.logs["commitment"].item() <= 0.25  # at most half a cell away, squared
