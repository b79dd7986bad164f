"""Probes on real toy runs: a planted label is found, shuffled labels are not, and the CLI shows both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BROKEN_PLUGINS, run_sage

from sage_core.analysis.probe_models import ProbeInput, ProbeRecipe, fit_probe
from sage_core.analysis.probes import score, training_subset


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cli_env(one_thread_env: dict[str, str]) -> dict[str, str]:
    return one_thread_env


@pytest.fixture(scope="module")
def registry(plugin_site: Path):
    from sage_core.plugins import load_plugins

    return load_plugins(environ={"SAGE_DISABLE_PLUGINS": BROKEN_PLUGINS})


def _toy_run(registry, folder: Path, labels: str, train_samples: int) -> Path:
    from toy_runs import train_toy

    return train_toy(registry, folder / labels, f"modality.train_samples={train_samples}", "modality.eval_samples=96",
                     "train.batch_size=32", f"modality.labels={labels}", max_steps=15, evaluate=True)


@pytest.fixture(scope="module")
def planted(registry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy run whose label is written into the centre cell of every field.

    2,000 training samples (the probes' cap): with fewer, even the best L2 logistic regression
    cannot single out one cell among 900 (70 % at 256 samples).
    """
    return _toy_run(registry, tmp_path_factory.mktemp("runs"), "planted", 2000)


@pytest.fixture(scope="module")
def shuffled(registry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy run whose labels are shuffled: nothing in a field tells its label (small: cheap probes)."""
    return _toy_run(registry, tmp_path_factory.mktemp("runs"), "shuffled", 512)


def _probes(run: Path) -> dict:
    return json.loads((run / "evaluation.json").read_text())["probes"]


@pytest.mark.slow  # trains a toy run and eight probes
def test_a_label_planted_in_one_cell_is_read_from_the_puzzles(planted: Path) -> None:
    probes = _probes(planted)
    assert probes["classes"] == ["low", "high"]
    assert probes["train_samples"] == 2000 and probes["test_samples"] == 96
    for kind in ("trained", "untrained", "baseline", "input"):
        for probe in ("linear", "conv"):
            assert probes["inputs"][kind]["probes"][probe]["accuracy"] >= 0.95, (kind, probe)
    confusion = np.array(probes["inputs"]["trained"]["probes"]["linear"]["confusion"])
    assert confusion.sum() == 96 and np.trace(confusion) >= 0.95 * 96
    assert 0.4 < probes["chance"] < 0.7
    assert (planted / "figures" / "probe_confusion.png").is_file()


@pytest.mark.slow  # trains a toy run and eight probes
def test_shuffled_labels_leave_every_probe_near_chance(shuffled: Path) -> None:
    probes = _probes(shuffled)
    for kind, result in probes["inputs"].items():
        for probe, found in result["probes"].items():
            # 96 held-out samples: chance +- 3 standard deviations is about +-0.15
            assert found["accuracy"] < probes["chance"] + 0.16, (kind, probe, found["accuracy"])


@pytest.mark.slow  # trains a toy run and starts the CLI
def test_sage_evaluate_and_sage_probe_print_the_four_way_table(shuffled: Path, cli_env: dict[str, str]) -> None:
    table = run_sage("evaluate", str(shuffled), env=cli_env).stdout
    for text in ("trained puzzles", "untrained puzzles", "baseline codec puzzles", "model input (ceiling)",
                 "chance", "trained / ceiling", "probes took"):
        assert text in table, text
    alone = run_sage("probe", str(shuffled), "--json", env=cli_env)
    printed = json.loads(alone.stdout)
    # The same recipe and seed on the same data: the same predictions as the evaluation's.
    assert printed["inputs"]["trained"]["probes"]["linear"]["confusion"] == \
        _probes(shuffled)["inputs"]["trained"]["probes"]["linear"]["confusion"]
    assert printed["train_samples"] == 512 and printed["test_samples"] == 96
    skipped = run_sage("evaluate", str(shuffled), "--no-probes", "--json", env=cli_env)
    assert json.loads(skipped.stdout)["probes"] is None


@pytest.mark.slow  # trains a toy run and starts the CLI
def test_sage_probe_reads_a_users_labelled_folder(shuffled: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    """``--data``: the modality's own loader; sub-folders are the classes; unlabelled data is refused."""
    rng = np.random.default_rng(0)
    for index in range(40):
        hot = index % 2 == 1
        field = rng.uniform(0.0, 0.3, (30, 30)) + (0.6 if hot else 0.0)
        folder = tmp_path / "mine" / ("hot" if hot else "cold")
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{index:03d}.npy", field.astype(np.float32))
    result = run_sage("probe", str(shuffled), "--data", str(tmp_path / "mine"), "--json", env=cli_env)
    probes = json.loads(result.stdout)
    assert probes["classes"] == ["cold", "hot"]
    assert probes["test_samples"] == 8 and probes["train_samples"] == 24  # every 5th to validation, the next to test
    assert probes["inputs"]["trained"]["probes"]["linear"]["accuracy"] == 1.0
    table = run_sage("probe", str(shuffled), "--data", str(tmp_path / "mine"), env=cli_env).stdout
    assert "model input (ceiling)" in table and "chance" in table

    flat = tmp_path / "flat"
    flat.mkdir()
    for index in range(10):
        np.save(flat / f"{index}.npy", rng.uniform(0, 1, (30, 30)).astype(np.float32))
    refused = run_sage("probe", str(shuffled), "--data", str(flat), env=cli_env, check=False)
    assert refused.returncode == 2 and "carries no labels" in refused.stderr and "Traceback" not in refused.stderr
    missing = run_sage("probe", str(shuffled), "--data", str(tmp_path / "nowhere"), env=cli_env, check=False)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_score_counts_the_confusion_matrix() -> None:
    predictions = torch.tensor([0, 1, 1, 2, 0])
    labels = torch.tensor([0, 1, 2, 2, 1])
    accuracy, per_class, confusion = score(predictions, labels, 4)
    assert accuracy == pytest.approx(3 / 5)
    assert confusion == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert per_class == [1.0, 0.5, 0.5, None]  # class 3 has no held-out sample


def test_the_training_subset_is_seeded_and_capped() -> None:
    labels = torch.arange(5000) % 7
    recipe = ProbeRecipe(max_train=300)
    first, second = training_subset(labels, recipe), training_subset(labels, recipe)
    assert torch.equal(first, second) and len(first) == 300 and len(set(first.tolist())) == 300
    assert torch.equal(first, first.sort().values)
    assert not torch.equal(first, training_subset(labels, ProbeRecipe(max_train=300, seed=1)))
    assert torch.equal(training_subset(labels[:200], recipe), torch.arange(200))
    mixed = torch.tensor([3, -1, 0, -1, 2])  # NO_LABEL samples (sentences among words) are left out
    assert training_subset(mixed, recipe).tolist() == [0, 2, 4]


def test_a_probe_is_reproducible_and_sees_codes_one_hot() -> None:
    generator = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 10, (120, 30, 30), generator=generator)
    labels = (codes[:, 3, 4] >= 5).long()
    recipe = ProbeRecipe(linear_iterations=20, conv_steps=20)
    as_codes = ProbeInput(codes, codes=True)
    one_hot = ProbeInput(as_codes.dense(), codes=False)
    first = fit_probe("linear", as_codes, labels, as_codes, 2, recipe)
    again = fit_probe("linear", as_codes, labels, as_codes, 2, recipe)
    assert torch.equal(first.predictions, again.predictions)
    assert as_codes.channels == one_hot.channels == 10
    assert one_hot.values.shape == (120, 10, 30, 30) and torch.equal(one_hot.values.argmax(1), codes)


@pytest.mark.slow  # trains a toy run and starts the CLI
def test_probes_trained_once_are_reused_by_the_next_command(shuffled: Path, cli_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    env = {**cli_env, "SAGE_CACHE_DIR": str(tmp_path / "cache")}
    cold = json.loads(run_sage("probe", str(shuffled), "--json", env=env).stdout)
    warm = json.loads(run_sage("probe", str(shuffled), "--json", env=env).stdout)
    for kind, result in cold["inputs"].items():
        for probe, found in result["probes"].items():
            reused = warm["inputs"][kind]["probes"][probe]
            assert (found["cached"], reused["cached"]) == (False, True), (kind, probe)
            assert reused["confusion"] == found["confusion"] and reused["accuracy"] == found["accuracy"]
        # warm, the training samples are not even encoded: their inputs are known by digest
        assert result["prepare_seconds"] > 0 and warm["inputs"][kind]["prepare_seconds"] == 0, kind
    assert len(list((tmp_path / "cache" / "probes").glob("*.json"))) == 8
    (digests,) = (tmp_path / "cache" / "probes" / "train-inputs").glob("*.json")
    digests.write_text('{"trained": ["not a digest"')  # damaged: the samples are encoded again, nothing else
    again = json.loads(run_sage("probe", str(shuffled), "--json", env=env).stdout)
    for kind, result in again["inputs"].items():
        assert result["prepare_seconds"] > 0 and all(found["cached"] for found in result["probes"].values()), kind
    assert json.loads(digests.read_text()).keys() == again["inputs"].keys()
    table = run_sage("evaluate", str(shuffled), env=env).stdout
    assert "(8 of 8 probes reused from the probe cache)" in table
    off = json.loads(run_sage("probe", str(shuffled), "--json", env={**env, "SAGE_PROBE_CACHE": "off"}).stdout)
    assert not any(found["cached"] for result in off["inputs"].values() for found in result["probes"].values())
