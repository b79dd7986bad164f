"""The embedded default corpus: docstrings of the Python standard library.

Gathered offline with ``inspect.getdoc`` from every importable stdlib module (and the
modules of stdlib packages), in a child process so that importing ~400 modules never
touches the caller's interpreter. The result depends on the Python version, so the
cache file is named after it.

Run ``python -m sage_language_puzzle.corpus OUT.json`` to gather into a file.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType

from sage_core import SageError, write_bytes_atomic

#: Modules that open windows, print on import or are test suites, not documentation.
SKIPPED_MODULES = frozenset(
    {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "__main__",
     "pydoc_data", "lib2to3", "ensurepip", "venv", "test"}
)


def cached_corpus(cache_dir: Path) -> dict[str, str]:
    """``{module name: its docstrings joined}``, gathered once per Python version.

    A cache file that does not parse is gathered again, never trusted.
    """
    path = cache_dir / "language_puzzle" / f"stdlib-docstrings-py{sys.version_info[0]}{sys.version_info[1]}.json"
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text(encoding="utf-8"))
    result = subprocess.run([sys.executable, "-m", "sage_language_puzzle.corpus", str(path)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SageError(f"gathering stdlib docstrings failed: {' '.join(result.stderr.split()[-30:])}")
    return json.loads(path.read_text(encoding="utf-8"))


def _quiet_import(name: str) -> ModuleType | None:
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except BaseException:  # noqa: BLE001 - a module that cannot import here is simply absent
        return None


def _stdlib_modules() -> list[ModuleType]:
    modules = []
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in SKIPPED_MODULES or (module := _quiet_import(name)) is None:
            continue
        modules.append(module)
        for info in pkgutil.iter_modules(getattr(module, "__path__", []), name + "."):
            if any(part.startswith("_") or part in ("test", "tests") for part in info.name.split(".")[1:]):
                continue
            if (submodule := _quiet_import(info.name)) is not None:
                modules.append(submodule)
    return modules


def module_docstrings(module: ModuleType) -> str:
    """The docstrings of a module, its public classes, functions and methods, in name order."""
    docs: list[str] = []
    seen: set[int] = set()

    def add(obj: object) -> None:
        doc = inspect.getdoc(obj)
        if doc and id(obj) not in seen:
            seen.add(id(obj))
            docs.append(doc)

    add(module)
    for name, value in sorted(vars(module).items()):
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(value) or inspect.isroutine(value):
            add(value)
        if inspect.isclass(value):
            for member_name, member in sorted(vars(value).items()):
                if not member_name.startswith("_") and inspect.isroutine(member):
                    add(member)
    return "\n\n".join(docs)


def gather() -> dict[str, str]:
    corpus = {module.__name__: module_docstrings(module) for module in _stdlib_modules()}
    return {name: text for name, text in corpus.items() if text}


if __name__ == "__main__":
    write_bytes_atomic(sys.argv[1], json.dumps(gather(), sort_keys=True).encode("utf-8"))
