"""The probe cache: an identical probe is answered from disk, anything else is trained, a bad cache never hurts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sage_core.analysis.probe_cache import cached_fit, probe_cache_folder
from sage_core.analysis.probe_models import DeferredProbeInput, ProbeInput, ProbeRecipe, fit_probe

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RECIPE = ProbeRecipe(linear_iterations=20, conv_steps=20)


def _problem(seed: int = 0) -> tuple[ProbeInput, torch.Tensor, ProbeInput]:
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 10, (96, 30, 30), generator=generator)
    labels = (codes[:, 3, 4] >= 5).long()
    return ProbeInput(codes[:64], codes=True), labels[:64], ProbeInput(codes[64:], codes=True)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_a_second_identical_probe_is_read_back_with_the_same_answer(tmp_path: Path, kind: str) -> None:
    train, labels, test = _problem()
    first, first_cached = cached_fit(kind, train, labels, test, 2, RECIPE, tmp_path)
    again, again_cached = cached_fit(kind, train, labels, test, 2, RECIPE, tmp_path)
    assert (first_cached, again_cached) == (False, True)
    assert torch.equal(first.predictions, again.predictions)
    assert again.train_accuracy == first.train_accuracy
    assert torch.equal(first.predictions, fit_probe(kind, train, labels, test, 2, RECIPE).predictions)
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_other_labels_inputs_or_recipe_are_trained_not_looked_up(tmp_path: Path) -> None:
    train, labels, test = _problem()
    cached_fit("linear", train, labels, test, 2, RECIPE, tmp_path)
    flipped = labels.clone()
    flipped[0] = 1 - flipped[0]
    other_codes = train.values.clone()
    other_codes[0, 0, 0] = (other_codes[0, 0, 0] + 1) % 10
    variants = [
        ("linear", train, flipped, test, 2, RECIPE),
        ("linear", ProbeInput(other_codes, codes=True), labels, test, 2, RECIPE),
        ("linear", train, labels, ProbeInput(test.values[:-1], codes=True), 2, RECIPE),
        ("linear", train, labels, test, 3, RECIPE),
        ("linear", train, labels, test, 2, ProbeRecipe(linear_iterations=21, conv_steps=20)),
        ("conv", train, labels, test, 2, RECIPE),
    ]
    for variant in variants:
        assert cached_fit(*variant, folder=tmp_path)[1] is False
    assert len(list(tmp_path.glob("*.json"))) == 1 + len(variants)


def test_a_damaged_entry_is_trained_again_and_replaced(tmp_path: Path) -> None:
    train, labels, test = _problem()
    first, _ = cached_fit("linear", train, labels, test, 2, RECIPE, tmp_path)
    (entry,) = tmp_path.glob("*.json")
    whole = [int(p) for p in first.predictions]
    damages = ['{"predictions": [1, 0', '{"predictions": [0], "seconds": 1, "train_accuracy": 1}', "", "[]",
               json.dumps({"predictions": [7] + whole[1:], "seconds": 1, "train_accuracy": 1}),  # no such class
               json.dumps({"predictions": [0.5] + whole[1:], "seconds": 1, "train_accuracy": 1}),
               json.dumps({"predictions": whole, "seconds": 1, "train_accuracy": float("nan")}),
               json.dumps({"predictions": whole, "seconds": 1, "train_accuracy": 2})]
    for damage in damages:
        entry.write_text(damage)
        fit, cached = cached_fit("linear", train, labels, test, 2, RECIPE, tmp_path)
        assert cached is False and torch.equal(fit.predictions, first.predictions)
        assert cached_fit("linear", train, labels, test, 2, RECIPE, tmp_path)[1] is True


def _never_encoded() -> ProbeInput:
    raise AssertionError("a probe answered from the cache encoded its training samples")


def test_a_training_input_known_by_its_digest_is_not_encoded_on_a_hit(tmp_path: Path) -> None:
    train, labels, test = _problem()
    first, _ = cached_fit("conv", train, labels, test, 2, RECIPE, tmp_path)
    known = DeferredProbeInput(train.digest(), codes=True, load=_never_encoded)
    fit, cached = cached_fit("conv", known, labels, test, 2, RECIPE, tmp_path)
    assert cached is True and torch.equal(fit.predictions, first.predictions)


def test_a_wrong_digest_that_misses_encodes_and_answers_for_what_the_input_really_is(tmp_path: Path) -> None:
    train, labels, test = _problem()
    other, _, _ = _problem(seed=1)
    wrong = DeferredProbeInput(other.digest(), codes=True, load=lambda: train)
    fit, cached = cached_fit("linear", wrong, labels, test, 2, RECIPE, tmp_path)
    assert cached is False
    assert torch.equal(fit.predictions, fit_probe("linear", train, labels, test, 2, RECIPE).predictions)
    assert cached_fit("linear", train, labels, test, 2, RECIPE, tmp_path)[1] is True  # stored as what it is
    assert cached_fit("linear", other, labels, test, 2, RECIPE, tmp_path)[1] is False  # not as what it was called


def test_a_cache_folder_that_is_a_file_costs_time_not_the_result(tmp_path: Path) -> None:
    train, labels, test = _problem()
    blocker = tmp_path / "probes"
    blocker.write_text("not a folder")
    fit, cached = cached_fit("linear", train, labels, test, 2, RECIPE, blocker)
    assert cached is False and len(fit.predictions) == len(test)
    assert blocker.read_text() == "not a folder"


def test_the_cache_lives_in_the_sage_cache_and_can_be_switched_off(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("SAGE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SAGE_PROBE_CACHE", raising=False)
    assert probe_cache_folder() == tmp_path / "probes"
    for off in ("off", "0", "false", "No"):
        monkeypatch.setenv("SAGE_PROBE_CACHE", off)
        assert probe_cache_folder() is None
    train, labels, test = _problem()
    assert cached_fit("linear", train, labels, test, 2, RECIPE, None)[1] is False
    assert not (tmp_path / "probes").exists()
