"""Reading runs for compare: clear errors for unusable files, readable labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sage_core.rundir import RunDirectory
from sage_core.compare.loading import label_runs, load_run
from sage_core.errors import SageError


def _run(folder: Path, evaluation: object, compressor_id: str = "toy_puzzle") -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"compressor_id": compressor_id, "modality": "toy", "config": {}}))
    (folder / "evaluation.json").write_text(json.dumps(evaluation))
    return folder


def test_an_incomplete_evaluation_is_refused_with_the_fix(tmp_path: Path) -> None:
    run = _run(tmp_path / "old", {"split": "test", "models": {"trained": {"perplexity": 3.0}}})
    with pytest.raises(SageError) as error:
        load_run(run)
    message = str(error.value)
    assert str(run / "evaluation.json") in message and "samples" in message and "\n" not in message


def test_an_unreadable_evaluation_names_the_file(tmp_path: Path) -> None:
    run = _run(tmp_path / "bad", {})
    (run / "evaluation.json").write_text("{not json")
    with pytest.raises(SageError, match="evaluation.json: unreadable"):
        load_run(run)


def test_metrics_lines_that_do_not_parse_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "lo\n[1, 2]\n')
    assert RunDirectory(tmp_path).metrics() == [{"step": 1, "loss": 0.5}]
    assert RunDirectory(tmp_path / "missing").metrics() == []


def test_labels_tell_runs_of_the_same_compressor_apart(tmp_path: Path) -> None:
    from sage_core.compare.loading import RunRecord
    from sage_core.run_files import RunConfig

    records = [
        RunRecord(tmp_path / name, RunConfig(compressor_id=cid, modality="toy", config={}), None, None, [], {})
        for name, cid in (("a", "toy_puzzle"), ("b", "toy_puzzle"), ("c", "audio_puzzle"))
    ]
    assert [r.label for r in label_runs(records)] == ["toy_puzzle (a)", "toy_puzzle (b)", "audio_puzzle"]
