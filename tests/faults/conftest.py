"""Fixtures for the hostile-input tests: a reader process under a memory cap, a tiny trained
audio run for the CLI, the CLI's one-line error contract, the fuzzing profile, the hostile
plugins under ``plugins/`` installed for real, a warmed-up ``sage`` for tests that run it
dozens of times, and a way to make a folder read-only even for root.

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
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from cli_runner import SAGE, run_sage
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
#: Lines the SIGKILL soak and the disk-full run report (kills, where they landed, time).
FAULT_REPORT: list[str] = []


@pytest.fixture
def fault_report() -> Callable[[str], None]:
    """``fault_report(line)``: shown in the session summary, whatever the test's outcome."""
    return FAULT_REPORT.append


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FAULT_REPORT:
        terminalreporter.write_sep("-", "fault runs (tests/faults)")
        for line in FAULT_REPORT:
            terminalreporter.write_line(line)
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


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the fuzz tests of one module write their planted files into."""
    return tmp_path_factory.mktemp("fuzz")


# --- hostile plugins, installed for real --------------------------------------------------------

#: The built-in plugins: always allowed next to the hostile ones a test names.
BUILTINS = ("sage-audio-puzzle", "sage-vision-puzzle")


@pytest.fixture(scope="session")
def fault_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugins under ``tests/faults/plugins/`` installed by pip into a folder of their own.

    Not the fixture plugins' site: tests elsewhere count the warnings of the plugins there.
    """
    site = tmp_path_factory.mktemp("fault-plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(site), *sorted(map(str, (HERE / "plugins").iterdir()))],
                   check=True)
    return site


@pytest.fixture(scope="session")
def fault_env(fault_site: Path, cli_env: dict[str, str]) -> Callable[..., dict[str, str]]:
    """``fault_env(*plugins, **variables)``: a CLI environment where the built-ins and ``plugins`` load."""

    def env(*plugins: str, **variables: str) -> dict[str, str]:
        path = os.pathsep.join(filter(None, [str(fault_site), cli_env.get("PYTHONPATH", "")]))
        return {**cli_env, "PYTHONPATH": path, "SAGE_LOAD_PLUGINS": ",".join((*BUILTINS, *plugins)), **variables}

    return env


# --- a warmed-up `sage` -----------------------------------------------------------------------------


class WarmChild:
    """One `sage` command forked by :class:`WarmSage`; kill it by ``pid``, then ``wait``."""

    def __init__(self, sage: WarmSage, pid: int, stdout: Path, stderr: Path) -> None:
        self.sage, self.pid, self.stdout_path, self.stderr_path = sage, pid, stdout, stderr
        self.status: int | None = None

    def poll(self) -> int | None:
        """The exit status if the command has ended, else None (without waiting)."""
        if self.status is None:
            reply = self.sage._reply(0)
            if reply is not None:
                self.status = reply["status"]
                self.sage.child = None
        return self.status

    def wait(self, timeout: float = 300) -> int:
        if self.status is None:
            reply = self.sage._reply(timeout)
            if reply is None:
                os.kill(self.pid, 9)
                self.sage._reply(60)
                raise AssertionError(f"sage (pid {self.pid}) did not end within {timeout:.0f} s")
            self.status = reply["status"]
            self.sage.child = None
        return self.status

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


class WarmSage:
    """``tests/faults/warm_sage.py`` in a subprocess: `sage` commands forked from a warm interpreter."""

    def __init__(self, env: dict[str, str], scratch: Path) -> None:
        self.env, self.scratch = env, scratch
        self.process = subprocess.Popen([sys.executable, str(HERE / "warm_sage.py")], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.child: WarmChild | None = None
        self.count = 0
        ready = self._reply(300)
        assert ready == {"ready": True}, f"the warm sage did not start: {ready}"

    def _reply(self, timeout: float) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        line = self.process.stdout.readline()
        assert line, f"the warm sage exited with status {self.process.wait()}"
        return json.loads(line)

    def start(self, *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> WarmChild:
        """Fork ``sage ARGV``; one command at a time."""
        assert self.child is None, "the previous command has not been waited for"
        assert self.process.stdin is not None
        self.count += 1
        out, err = self.scratch / f"{self.count}.out", self.scratch / f"{self.count}.err"
        request = {"argv": list(argv), "env": env or self.env, "cwd": str(cwd or self.scratch),
                   "stdout": str(out), "stderr": str(err)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self._reply(60)
        assert reply is not None and "pid" in reply, f"the warm sage did not fork: {reply}"
        self.child = WarmChild(self, reply["pid"], out, err)
        return self.child

    def run(self, *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Like ``run_sage``: run ``sage ARGV`` to its end and return its status and output."""
        child = self.start(*argv, env=env, cwd=cwd)
        status = child.wait(timeout)
        result = subprocess.CompletedProcess(["sage", *argv], status, child.stdout, child.stderr)
        if check and status != 0:
            raise AssertionError(f"sage {' '.join(argv)} exited {status}\nstdout:\n{result.stdout}\n"
                                 f"stderr:\n{result.stderr}")
        return result

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="session")
def warm_sage(healthy_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmSage]:
    """`sage` with the fixture plugins (the toy compressor), forked from an interpreter that imported torch."""
    env = {**healthy_env, "OMP_NUM_THREADS": "1", "SAGE_CACHE_DIR": str(tmp_path_factory.mktemp("warm-cache"))}
    sage = WarmSage(env, tmp_path_factory.mktemp("warm-sage"))
    yield sage
    sage.stop()


#: The toy compressor, 4 batches per epoch: a whole run takes a fraction of a second.
TINY_TOY = ("-o", "modality.train_samples=32", "-o", "modality.eval_samples=8", "-o", "train.batch_size=8",
            "-o", "train.epochs=2")


@pytest.fixture(scope="session")
def toy_run(warm_sage: WarmSage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished, evaluated `sage train toy_puzzle` run (8 steps); copy it before changing it."""
    run = tmp_path_factory.mktemp("toy-runs") / "toy"
    warm_sage.run("train", "toy_puzzle", "--out", str(run), "--threads", "1", *TINY_TOY)
    return run


@pytest.fixture
def toy_copy(toy_run: Path, tmp_path: Path) -> Path:
    """A private copy of ``toy_run`` to damage."""
    copy = tmp_path / "run"
    shutil.copytree(toy_run, copy)
    return copy


# --- read-only folders, even for root --------------------------------------------------------------

_RO_SCRIPT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


def _read_only_prefix(folder: Path) -> list[str] | None:
    """A command prefix that runs what follows with ``folder`` read-only, or None when impossible here."""
    for flags in (["--user", "--map-root-user", "--mount"], ["--mount"]):
        prefix = ["unshare", *flags, "sh", "-c", _RO_SCRIPT, str(folder)]
        try:
            probe = subprocess.run([*prefix, "sh", "-c", 'touch "$0/.probe"', str(folder)], capture_output=True,
                                   timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if probe.returncode != 0 and not (folder / ".probe").exists() and b"Read-only" in probe.stderr:
            return prefix
        (folder / ".probe").unlink(missing_ok=True)
    return None


@pytest.fixture
def read_only() -> Iterator[Callable[[Path], list[str]]]:
    """``read_only(folder)``: a command prefix under which ``folder`` cannot be written.

    Not root: ``chmod 500`` (restored after the test), and the prefix is empty. Root writes
    through permission bits, so there the folder is bind-mounted read-only in a private
    mount namespace (``unshare``); where that is not allowed, the test is skipped.
    """
    modes: dict[Path, int] = {}

    def prefix(folder: Path) -> list[str]:
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            modes[folder] = folder.stat().st_mode
            folder.chmod(0o500)
            return []
        found = _read_only_prefix(folder)
        if found is None:
            pytest.skip("tests run as root, where permission bits do not stop writes, and this machine allows "
                        "no private read-only mount (unshare --mount)")
        return found

    yield prefix
    for folder, mode in modes.items():
        folder.chmod(mode)


def run_sage_under(prefix: list[str], *args: str, env: dict[str, str], timeout: float = 300
                   ) -> subprocess.CompletedProcess[str]:
    """``sage ARGS`` run behind a command prefix (e.g. one that makes a folder read-only)."""
    return subprocess.run([*prefix, *SAGE, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def sage_under() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_sage_under


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes: to see that nothing changed.

    A run's ``.lock`` is left out: it names the last process that held it, and that is all.
    """
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".lock"}


@pytest.fixture(scope="session")
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    return tree
