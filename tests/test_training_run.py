"""The shared trainer on the toy compressor: run directory, limits, overrides, loading runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import run_sage
from safetensors import safe_open

from toy_runs import TINY, train_toy

from conftest import BROKEN_PLUGINS


@pytest.fixture(scope="module")
def registry(plugin_site):
    from sage_core.plugins import load_plugins

    return load_plugins(environ={"SAGE_DISABLE_PLUGINS": BROKEN_PLUGINS})


def train(registry, out: Path | None, *overrides: str, **request):
    return train_toy(registry, out, *TINY, *overrides, **request)


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_run_directory_holds_everything_to_understand_and_resume_it(registry, tmp_path) -> None:
    (tmp_path / "extra.toml").write_text("channels = 4\n[train]\nlr = 0.01\nweight_decay = 0.5\n")
    run_dir = train(registry, tmp_path / "run", "train.lr=0.002", config_path=tmp_path / "extra.toml", seed=3)
    assert not (run_dir / "evaluation.json").exists()  # training never evaluates: `sage train` does, after it

    config = json.loads((run_dir / "config.json").read_text())
    assert config["compressor_id"] == "toy_puzzle" and config["modality"] == "toy"
    assert config["plugin"] == "sage-fixture-plugin" and config["plugin_version"]
    assert config["factory"] == "sage_fixture_plugin.toy:ToyCompressor"
    assert config["seed"] == 3 and config["nproc"] == 1 and config["device"] == "cpu"
    import subprocess

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parents[1], capture_output=True,
                          text=True).stdout.strip()
    assert config["commit"].removesuffix("-dirty") == head  # the code that trained it, for provenance
    resolved = config["config"]
    assert resolved["channels"] == 4 and resolved["train"]["weight_decay"] == 0.5  # from the TOML file
    assert resolved["train"]["lr"] == 0.002  # -o wins over the TOML file
    assert resolved["train"]["warmup_steps"] == 5  # the toy's own train default survives

    lines = read_lines(run_dir / "metrics.jsonl")
    train_lines = [line for line in lines if line["split"] == "train"]
    validation = [line for line in lines if line["split"] == "validation"]
    assert train_lines and len(validation) == 2  # one per epoch
    for key in ("step", "epoch", "loss", "mse", "perplexity", "lr", "samples_per_s", "wall_s"):
        assert key in train_lines[-1], key
    assert 1 <= train_lines[-1]["perplexity"] <= 10 and validation[-1]["samples"] == 8

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 8 and summary["epochs"] == 2
    assert summary["data_sizes"] == {"train": 32, "validation": 8, "test": 8}
    assert summary["parameters"] == sum(p.numel() for p in load(run_dir).parameters())
    assert {"torch", "sage-core", "sage-fixture-plugin"} <= set(summary["versions"])
    assert summary["final"]["validation"]["loss"] == validation[-1]["loss"]

    folder = run_dir / "checkpoints"
    best, last = (folder / "best").read_text().strip(), (folder / "last").read_text().strip()
    assert last == "step-00000008"
    kept = {f"{name}.{kind}" for name in {best, last} for kind in ("safetensors", "state.pt")}
    assert {p.name for p in folder.glob("step-*")} == kept  # older checkpoints pruned
    with safe_open(str(folder / f"{last}.safetensors"), "pt") as weights:
        meta = weights.metadata()
    assert meta["compressor_id"] == "toy_puzzle" and meta["plugin"] == "sage-fixture-plugin"
    assert json.loads(meta["config"])["channels"] == 4
    state = torch.load(folder / f"{last}.state.pt", weights_only=True)
    assert {"optimizer", "rng", "wall_s", "step", "epoch", "batch_in_epoch"} <= set(state)
    assert {"python", "numpy", "torch", "loader"} <= set(state["rng"])
    assert json.loads((run_dir / "data_report.json").read_text())["counts"]["train"] == 32


def load(run_dir: Path, which: str = "best", registry=None):
    from sage_core.runs import load_compressor

    return load_compressor(run_dir, which, registry=registry)


def test_max_steps_and_max_minutes_stop_cleanly_with_a_checkpoint(registry, tmp_path) -> None:
    by_steps = train(registry, tmp_path / "steps", max_steps=3)
    summary = json.loads((by_steps / "summary.json").read_text())
    # The planned steps ran: finished, whatever the machine; only the clock cap stops a run early.
    assert (summary["status"], summary["stop_reason"], summary["steps"]) == ("finished", None, 3)
    assert (by_steps / "checkpoints" / "last").read_text().strip() == "step-00000003"
    assert read_lines(by_steps / "metrics.jsonl")[-1]["split"] == "validation"

    by_time = train(registry, tmp_path / "time", "train.epochs=1000", max_minutes=0.005)
    summary = json.loads((by_time / "summary.json").read_text())
    assert (summary["status"], summary["stop_reason"]) == ("stopped", "max_minutes")
    assert 0.3 <= summary["wall_s"] < 30
    assert (by_time / "checkpoints" / "last").read_text().strip() == f"step-{summary['steps']:08d}"


def test_the_runs_model_is_the_last_checkpoint_or_by_choice_the_best_validated(registry, tmp_path) -> None:
    """``train.select``: the model a run offers (``best``) is its last checkpoint by default; with
    ``validation`` it is the epoch of lowest validation loss. Training itself is the same."""
    noisy = ("train.epochs=6", "train.lr=0.08", "train.schedule=constant", "train.warmup_steps=0")
    by_default = train(registry, tmp_path / "last", *noisy)
    by_validation = train(registry, tmp_path / "validation", *noisy, "train.select=validation")
    lines = read_lines(by_validation / "metrics.jsonl")
    losses = {line["step"]: line["loss"] for line in lines if line["split"] == "validation"}
    lowest = min(losses, key=losses.__getitem__)
    assert lowest < max(losses)  # this recipe's validation loss is lowest before the end
    folder = by_validation / "checkpoints"
    assert (folder / "best").read_text().strip() == f"step-{lowest:08d}"
    assert (folder / "last").read_text().strip() == f"step-{max(losses):08d}"
    assert (by_default / "checkpoints" / "best").read_text().strip() == f"step-{max(losses):08d}"
    assert {p.name for p in (by_default / "checkpoints").glob("step-*")} == {
        f"step-{max(losses):08d}.safetensors", f"step-{max(losses):08d}.state.pt"}
    chosen, last = load(by_validation, "best", registry), load(by_default, "best", registry)
    assert all(torch.equal(a, b) for a, b in zip(load(by_validation, "last", registry).state_dict().values(),
                                                 last.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(chosen.state_dict().values(), last.state_dict().values()))
    summary = json.loads((by_default / "summary.json").read_text())
    assert summary["best_validation_loss"] == losses[lowest]  # still reported


def test_the_schedules_warm_up_then_decay_to_zero_or_hold() -> None:
    from sage_core.training.trainer import lr_factor

    assert [lr_factor(step, 4, 104, "linear") for step in range(4)] == [0.25, 0.5, 0.75, 1.0]
    linear = [lr_factor(step, 4, 104, "linear") for step in range(4, 105)]
    assert linear[0] == 1.0 and linear[50] == 0.5 and linear[-1] == 0.0
    assert all(abs((a - b) - 0.01) < 1e-12 for a, b in zip(linear, linear[1:]))  # equal steps down
    cosine = [lr_factor(step, 4, 104, "cosine") for step in range(4, 105)]
    assert cosine[0] == 1.0 and abs(cosine[50] - 0.5) < 1e-12 and cosine[-1] == 0.0
    assert cosine[25] > linear[25] and cosine[75] < linear[75]
    assert lr_factor(500, 4, 104, "linear") == 0.0 and lr_factor(500, 4, 104, "constant") == 1.0


def test_a_time_capped_run_ends_with_the_rate_decayed(registry, tmp_path) -> None:
    """On a machine slower than planned, the cosine follows the clock instead of being cut off."""
    capped = ("train.epochs=1000", "train.lr=0.01", "train.warmup_steps=2")
    last_lr = {}
    for anneal in (True, False):
        run_dir = train(registry, tmp_path / f"anneal-{anneal}", *capped, f"train.anneal_by_time={str(anneal).lower()}",
                        max_minutes=0.02)
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["stop_reason"] == "max_minutes" and summary["steps"] < summary["total_steps"] / 2
        last_lr[anneal] = [line for line in read_lines(run_dir / "metrics.jsonl") if line["split"] == "train"][-1]["lr"]
    assert last_lr[True] < 0.15 * 0.01  # near the end of the cosine when time ran out
    assert last_lr[False] > 0.8 * 0.01  # by steps alone it had barely started to decay


def test_threads_option_sets_the_training_processes_threads(healthy_env, tmp_path) -> None:
    """`--threads 1` is what a busy machine needs; the run records what it used."""
    for threads in (1, 2):
        run = tmp_path / f"threads-{threads}"
        run_sage("train", "toy_puzzle", "--out", str(run), "--max-steps", "2", "--no-evaluate", "--threads", str(threads),
                 *[arg for o in TINY for arg in ("-o", o)], env=healthy_env)
        assert json.loads((run / "summary.json").read_text())["threads"] == threads
        assert json.loads((run / "config.json").read_text())["config"]["train"]["threads"] == threads


def test_untrained_model_is_the_seeds_and_trained_weights_load(registry, tmp_path) -> None:
    from sage_fixture_plugin.toy import ToyCompressor

    run_dir = train(registry, tmp_path / "run", seed=5)
    untrained, trained = load(run_dir, "untrained", registry), load(run_dir, "last")  # last: its own registry
    config = ToyCompressor.Config.model_validate(json.loads((run_dir / "config.json").read_text())["config"])
    torch.manual_seed(5)
    fresh = ToyCompressor(config)
    for key, value in fresh.state_dict().items():
        assert torch.equal(untrained.state_dict()[key], value)
    assert not trained.training
    assert any(not torch.equal(trained.state_dict()[k], v) for k, v in fresh.state_dict().items())


def test_a_runs_stored_factory_is_never_imported(registry, tmp_path) -> None:
    """A run directory from someone else names its compressor; only a registered id is loaded."""
    from sage_core.errors import SageError, UnknownCompressorError

    run_dir = train(registry, tmp_path / "run", max_steps=1)
    config = json.loads((run_dir / "config.json").read_text())
    config["factory"] = "antigravity:fly"  # importing this module would open a browser
    (run_dir / "config.json").write_text(json.dumps(config))
    assert load(run_dir, registry=registry).id == "toy_puzzle"  # loaded by id, the factory ignored
    config["compressor_id"] = "evil_puzzle"
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnknownCompressorError, match="evil_puzzle"):
        load(run_dir, registry=registry)
    import sys

    assert "antigravity" not in sys.modules
    config["seed"] = "not a number"
    (run_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(SageError, match=r"config.json: not a valid config.json \(seed"):
        load(run_dir, registry=registry)


def test_finding_runs_by_id_or_modality(registry, tmp_path) -> None:
    from sage_core.errors import SageError
    from sage_core.runs import find_runs, latest_run, resolve_run

    root = tmp_path / "runs"
    first = train(registry, root / "toy_puzzle" / "a", max_steps=1)
    second = train(registry, root / "toy_puzzle" / "b", max_steps=1)
    (second / "summary.json").unlink()  # as if still training
    runs = find_runs(root)
    assert [(r.path, r.finished, r.modality) for r in runs] == [(first, True, "toy"), (second, False, "toy")]
    assert latest_run("toy", root) == first == resolve_run("toy_puzzle", registry, root=root)
    assert resolve_run(str(second), registry, root=root) == second
    with pytest.raises(SageError, match="sage train toy_puzzle"):
        resolve_run("toy", registry, root=tmp_path / "empty")
    with pytest.raises(SageError, match="neither a run directory"):
        resolve_run("nothing_like_this", registry, root=root)


def test_a_busy_or_used_run_directory_is_refused(registry, tmp_path, healthy_env) -> None:
    from sage_core.errors import RunDirectoryBusyError, SageError
    from sage_core.rundir import RunLock

    run_dir = train(registry, tmp_path / "run", max_steps=1)
    with pytest.raises(SageError, match="already holds a run"):
        train(registry, run_dir, max_steps=1)
    with RunLock(run_dir):
        with pytest.raises(RunDirectoryBusyError, match="in use by another `sage train`"):
            train(registry, None, resume=run_dir)
        result = run_sage("train", "--resume", str(run_dir), env=healthy_env, check=False)
        assert result.returncode == 2 and "in use by another `sage train` (pid" in result.stderr
    train(registry, None, resume=run_dir, max_steps=2)  # free again
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 2


def write_fields(folder: Path, good: int, nan: int, corrupt: int) -> list[Path]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    bad = []
    for i in range(good):
        np.save(folder / f"good{i:02d}.npy", rng.random((30, 30), dtype=np.float32))
    for i in range(nan):
        field = rng.random((30, 30), dtype=np.float32)
        field[3, 4] = np.nan
        np.save(folder / f"nan{i}.npy", field)
        bad.append(folder / f"nan{i}.npy")
    for i in range(corrupt):
        (folder / f"corrupt{i}.npy").write_bytes(b"not a numpy file")
        bad.append(folder / f"corrupt{i}.npy")
    return bad


@pytest.mark.slow
def test_bad_samples_are_reported_and_too_many_stop_training(healthy_env, tmp_path) -> None:
    data = tmp_path / "data"
    bad = write_fields(data, good=40, nan=1, corrupt=1)
    run_dir = tmp_path / "ok"
    run_sage("train", "toy_puzzle", "--data", str(data), "--out", str(run_dir), "--max-steps", "2",
             "--no-evaluate", "-o", "train.bad_data_limit=0.1", "-o", "train.batch_size=8", env=healthy_env)
    report = json.loads((run_dir / "data_report.json").read_text())
    assert sorted(s["path"] for s in report["skipped"]) == sorted(map(str, bad))
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert "NaN" in reasons["nan0.npy"] and "not a readable .npy" in reasons["corrupt0.npy"]
    assert json.loads((run_dir / "config.json").read_text())["data_path"] == str(data.resolve())

    failed = tmp_path / "failed"
    result = run_sage("train", "toy_puzzle", "--source", "toy_npy_folder", "--data", str(data), "--out",
                      str(failed), "-o", "train.batch_size=8", env=healthy_env, check=False)
    assert result.returncode == 2
    assert "above the limit 1.0% (train.bad_data_limit)" in result.stderr and "corrupt0.npy" in result.stderr
    assert not failed.exists()  # nothing worth keeping: the next attempt may use the same --out
    again = run_sage("train", "toy_puzzle", "--source", "toy_npy_folder", "--data", str(data), "--out",
                     str(failed), "--max-steps", "1", "--no-evaluate", "-o", "train.bad_data_limit=0.1",
                     "-o", "train.batch_size=8", env=healthy_env)
    assert again.returncode == 0 and json.loads((failed / "config.json").read_text())["source"] == "toy_npy_folder"


@pytest.mark.slow
def test_without_a_terminal_progress_is_plain_lines_then_evaluation(healthy_env, tmp_path) -> None:
    run_dir = tmp_path / "run"
    result = run_sage("train", "toy_puzzle", "--out", str(run_dir), *[a for o in TINY for a in ("-o", o)],
                      env=healthy_env)
    assert "\x1b[" not in result.stdout  # no terminal control codes in a log file
    lines = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert len(lines) >= 2
    assert re.fullmatch(r"step \d+/8  epoch [\d.]+  loss \S+  ppl [\d.]+  \d+ samples/s  lr \S+  eta \d+:\d\d:\d\d",
                        lines[-1]), lines[-1]
    assert f"finished after 8 steps" in result.stdout
    assert (run_dir / "evaluation.json").is_file()  # written by the analyzer at the end
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert "toy_puzzle: test split" in result.stdout  # and the user sees its table at the end
    header = next(line for line in result.stdout.splitlines() if "trained" in line and "baseline" in line)
    assert header.index("trained") < header.index("untrained") < header.index("baseline")
    assert f"{evaluation['models']['trained']['codes_used']}" in result.stdout.split("codes used (of 10)")[1].split("\n")[0]


class LeakyModality:
    """Filled in below: the toy modality with a loader bug (one NaN slips through unreported)."""


def test_a_nan_the_loader_let_through_stops_training(plugin_site, tmp_path) -> None:
    import types

    from sage_core import CompressorSpec, ModalitySpec, hookimpl
    from sage_core.errors import BadDataError
    from sage_core.plugins import load_plugins
    from sage_fixture_plugin.toy import ToyCompressor, ToyModality

    class Leaky(ToyModality):
        name = "leaky"

        def build_datasets(self, data_path, cache_dir, report):
            splits = super().build_datasets(data_path, cache_dir, report)
            splits.train.samples[5, 0, 3, 4] = float("nan")
            return splits

    class LeakyToy(ToyCompressor):
        id = "leaky_toy"
        Modality = Leaky

    globals().update(LeakyModality=Leaky, LeakyToy=LeakyToy)  # the trainer imports "module:name"
    Leaky.__qualname__, LeakyToy.__qualname__ = "LeakyModality", "LeakyToy"

    @hookimpl
    def register_modalities(register):
        register(ModalitySpec("leaky", f"{__name__}:LeakyModality"))

    @hookimpl
    def register_compressors(register):
        register(CompressorSpec("leaky_toy", "leaky", f"{__name__}:LeakyToy"))

    plugin = types.SimpleNamespace(__name__="leaky-plugin", SAGE_PLUGIN_API=2, register_modalities=register_modalities,
                                   register_compressors=register_compressors)
    registry = load_plugins(environ={"SAGE_LOAD_PLUGINS": ""}, extra=[plugin])
    with pytest.raises(BadDataError, match=r"a training batch \(epoch 0, batch \d\) holds NaN or inf"):
        train_toy(registry, tmp_path / "run", *TINY, compressor="leaky_toy")
    assert not (tmp_path / "run").exists()  # failed before its first checkpoint: nothing left behind


def test_a_run_cut_by_its_time_cap_says_so_in_its_summary_and_final_table(healthy_env, tmp_path) -> None:
    run_dir = tmp_path / "run"
    result = run_sage("train", "toy_puzzle", "--out", str(run_dir), "--max-minutes", "0.005",
                      *[a for o in (*TINY, "train.epochs=1000") for a in ("-o", o)], env=healthy_env)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (summary["status"], summary["stop_reason"]) == ("stopped", "max_minutes")
    table = " ".join(result.stdout.split())  # rich may wrap the line
    assert (f"training stopped by its time cap (train.max_minutes) after {summary['steps']} of "
            f"{summary['total_steps']} planned steps") in table
