"""A plugin that ships a trained run: its compressor works right after install, without training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_sage
from toy_runs import TINY

PLUGIN = '''
from sage_core import CompressorSpec, hookimpl
from sage_fixture_plugin.toy import ToyCompressor

SAGE_PLUGIN_API = 2


class ToyShipped(ToyCompressor):
    id = "toy_shipped"


@hookimpl
def register_compressors(register):
    register(CompressorSpec(id="toy_shipped", modality="toy", factory="sage_toy_shipped:ToyShipped",
                            shipped_run="sage_toy_shipped:shipped"))
'''


def install_plugin(site: Path) -> None:
    """An installed distribution, laid out as pip lays one out: package plus dist-info."""
    (site / "sage_toy_shipped").mkdir(parents=True)
    (site / "sage_toy_shipped" / "__init__.py").write_text(PLUGIN)
    info = site / "sage_toy_shipped-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sage-toy-shipped\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[sage]\ntoy_shipped = sage_toy_shipped\n")


@pytest.fixture(scope="module")
def shipped(plugin_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("shipped")
    site = root / "site"
    install_plugin(site)
    env = {**plugin_env, "PYTHONPATH": os.pathsep.join([str(site), plugin_env["PYTHONPATH"]]),
           "SAGE_DISABLE_PLUGINS": "sage-broken-plugin,sage-shadowing-plugin"}
    fields = root / "fields.npy"
    np.save(fields, np.random.default_rng(0).random((2, 30, 30), dtype=np.float32))
    before = run_sage("encode", "toy_shipped", str(fields), "--out", str(root / "before.npz"), env=env, cwd=root,
                      check=False)
    run = root / "made" / "run"
    run_sage("train", "toy_shipped", "--out", str(run), "--max-steps", "4", *[a for o in TINY for a in ("-o", o)],
             env=env, cwd=root)
    from sage_core.shipping import ship_run

    ship_run(run, site / "sage_toy_shipped" / "shipped",
             {"command": "sage train toy_shipped --max-steps 4", "seed": 0, "threads": 1, "commit": "test"})
    fresh = root / "elsewhere"  # no runs/ here: only the shipped run can serve
    fresh.mkdir()
    return {"env": env, "root": root, "fields": fields, "fresh": fresh, "site": site, "before": before}


def test_without_a_run_or_shipped_weights_the_error_says_what_to_train(shipped: dict) -> None:
    before = shipped["before"]
    assert before.returncode == 2 and "train one with `sage train toy_shipped`" in before.stderr


def test_shipped_weights_encode_and_decode_without_training(shipped: dict) -> None:
    env, fresh = shipped["env"], shipped["fresh"]
    run_sage("encode", "toy_shipped", str(shipped["fields"]), "--out", "p.npz", env=env, cwd=fresh)
    run_sage("decode", "toy_shipped", "p.npz", "--out", "back.npy", env=env, cwd=fresh)
    assert np.load(fresh / "back.npy").shape == (2, 30, 30)
    assert not (fresh / "runs").exists()  # nothing written but the outputs


def test_info_says_which_weights_ship_and_how_they_were_made(shipped: dict) -> None:
    out = run_sage("info", "toy_shipped", env=shipped["env"]).stdout
    assert "trained weights ship with it" in out and "sage train toy_shipped --max-steps 4" in out
    assert "rmse" in out and "baseline codec" in out
    other = run_sage("info", "toy_puzzle", env=shipped["env"]).stdout
    assert "no trained weights ship with it" in other


def test_evaluating_a_shipped_run_writes_a_copy_never_the_package(shipped: dict) -> None:
    env, fresh = shipped["env"], shipped["fresh"]
    package = shipped["site"] / "sage_toy_shipped" / "shipped"
    stamp = (package / "evaluation.json").stat().st_mtime_ns
    result = run_sage("evaluate", "toy_shipped", "--json", env=env, cwd=fresh)
    assert json.loads(result.stdout)["compressor_id"] == "toy_shipped"
    assert (fresh / "runs" / "toy_shipped" / "shipped-v1" / "evaluation.json").is_file()
    assert (package / "evaluation.json").stat().st_mtime_ns == stamp
    assert not (package / "figures").exists()


def test_a_users_own_run_wins_over_the_shipped_one(shipped: dict) -> None:
    env, root = shipped["env"], shipped["root"]
    own = root / "runs" / "toy_shipped" / "mine"
    run_sage("train", "toy_shipped", "--out", str(own), "--max-steps", "2", "--no-evaluate",
             *[a for o in TINY for a in ("-o", o)], env=env, cwd=root)
    evaluation = json.loads(run_sage("evaluate", "toy_shipped", "--json", env=env, cwd=root).stdout)
    assert Path(evaluation["run"]) == Path("runs/toy_shipped/mine")
