"""Fixtures for the hostile-input tests: a reader process under a memory cap, a tiny trained
audio run for the CLI, the CLI's one-line error contract, and the fuzzing profile.

Helpers are handed out as fixtures, not imported: ``tests/conftest.py`` owns the module
name ``conftest`` on the test path.

Fuzzing: ``hypothesis`` runs a modest, derandomized number of examples per property so the
whole fuzz suite stays under a minute on 2 cores; ``SAGE_FUZZ_EXAMPLES=2000`` runs that
many per property with fresh random inputs. The counts run are printed at the end.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from cli_runner import run_sage
from hypothesis import HealthCheck, settings

HERE = Path(__file__).resolve().parent
#: Address space a reader may use beyond the warmed-up worker's: ample for any real file the
#: fuzzers write (under 100 KB), far below what a hostile header asks for (gigabytes).
READER_HEADROOM_MB = 768
#: Examples per property by default; ``SAGE_FUZZ_EXAMPLES`` overrides.
DEFAULT_FUZZ_EXAMPLES = 80

_examples = os.environ.get("SAGE_FUZZ_EXAMPLES")
settings.register_profile(
    "sage-faults",
    max_examples=int(_examples) if _examples else DEFAULT_FUZZ_EXAMPLES,
    derandomize=not _examples,  # the default run is the same every time; a long run explores
    deadline=None,  # a shared 2-core machine makes per-example timing meaningless
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],  # fixtures here are shared helpers, not per-example state
)
settings.load_profile("sage-faults")

FUZZ_COUNTS: dict[str, Counter[str]] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FUZZ_COUNTS:
        terminalreporter.write_sep("-", "fuzz examples run (tests/faults): total, read, refused with one line")
        for name, counts in sorted(FUZZ_COUNTS.items()):
            terminalreporter.write_line(f"{sum(counts.values()):7d} {counts['ok']:7d} {counts['sage_error']:7d}  {name}")
        total = sum((c for c in FUZZ_COUNTS.values()), Counter())
        terminalreporter.write_line(f"{sum(total.values()):7d} {total['ok']:7d} {total['sage_error']:7d}  total")


@pytest.fixture
def fuzz_count(request: pytest.FixtureRequest) -> Callable[[dict[str, Any]], None]:
    """Call with each example's reply; the counts are printed in the session summary."""
    counts = FUZZ_COUNTS.setdefault(request.node.name, Counter())

    def count(reply: dict[str, Any]) -> None:
        counts[reply["outcome"]] += 1

    return count


class ReaderWorker:
    """``tests/faults/reader_worker.py`` in a subprocess; restarted after a crash or a hang."""

    def __init__(self, scratch: Path, timeout: float = 120.0) -> None:
        self.scratch = scratch
        self.timeout = timeout
        self.process: subprocess.Popen[str] | None = None

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "reader_worker.py"), "--headroom-mb", str(READER_HEADROOM_MB),
             "--scratch", str(self.scratch / "warm-up")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        ready = self._reply(timeout=300)
        assert ready.get("outcome") == "ready", f"reader worker did not start: {ready}"

    def _reply(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.stop()
                return {"outcome": "hang", "message": f"no answer within {timeout:.0f} s"}
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            self.process = None
            return {"outcome": "died", "message": f"worker exited with status {code}"}
        return json.loads(line)

    def run(self, reader: str, arg: str | Path) -> dict[str, Any]:
        """``{"outcome": "ok" | "sage_error" | "crash" | "hang" | "died", "message": ...}``."""
        if self.process is None:
            self._start()
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps({"reader": reader, "arg": str(arg)}) + "\n")
        self.process.stdin.flush()
        return self._reply(self.timeout)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="session")
def reader_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReaderWorker]:
    worker = ReaderWorker(tmp_path_factory.mktemp("reader-worker"))
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def reads_safely(reader_worker: ReaderWorker) -> Callable[..., dict[str, Any]]:
    """``reads_safely(reader, path, names=...)``: assert the reader gave a result or one clear
    ``SageError`` line naming ``names`` (the file by default), within the memory cap."""

    def check(reader: str, arg: str | Path, names: str | None = None) -> dict[str, Any]:
        reply = reader_worker.run(reader, arg)
        assert reply["outcome"] in ("ok", "sage_error"), f"{reader} on {arg}: {reply['outcome']}\n{reply['message']}"
        if reply["outcome"] == "sage_error":
            message = reply["message"]
            assert "\n" not in message, f"{reader}: error spans lines: {message!r}"
            expected = str(arg) if names is None else names
            assert expected in message, f"{reader}: error does not name {expected!r}: {message!r}"
        return reply

    return check


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `sage` subprocesses: the developer's, minus SAGE_* settings, a private cache."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    return {**environ, "SAGE_CACHE_DIR": str(tmp_path_factory.mktemp("cache")), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def one_error_line() -> Callable[..., str]:
    """``one_error_line(result, path, status=2, kind="error")``: the CLI's contract for bad input."""

    def check(result: subprocess.CompletedProcess[str], path: str | Path, status: int = 2, kind: str = "error") -> str:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == status, f"exit {result.returncode}, expected {status}; stderr:\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        assert len(lines) == 1, f"expected one stderr line, got:\n{result.stderr}"
        assert lines[0].startswith(f"sage: {kind}: "), lines[0]
        assert str(path) in lines[0], f"{lines[0]!r} does not name {path}"
        return lines[0]

    return check


#: A tiny audio compressor: trains 2 steps in seconds; good enough to encode and decode.
TINY_AUDIO = ("encoder_filters=2", "encoder_hidden=4", "decoder_channels=4", "decoder_blocks=1", "decoder_basis=2",
              "train.batch_size=4")


@pytest.fixture(scope="session")
def audio_run(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Path:
    """A real `sage train audio_puzzle` run on a 12-clip folder in Speech Commands layout."""
    root = tmp_path_factory.mktemp("speech")
    rng = np.random.default_rng(0)
    for word in ("yes", "no"):
        (root / word).mkdir()
        for speaker in range(6):
            clip = (0.1 * rng.standard_normal(16_000)).astype(np.float32)
            soundfile.write(root / word / f"{speaker:08x}_nohash_0.wav", clip, 16_000, subtype="PCM_16")
    run = tmp_path_factory.mktemp("runs") / "audio"
    overrides = [arg for item in TINY_AUDIO for arg in ("-o", item)]
    run_sage("train", "audio_puzzle", "--data", str(root), "--max-steps", "2", "--no-evaluate", "--threads", "1",
             "--out", str(run), *overrides, env=cli_env)
    return run
