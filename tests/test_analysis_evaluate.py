"""The analyzer on the toy compressor: meaning of every evaluation.json figure, on real runs."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import BROKEN_PLUGINS, run_sage
from torch import Tensor

from sage_core.analysis.evaluate import batch_invariance, evaluate_compressor
from sage_core.data import DataReport, TensorListDataset


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def cli_env(one_thread_env: dict[str, str]) -> dict[str, str]:
    return one_thread_env


@pytest.fixture(scope="module")
def toy(plugin_site: Path):
    from sage_fixture_plugin import toy

    return toy


@pytest.fixture(scope="module")
def registry(plugin_site: Path):
    from sage_core.plugins import load_plugins

    return load_plugins(environ={"SAGE_DISABLE_PLUGINS": BROKEN_PLUGINS})


@pytest.fixture(scope="module")
def trained_run(registry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 20-step toy training, evaluated as `sage train` does at its end."""
    from toy_runs import train_toy

    out = tmp_path_factory.mktemp("runs") / "toy_puzzle" / "run"
    return train_toy(registry, out, "train.eval_max_samples=100", max_steps=20, evaluate=True)


def _evaluate(toy, batch_size: int, n: int = 48) -> tuple[dict, list]:
    torch.manual_seed(1)
    trained = toy.ToyCompressor(toy.ToyConfig(channels=4))
    torch.manual_seed(2)
    untrained = toy.ToyCompressor(toy.ToyConfig(channels=4))
    return evaluate_compressor(trained, untrained, TensorListDataset(toy.smooth_fields(n, seed=5)),
                               batch_size=batch_size)


def test_statistics_do_not_depend_on_the_batch_size(toy) -> None:
    """Counts and sums over the whole set: batch 5 and batch 48 give the same figures."""
    small, _ = _evaluate(toy, batch_size=5)
    whole, _ = _evaluate(toy, batch_size=48)
    for kind in ("trained", "untrained", "baseline"):
        a, b = small["models"][kind], whole["models"][kind]
        assert a["code_histogram"] == b["code_histogram"]
        assert a["perplexity"] == pytest.approx(b["perplexity"])
        assert a["code_order_spearman"] == pytest.approx(b["code_order_spearman"])
        assert a["recon"] == pytest.approx(b["recon"])


def test_recon_is_the_mean_over_samples_of_the_modality_metrics(toy) -> None:
    result, _ = _evaluate(toy, batch_size=7)
    x = toy.smooth_fields(48, seed=5)
    modality = toy.ToyModality()
    codes, x_hat = modality.baseline_codec(x)
    expected = {name: float(v.mean()) for name, v in modality.reconstruction_metrics(x, x_hat).items()}
    baseline = result["models"]["baseline"]
    assert baseline["recon"] == pytest.approx(expected)
    assert baseline["mse01"] == pytest.approx(expected["mse01"])
    histogram = np.bincount(codes.numpy().ravel(), minlength=10)
    assert baseline["code_histogram"] == histogram.tolist()
    assert baseline["codes_used"] == int((histogram > 0).sum())


def test_code_figures_have_their_meaning(toy) -> None:
    result, examples = _evaluate(toy, batch_size=16)
    assert result["samples"] == 48
    for model in result["models"].values():
        assert sum(model["code_histogram"]) == 48 * 900
        assert 1 <= model["codes_used"] <= 10
        assert 1.0 <= model["perplexity"] <= 10.0 + 1e-9
        assert 0.0 <= model["entropy_bits"] <= math.log2(10) + 1e-9
        assert model["perplexity"] == pytest.approx(2 ** model["entropy_bits"])
        assert model["bits_per_puzzle"] == pytest.approx(900 * model["entropy_bits"])
        assert np.array(model["cell_entropy"]).shape == (30, 30)
        assert 0 <= model["neighbour_agreement"]["rows"] <= 1
    # The toy baseline decodes code k to (k + 0.5) / 10: intensity rises strictly with the code.
    assert result["models"]["baseline"]["code_order_spearman"] == pytest.approx(1.0)
    indices = [index for index, *_ in examples]
    assert len(indices) == 4 and indices[0] == 0 and indices[-1] == 47 and indices == sorted(indices)
    assert indices == [index for index, *_ in _evaluate(toy, batch_size=5)[1]]  # fixed, not batch-dependent
    assert examples[0][2].shape == (30, 30)


def test_improvement_respects_the_metric_direction(toy) -> None:
    result, _ = _evaluate(toy, batch_size=16)
    assert result["primary_metric"] == "rmse" and result["higher_is_better"] is False
    for other in ("untrained", "baseline"):
        item = result["improvement"][f"over_{other}"]
        trained, theirs = result["models"]["trained"]["recon"]["rmse"], result["models"][other]["recon"]["rmse"]
        assert item["gain"] == pytest.approx(theirs - trained)
        assert item["ratio"] == pytest.approx(trained / theirs)
        assert item["trained_is_better"] == (trained < theirs)


def test_batch_invariance_check_catches_batch_wide_scaling(toy) -> None:
    class BatchScaled(toy.ToyCompressor):
        """Scales by the batch maximum, as the prototype did: puzzles depend on batch-mates."""

        def encode_codes(self, x: Tensor) -> Tensor:
            return super().encode_codes(x / x.amax())

    x = toy.smooth_fields(8, seed=3) * torch.linspace(0.2, 1.0, 8).view(8, 1, 1, 1)
    assert batch_invariance(toy.ToyCompressor().eval(), x)["identical"] is True
    report = batch_invariance(BatchScaled().eval(), x)
    assert report["identical"] is False and report["cells_differing"] > 0 and report["checked"] == 4


@pytest.mark.slow  # trains a toy run (and starts the CLI)
def test_training_run_writes_a_complete_evaluation(trained_run: Path) -> None:
    evaluation = json.loads((trained_run / "evaluation.json").read_text())
    assert evaluation["split"] == "test"
    assert evaluation["samples"] == 100  # train.eval_max_samples caps the 128 test samples
    assert evaluation["compressor_id"] == "toy_puzzle" and evaluation["modality"] == "toy"
    assert set(evaluation["models"]) == {"trained", "untrained", "baseline"}
    assert evaluation["improvement"]["over_untrained"]["trained_is_better"] is True
    assert evaluation["seed"] == 0 and evaluation["data"] is None
    assert evaluation["batch_invariance"]["identical"] is True
    assert evaluation["encode_latency_ms"] > 0 and evaluation["encode_throughput_per_s"] > 0
    assert evaluation["figures"]
    for figure in evaluation["figures"]:
        assert (trained_run / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow  # trains a toy run (and starts the CLI)
def test_untrained_model_is_the_seeds_initial_model(trained_run: Path, registry) -> None:
    """Re-building with the run's seed reproduces the untrained figures exactly."""
    from sage_core.runs import load_compressor

    evaluation = json.loads((trained_run / "evaluation.json").read_text())
    untrained = load_compressor(trained_run, "untrained", registry=registry)
    splits = untrained.modality.build_datasets(None, trained_run, DataReport())
    codes = untrained.encode_codes(splits.test.samples[:100])  # the test split, capped
    histogram = np.bincount(codes.numpy().ravel(), minlength=10).tolist()
    assert evaluation["models"]["untrained"]["code_histogram"] == histogram


@pytest.mark.slow  # trains a toy run (and starts the CLI)
def test_sage_evaluate_cli_prints_and_rewrites_the_evaluation(trained_run: Path, cli_env) -> None:
    result = run_sage("evaluate", str(trained_run), "--split", "validation", "--json", env=cli_env)
    printed = json.loads(result.stdout)
    assert printed["split"] == "validation"
    assert printed == json.loads((trained_run / "evaluation.json").read_text())
    table = run_sage("evaluate", str(trained_run), env=cli_env).stdout
    assert "perplexity" in table and "baseline" in table and "evaluation.json" in table


@pytest.mark.slow  # trains a toy run (and starts the CLI)
def test_a_run_of_another_compressor_version_is_refused_by_name(trained_run: Path, cli_env, tmp_path: Path) -> None:
    """A plugin upgrade that changes the model: evaluating or resuming an old run says why it cannot."""
    old_run = tmp_path / "old_run"
    shutil.copytree(trained_run, old_run)
    config = json.loads((old_run / "config.json").read_text())
    config["compressor_version"] = "0"
    (old_run / "config.json").write_text(json.dumps(config))
    for args in (("evaluate", str(old_run)), ("train", "--resume", str(old_run), "--max-steps", "25")):
        result = run_sage(*args, env=cli_env, check=False)
        assert result.returncode != 0
        assert str(old_run) in result.stderr and "version 0" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert json.loads((old_run / "config.json").read_text())["compressor_version"] == "0"  # nothing rewritten


def test_improvement_for_a_higher_is_better_metric_and_a_zero_reference() -> None:
    from sage_core.analysis.evaluate import improvement

    psnr = improvement(30.0, 24.0, higher_is_better=True)
    assert psnr["gain"] == pytest.approx(6.0) and psnr["ratio"] == pytest.approx(1.25)
    assert psnr["trained_is_better"] is True
    worse = improvement(20.0, 24.0, higher_is_better=True)
    assert worse["gain"] < 0 and worse["trained_is_better"] is False
    accuracy = improvement(0.14, 0.0, higher_is_better=True)  # an untrained model at 0 accuracy
    assert accuracy["ratio"] is None and accuracy["relative"] is None and accuracy["trained_is_better"] is True
