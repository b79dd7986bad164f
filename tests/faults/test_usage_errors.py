"""Two forms of error, and only two: click's own for a malformed command line (usage, hint, error;
exit 2), and one ``sage: error:`` line for everything else."""

from __future__ import annotations

import pytest
from cli_runner import run_sage

CLICK_FORM = {
    "a seed that is not a number": ("train", "toy_puzzle", "--seed", "abc"),
    "an unknown option": ("encode", "--frobnicate"),
    "a missing argument": ("info",),
    "an unknown command": ("trian",),
    "an index that is not a number": ("show", "p.npz", "--index", "x"),
}


@pytest.mark.parametrize("case", list(CLICK_FORM))
def test_a_malformed_command_line_gets_clicks_three_lines(case, cli_env) -> None:
    result = run_sage(*CLICK_FORM[case], env=cli_env, check=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(lines) == 3 and lines[0].startswith("Usage: ") and lines[1].startswith("Try ")
    assert lines[2].startswith("Error: "), result.stderr


def test_everything_else_is_one_sage_error_line(cli_env, tmp_path, one_error_line) -> None:
    missing = tmp_path / "missing.npz"
    for argv in (("show", str(missing)), ("info", "no_such_puzzle"), ("evaluate", str(tmp_path)),
                 ("export", str(missing), "--out", str(tmp_path / "tasks"))):
        line = one_error_line(run_sage(*argv, env=cli_env, check=False), argv[1])
        assert line.startswith("sage: error: "), argv
