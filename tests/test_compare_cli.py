"""``sage compare`` on real toy runs: table, JSON, missing runs, no torch, the HTML report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BROKEN_PLUGINS, run_sage

pytestmark = pytest.mark.slow  # trains two toy runs and starts several CLI processes

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def cli_env(one_thread_env: dict[str, str]) -> dict[str, str]:
    return one_thread_env


@pytest.fixture(scope="module")
def runs_root(plugin_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two finished toy runs: ``first`` evaluated by the trainer, ``second`` not evaluated yet."""
    import torch

    from toy_runs import train_toy

    from sage_core.plugins import load_plugins

    registry = load_plugins(environ={"SAGE_DISABLE_PLUGINS": BROKEN_PLUGINS})
    root = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train_toy(registry, root / "toy_puzzle" / "first", "train.eval_max_samples=64", max_steps=20, evaluate=True)
        train_toy(registry, root / "toy_puzzle" / "second", "channels=4", "train.eval_max_samples=64", max_steps=10)
        # The newest run is a reference compressor's: naming the modality must never pick it.
        train_toy(registry, root / "toy_reference" / "third", "train.eval_max_samples=64", max_steps=2,
                  compressor="toy_reference", evaluate=True)
    finally:
        torch.set_num_threads(threads)
    return root


@pytest.fixture(scope="module")
def compared(runs_root: Path, cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``sage compare toy FIRST --json --report DIR``: the id resolves to the newest run."""
    report = tmp_path_factory.mktemp("report")
    first = runs_root / "toy_puzzle" / "first"
    result = run_sage("compare", "toy", str(first), "--json", "--report", str(report),
                      "--runs-root", str(runs_root), env=cli_env)
    return {"data": json.loads(result.stdout), "report": report, "stderr": result.stderr}


def test_compare_evaluates_a_run_that_has_no_evaluation(runs_root: Path, compared: dict) -> None:
    second = runs_root / "toy_puzzle" / "second"
    assert (second / "evaluation.json").is_file()
    # "toy" is the newest finished run of the modality that is not a reference compressor's:
    # the toy_reference run is newer, and never picked by modality.
    assert [Path(run["run"]).name for run in compared["data"]["runs"]] == ["second", "first"]


def test_a_reference_compressor_is_compared_only_when_named(runs_root: Path, cli_env: dict[str, str]) -> None:
    result = run_sage("compare", "toy_reference", "--json", "--runs-root", str(runs_root), env=cli_env)
    assert [run["compressor_id"] for run in json.loads(result.stdout)["runs"]] == ["toy_reference"]


def test_json_carries_each_runs_own_figures(runs_root: Path, compared: dict) -> None:
    for entry in compared["data"]["runs"]:
        run_dir = Path(entry["run"])
        evaluation = json.loads((run_dir / "evaluation.json").read_text())
        summary = json.loads((run_dir / "summary.json").read_text())
        assert entry["label"] == f"toy_puzzle ({run_dir.name})"  # same id twice: told apart
        assert entry["parameters"] == summary["parameters"]
        assert entry["training"]["wall_s"] == summary["wall_s"]
        assert entry["codes"]["trained"]["perplexity"] == evaluation["models"]["trained"]["perplexity"]
        assert entry["improvement"] == evaluation["improvement"]
        assert entry["data"]["evaluated_samples"] == 64
        assert entry["encode_latency_ms"] == evaluation["encode_latency_ms"]
        probes = evaluation["probes"]  # the toy fields are labelled dark / bright
        assert entry["probes"]["classes"] == 2 and entry["probes"]["test_samples"] == 64
        for kind in ("trained", "untrained", "baseline", "input"):
            for probe in ("linear", "conv"):
                assert entry["probes"]["accuracy"][kind][probe] == probes["inputs"][kind]["probes"][probe]["accuracy"]
        ceiling = probes["inputs"]["input"]["probes"]["conv"]["accuracy"]
        assert entry["probes"]["ratios"]["conv"]["trained_over_input"] == pytest.approx(
            probes["inputs"]["trained"]["probes"]["conv"]["accuracy"] / ceiling)
    parameters = [entry["parameters"] for entry in compared["data"]["runs"]]
    assert parameters[0] < parameters[1]  # channels=4 against the default 8


def test_terminal_table_has_one_column_per_run(runs_root: Path, cli_env: dict[str, str]) -> None:
    first, second = runs_root / "toy_puzzle" / "first", runs_root / "toy_puzzle" / "second"
    result = run_sage("compare", str(first), str(second), "--runs-root", str(runs_root), env=cli_env)
    for text in ("toy_puzzle (first)", "toy_puzzle (second)", "perplexity", "code-order Spearman",
                 "baseline codec", "untrained model", "batch invariant", "encode latency",
                 "probe: trained puzzles", "probe: model input", "probe: chance", "probe: trained / input"):
        assert text in result.stdout, text


def test_missing_run_names_the_command_to_run(tmp_path: Path, cli_env: dict[str, str]) -> None:
    result = run_sage("compare", "toy", "--runs-root", str(tmp_path), env=cli_env, check=False)
    assert result.returncode != 0
    assert "sage train toy_puzzle" in result.stderr
    unknown = run_sage("compare", "no_such_thing", "--runs-root", str(tmp_path), env=cli_env, check=False)
    assert unknown.returncode != 0 and "no_such_thing" in unknown.stderr


def test_compare_of_evaluated_runs_never_imports_torch(runs_root: Path, cli_env: dict[str, str],
                                                       tmp_path: Path, compared: dict) -> None:
    code = (
        "import sys\n"
        "from sage_core.cli.main import main\n"
        "try:\n"
        f"    main(['compare', 'toy', {str(runs_root / 'toy_puzzle' / 'first')!r}, '--json',\n"
        f"          '--report', {str(tmp_path / 'report')!r}, '--runs-root', {str(runs_root)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "assert 'torch' not in sys.modules, 'compare imported torch'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["runs"]
    assert (tmp_path / "report" / "report.html").is_file()


def _render(report: Path, profile: Path) -> tuple[str, str]:
    """Open ``report.html`` in headless Chromium; return the DOM after load and its log."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", (report / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def _image_check(dom: str) -> tuple[int, int]:
    match = re.search(r'id="image-check" data-total="(\d+)" data-failed="(\d+)"', dom)
    assert match, "the page's image check did not run"
    return int(match.group(1)), int(match.group(2))


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package `chromium`) to render the report")
def test_report_renders_in_a_browser_with_every_image(compared: dict, tmp_path: Path) -> None:
    report: Path = compared["report"]
    dom, log = _render(report, tmp_path / "profile")
    images = re.findall(r"<img [^>]*>", dom)
    total, failed = _image_check(dom)
    assert total == len(images) >= 7  # curves, histograms, intensity, structure, 2 example rows, probe confusion
    assert failed == 0
    assert any('src="probe_confusion.png"' in image for image in images)
    assert all('data-image-status="loaded"' in image for image in images)
    assert not [line for line in log.splitlines() if "CONSOLE" in line]
    for name in ("toy_puzzle (first)", "toy_puzzle (second)", "code-order Spearman", "row 0 at the top",
                 "probe: trained puzzles"):
        assert name in dom

    broken = tmp_path / "broken"
    shutil.copytree(report, broken)
    (broken / "code_histograms.png").unlink()
    assert _image_check(_render(broken, tmp_path / "profile")[0]) == (total, 1)


def test_example_captions_say_where_row_zero_is_drawn(runs_root: Path, compared: dict, tmp_path: Path) -> None:
    """A modality drawn with row 0 at the bottom (spectrograms) gets a caption that says so."""
    from sage_core.compare.loading import label_runs, load_run
    from sage_core.compare.report import write_report
    from sage_core.compare.table import comparison

    record = load_run(runs_root / "toy_puzzle" / "first")
    record.evaluation = record.evaluation.model_copy(update={"figure_origin": "lower"})
    records = label_runs([record])
    page = write_report(records, comparison(records), tmp_path / "report").read_text()
    assert "row 0 at the bottom" in page and "row 0 at the top" not in page
    assert "probe_confusion.png" in page
