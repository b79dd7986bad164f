"""Shared fixtures: the test plugins installed for real, and a runner for the `sage` CLI.

The fixture plugins under ``tests/plugins/`` are installed by pip into a private
``--target`` folder once per test session (real wheels, real entry points), and put on
``sys.path`` and ``PYTHONPATH`` so both this process and CLI subprocesses discover
them, while the developer's environment stays clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_runner import run_sage

__all__ = ["run_sage"]

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PLUGINS = ("sage-fixture-plugin", "sage-broken-plugin", "sage-shadowing-plugin")
#: Names to block when a test wants only healthy plugins.
BROKEN_PLUGINS = "sage-broken-plugin,sage-shadowing-plugin"


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder where pip installed the fixture plugins; on sys.path for the session."""
    site = tmp_path_factory.mktemp("plugin-site")
    paths = [str(ROOT / "tests" / "plugins" / name) for name in FIXTURE_PLUGINS]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(site), *paths],
        check=True,
    )
    sys.path.insert(0, str(site))
    import importlib

    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))


@pytest.fixture(scope="session")
def plugin_env(plugin_site: Path) -> dict[str, str]:
    """Environment for CLI subprocesses that see the fixture plugins (broken ones too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin_site), env.get("PYTHONPATH", "")]))
    return env


@pytest.fixture(scope="session")
def healthy_env(plugin_env: dict[str, str]) -> dict[str, str]:
    """Like ``plugin_env`` with the deliberately broken fixture plugins blocked."""
    return {**plugin_env, "SAGE_DISABLE_PLUGINS": BROKEN_PLUGINS}


@pytest.fixture(scope="session")
def one_thread_env(healthy_env: dict[str, str]) -> dict[str, str]:
    """``healthy_env`` with torch on one thread: tiny convolutions on a shared 2-core machine run
    ~30x faster so, and two processes do not thrash."""
    return {**healthy_env, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """This process's torch on one thread for a module (the same reason), restored after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
