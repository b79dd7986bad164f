"""A `sage` that has imported torch once and forks one child per command.

Starting Python and importing torch costs seconds per command on a busy 2-core machine, so
the tests that run the CLI dozens of times (the SIGKILL soak, the damaged-run matrix) fork
children of this warmed-up interpreter instead. Each child is its own process that runs
``sage_core.cli.main.main(argv)``, exactly what the ``sage`` script runs, with the
environment, working directory and output files of its request, and can be killed by pid.
Plugins are loaded by each child, as by any ``sage`` command.

Protocol, one JSON object per line:

- in: ``{"argv": [...], "env": {...}, "cwd": DIR, "stdout": FILE, "stderr": FILE}``
- out: ``{"pid": N}`` once the child runs, then ``{"pid": N, "status": S}`` when it ended
  (its exit status, or minus the signal that ended it).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def warm_up() -> None:
    """Import what every training or loading command imports, so children start at once."""
    import torch  # noqa: F401

    import sage_core.analysis.evaluate  # noqa: F401
    import sage_core.cli.main  # noqa: F401
    import sage_core.training.trainer  # noqa: F401
    from sage_core.plugins import load_plugins

    for spec in load_plugins().compressors.values():
        spec.load()


def run_child(request: dict[str, Any]) -> int:
    """In the forked child: become the requested `sage` command; return its exit status."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        os.dup2(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    from sage_core.cli.main import main

    try:
        main(request["argv"])
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - shown as the `sage` script would show it
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve() -> None:
    warm_up()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = run_child(request)
            finally:
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "status": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
