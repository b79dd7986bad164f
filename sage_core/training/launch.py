"""``train``: plan a request, claim its run directory, run the ranks, finish.

One path for every way to run (``train_rank`` is the same on every rank):
- one process (``nproc=1``): train here;
- ``nproc=N``: spawn N local processes (gloo on CPU, nccl on GPU), which end with their parent;
- under ``torchrun`` (``RANK``/``WORLD_SIZE`` set): this process is one rank; rank 0
  plans and claims the run and tells the others.
Only rank 0 (or the parent of spawned ranks) writes to the run directory. Evaluation is not
part of training: the caller (``sage train``) evaluates the finished run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sage_core.atomic import write_bytes_atomic
from sage_core.errors import ConfigError, SageError
from sage_core.run_files import RunSummary
from sage_core.training import distributed as ddp
from sage_core.training.plan import TrainingPlan, plan_training
from sage_core.training.progress import default_mode
from sage_core.training.request import TrainingRequest
from sage_core.training.trainer import Trainer, TrainingJob

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.plugins import PluginRegistry


@dataclass(frozen=True)
class TrainingResult:
    """Where a run went and how it ended; ``summary`` is None on torchrun ranks other than 0."""

    run_dir: Path
    summary: dict[str, Any] | None
    is_main: bool = True


def train(request: TrainingRequest, registry: PluginRegistry | None = None) -> TrainingResult:
    """Train as ``request`` says; returns the run directory and its summary."""
    if registry is None:
        from sage_core.plugins import load_plugins

        registry = load_plugins()
    progress = request.progress or default_mode()
    under_torchrun = ddp.torchrun_env()
    if under_torchrun is not None:
        if request.nproc > 1:
            raise ConfigError("launched by torchrun: leave out --nproc (torchrun --nproc-per-node sets it)")
        return _train_under_torchrun(request, registry, progress, *under_torchrun)
    if request.nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {request.nproc}")
    plan = plan_training(request, registry, request.nproc, progress)
    if plan.job.device == "cuda":
        import torch

        if torch.cuda.device_count() < request.nproc:
            raise ConfigError(f"--nproc {request.nproc} needs {request.nproc} GPUs; {torch.cuda.device_count()} visible")
    with plan.run.lock(), _torch_threads_restored():
        with _claimed(plan):
            _say(plan.job, f"training {plan.record.compressor_id} into {plan.run.path} "
                           f"({request.nproc} process(es) on {plan.job.device})")
            nproc = request.nproc
            summary = train_rank(plan.job, 0, 1, 0) if nproc == 1 else _spawn(plan.job, nproc)
    _report(plan.job, summary)
    return TrainingResult(plan.run.path, summary)


def train_rank(job: TrainingJob, rank: int, world_size: int, local_rank: int) -> dict[str, Any] | None:
    """Join the process group, train, leave. Rank 0 returns the summary."""
    ctx = ddp.start(rank, world_size, local_rank, job.device)
    try:
        return Trainer(job, ctx, time.time() - job.launched_at).fit()
    finally:
        ddp.stop()


@contextlib.contextmanager
def _torch_threads_restored() -> Iterator[None]:
    """``train.threads`` applies to this run, not to the caller after it."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- claiming and finishing a run directory --------------------------------------------------


@contextlib.contextmanager
def _claimed(plan: TrainingPlan) -> Iterator[None]:
    """Write ``config.json`` (we hold the lock); on failure, leave the folder as it deserves.

    - A new run that fails before its first checkpoint is removed: nothing of it is worth
      keeping, and a leftover folder would demand ``--resume`` of the next attempt.
    - A resume that fails before a new checkpoint leaves the run exactly as it was (its
      files restored byte for byte), so a finished run stays finished and findable.
    - Otherwise ``summary.json`` says the run failed and how to resume it.

    Files a killed writer left half written (``.*.tmp``) are removed first. A file the system
    refused to write (a full disk, a read-only folder) ends the run as one ``SageError``
    naming the file and the last complete checkpoint, which stays as it was.
    """
    run = plan.run
    if not plan.resuming and run.config_path.exists():
        raise SageError(f"{run.path} already holds a run; continue it with --resume {run.path} or choose another --out")
    run.remove_temporary_files()
    created = not plan.resuming and not any(p.name != ".lock" for p in run.path.iterdir())
    saved = {path: path.read_bytes() for path in (run.config_path, run.summary_path, run.metrics_path,
                                                  run.data_report_path) if path.is_file()}
    last = _last_pointer(run.checkpoints)
    try:
        run.write_config(plan.record)
        yield
    except BaseException as exc:
        moved = _last_pointer(run.checkpoints) != last
        try:
            if created and _last_pointer(run.checkpoints) is None:
                _remove_new_run(run.path)
            elif plan.resuming and not moved:
                for path in (run.config_path, run.summary_path, run.metrics_path, run.data_report_path):
                    if path in saved:
                        write_bytes_atomic(path, saved[path])
                    else:
                        path.unlink(missing_ok=True)
            else:
                _write_failed(plan, exc)
        except OSError:  # the disk that failed the run may refuse this too; the error below says what to do
            pass
        if isinstance(exc, OSError):
            raise SageError(_write_failure(plan, exc, created)) from None
        raise


def _last_pointer(checkpoints: Path) -> bytes | None:
    """The ``last`` pointer's bytes, to see whether it moved (damaged or not: that is for loading to say)."""
    pointer = checkpoints / "last"
    try:
        return pointer.read_bytes() if pointer.is_file() else None
    except OSError:
        return None


def _write_failure(plan: TrainingPlan, exc: OSError, created: bool) -> str:
    """One line for a file the system would not write: which file, why, and what is kept."""
    where = str(exc.filename) if exc.filename is not None else str(plan.run.path)
    refused_write = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
    problem = f"{where}: cannot be written ({exc.strerror})" if refused_write else f"{where}: {exc.strerror or exc}"
    last = _last_pointer(plan.run.checkpoints)
    if last is None:
        kept = "the run had no checkpoint yet" + (", so its folder was removed" if created else "")
        return f"{problem}; {kept}"
    name = last.decode("ascii", "replace").strip()
    return (f"{problem}; the last complete checkpoint, {name}, is kept: make room, then "
            f"`sage train --resume {plan.run.path}`")


def _remove_new_run(path: Path) -> None:
    """Delete a run folder this invocation created and that holds nothing worth keeping."""
    for child in path.iterdir():
        if child.name != ".lock":  # the lock file goes with the folder once we release it
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    (path / ".lock").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.rmdir()


def _write_failed(plan: TrainingPlan, exc: BaseException) -> None:
    reason = str(exc) or type(exc).__name__
    plan.run.write_summary(RunSummary(
        status="failed",
        error=f"{type(exc).__name__}: {reason}",
        resume_with=f"sage train --resume {plan.run.path}",
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    ))


def _say(job: TrainingJob, text: str) -> None:
    if job.progress != "off":
        print(text, flush=True)


def _report(job: TrainingJob, summary: dict[str, Any] | None) -> None:
    if summary is None:
        return
    best = summary.get("best_validation_loss")
    best_text = f", best validation loss {best:.4g}" if best is not None else ""
    limit = f" (stopped by {summary['stop_reason']})" if summary.get("stop_reason") else ""
    _say(job, f"{summary['status']}{limit} after {summary['steps']} steps in {summary['wall_s']:.1f} s "
              f"({summary['train_samples_per_s']:.0f} samples/s){best_text}: {job.run_dir}")


# --- the process layer ----------------------------------------------------------------------


def _spawn(job: TrainingJob, nproc: int) -> dict[str, Any]:
    """Start ``nproc`` local ranks, wait, and return rank 0's summary (or its clear error)."""
    import multiprocessing

    import torch.multiprocessing as tmp
    from torch.multiprocessing.spawn import ProcessException

    results = multiprocessing.get_context("spawn").SimpleQueue()
    try:
        tmp.start_processes(
            _spawned_rank, args=(job, nproc, ddp.free_port(), results, os.getpid()), nprocs=nproc, start_method="spawn"
        )
    except ProcessException as exc:
        while not results.empty():
            kind, *payload = results.get()
            if kind == "error":
                raise SageError(payload[0]) from None
        raise SageError(f"a training process failed: {exc}") from None
    _, summary = results.get()  # rank 0's ("ok", summary)
    return summary


def _spawned_rank(rank: int, job: TrainingJob, nproc: int, port: int, results: Any, parent: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    _exit_with_parent(parent)
    if job.device == "cpu":
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))  # no oversubscription
    try:
        summary = train_rank(job, rank, nproc, rank)
    except SageError as exc:
        results.put(("error", f"rank {rank}: {exc}"))
        raise
    if rank == 0:
        results.put(("ok", summary))


def _exit_with_parent(parent: int) -> None:
    """End this rank soon after the launcher dies (even by SIGKILL).

    The launcher holds the run directory's lock; a rank outliving it could write while a
    ``--resume`` that just got the lock writes too.
    """
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _train_under_torchrun(request: TrainingRequest, registry: PluginRegistry, progress: str,
                          rank: int, world_size: int, local_rank: int) -> TrainingResult:
    """This process is one torchrun rank; rank 0 plans and claims, the others follow."""
    device = "cuda" if request.device == "cuda" or (request.device == "auto" and _cuda()) else "cpu"
    ctx = ddp.start(rank, world_size, local_rank, device)
    lock, claim = None, None
    try:
        answer: tuple[TrainingPlan | None, str | None] = (None, None)
        if ctx.is_main:
            try:
                plan = plan_training(request, registry, world_size, progress)
                lock = plan.run.lock().acquire()
                claim = _claimed(plan)
                claim.__enter__()
                answer = (plan, None)
            except SageError as exc:
                answer = (None, str(exc))
        plan, error = ddp.broadcast_object(ctx, answer)
        if error is not None or plan is None:
            raise SageError(error or "rank 0 could not plan the run")
        job = plan.job if ctx.is_main else TrainingJob(**{**plan.job.__dict__, "progress": "off"})
        _say(job, f"training into {job.run_dir} ({world_size} torchrun processes on {job.device})")
        try:
            summary = Trainer(job, ctx, time.time() - job.launched_at).fit()
        except BaseException as exc:
            if claim is not None:
                claim.__exit__(type(exc), exc, exc.__traceback__)
                claim = None
            raise
        if claim is not None:
            claim.__exit__(None, None, None)
            claim = None
        _report(job, summary)
        return TrainingResult(Path(job.run_dir), summary, is_main=ctx.is_main)
    finally:
        ddp.stop()
        if lock is not None:
            lock.release()


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
