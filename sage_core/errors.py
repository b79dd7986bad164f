"""Errors a user can act on. Each message names the thing at fault and the problem."""

from __future__ import annotations

import sys
from pathlib import Path


class SageError(Exception):
    """Base class: the CLI prints these as one clear line instead of a traceback."""


class InputError(SageError):
    """An input file or observation cannot be used."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class BadDataError(SageError):
    """Too much of a data set is unreadable or invalid to train on honestly."""


class ConfigError(SageError):
    """A configuration value or override is invalid."""


class PluginError(SageError):
    """A plugin could not be loaded or registered something invalid."""


def exception_line(exc: BaseException) -> str:
    """``Type: message`` of an exception raised inside plugin code, on one line (at most 300
    characters of message), for errors that name the plugin instead of showing a traceback."""
    detail = " ".join(str(exc).split())[:300]
    return type(exc).__name__ + (f": {detail}" if detail else "")


class UnknownCompressorError(SageError):
    """No installed plugin registers the requested compressor id."""


class RunDirectoryBusyError(SageError):
    """Another process is training into the same run directory."""


def warn_input(path: str | Path, problem: str) -> None:
    """Say on stderr, in one ``sage: warning:`` line, that an input was used but is not whole."""
    print(f"sage: warning: {path}: {' '.join(problem.split())}", file=sys.stderr, flush=True)
