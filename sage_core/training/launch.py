"""``run_training``: resolve what to train, claim a run directory, start the ranks, evaluate.

Three ways to run, one code path per rank (``train_rank``):
- one process (``nproc=1``): train here;
- ``nproc=N``: spawn N local processes (gloo on CPU, nccl on GPU) and wait for them;
- under ``torchrun`` (``RANK``/``WORLD_SIZE`` set): this process is one rank; rank 0
  plans the run and tells the others.
Only rank 0 (or the parent of spawned ranks) writes to the run directory, and only it
evaluates the finished model.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sage_core.atomic import write_json_atomic
from sage_core.config import check_seed, resolve_config
from sage_core.errors import ConfigError, SageError
from sage_core.runs import CONFIG_FILE, SUMMARY_FILE, check_compressor_version, read_run_config
from sage_core.training import distributed as ddp
from sage_core.training.progress import ProgressMode, default_mode
from sage_core.training.rundir import RunLock, default_run_dir
from sage_core.training.trainer import Trainer, TrainingJob

if TYPE_CHECKING:  # pragma: no cover
    from sage_core.contract import PuzzleCompressor
    from sage_core.plugins import PluginRegistry


def run_training(
    compressor: str | type[PuzzleCompressor] | None,
    *,
    overrides: Sequence[str] = (),
    config_path: str | Path | None = None,
    data_path: str | Path | None = None,
    source: str | None = None,
    out: str | Path | None = None,
    seed: int = 0,
    epochs: int | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    threads: int | None = None,
    device: str = "cpu",
    resume: str | Path | None = None,
    nproc: int = 1,
    registry: PluginRegistry | None = None,
    evaluate: bool = True,
    progress: ProgressMode | None = None,
) -> Path:
    """Train ``compressor`` (a registered id, or a class) and return its run directory.

    ``resume`` continues a run from its last complete checkpoint with its stored config
    (``overrides`` and the limits still apply; ``seed`` is the stored one). ``progress``:
    ``bar``, ``log`` or ``off``; None picks ``bar`` on a terminal, else ``log``.
    """
    plan = dict(
        compressor=compressor, overrides=overrides, config_path=config_path, data_path=data_path,
        source=source, out=out, seed=seed, epochs=epochs, max_steps=max_steps, max_minutes=max_minutes,
        threads=threads, device=resolve_device(device), resume=resume, nproc=nproc, registry=registry,
        progress=progress or default_mode(),
    )
    under_torchrun = ddp.torchrun_env()
    if under_torchrun is not None:
        if nproc > 1:
            raise ConfigError("launched by torchrun: leave out --nproc (torchrun --nproc-per-node sets it)")
        return _run_under_torchrun(plan, under_torchrun, evaluate)
    if nproc < 1:
        raise ConfigError(f"--nproc must be at least 1, got {nproc}")
    if plan["device"] == "cuda":
        import torch

        if torch.cuda.device_count() < nproc:
            raise ConfigError(f"--nproc {nproc} needs {nproc} GPUs; {torch.cuda.device_count()} visible")
    job, record = plan_job(**plan, world_size=nproc)
    run_dir = Path(job.run_dir)
    with RunLock(run_dir), _torch_threads_restored():
        _claim(run_dir, record, resuming=resume is not None)
        _say(job, f"training {record['compressor_id']} into {run_dir} ({nproc} process(es) on {job.device})")
        try:
            summary = train_rank(job, 0, 1, 0) if nproc == 1 else _spawn(job, nproc)
        except BaseException as exc:
            _write_failed(run_dir, exc)
            raise
        _report(job, summary)
        if evaluate:
            _evaluate(job, plan["registry"])
    return run_dir


@contextlib.contextmanager
def _torch_threads_restored() -> Iterator[None]:
    """``train.threads`` applies to this run (training and its evaluation), not to the caller after it."""
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def resolve_device(device: str) -> str:
    """``auto`` means CUDA when a GPU is visible, else CPU."""
    if device not in ("cpu", "cuda", "auto"):
        raise ConfigError(f"--device must be cpu, cuda or auto, got {device!r}")
    if device == "cpu":
        return device
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no GPU is visible to torch")
    return "cuda" if torch.cuda.is_available() else "cpu"


def train_rank(job: TrainingJob, rank: int, world_size: int, local_rank: int) -> dict[str, Any] | None:
    """Join the process group, train, leave. Rank 0 returns the summary."""
    ctx = ddp.start(rank, world_size, local_rank, job.device)
    try:
        startup_s = time.time() - job.launched_at
        return Trainer(job, ctx, startup_s).fit()
    finally:
        ddp.stop()


# --- planning a run ------------------------------------------------------------------------


def plan_job(
    *,
    compressor: str | type[PuzzleCompressor] | None,
    overrides: Sequence[str],
    config_path: str | Path | None,
    data_path: str | Path | None,
    source: str | None,
    out: str | Path | None,
    seed: int,
    epochs: int | None,
    max_steps: int | None,
    max_minutes: float | None,
    threads: int | None,
    device: str,
    resume: str | Path | None,
    nproc: int,
    registry: PluginRegistry | None,
    progress: str,
    world_size: int,
) -> tuple[TrainingJob, dict[str, Any]]:
    """Resolve the class, config, data and run directory; return the job and ``config.json``."""
    stored = read_run_config(resume) if resume is not None else None
    if compressor is None:
        if stored is None:
            raise ConfigError("name a compressor id to train, or --resume RUN_DIR")
        compressor = str(stored["compressor_id"])
    if isinstance(compressor, str) and stored is not None and compressor != stored["compressor_id"]:
        raise ConfigError(f"{resume} is a run of {stored['compressor_id']!r}, not {compressor!r}")
    needs_registry = (isinstance(compressor, str) and not (stored and stored.get("factory"))) or source
    if registry is None and needs_registry:
        from sage_core.plugins import load_plugins

        registry = load_plugins()
    cls, factory, plugin, plugin_version = _compressor_origin(compressor, registry, stored)
    if stored is not None:
        check_compressor_version(resume, stored, cls)

    limits = {"train.epochs": epochs, "train.max_steps": max_steps, "train.max_minutes": max_minutes,
              "train.threads": threads}
    flags = [f"{key}={json.dumps(value)}" for key, value in limits.items() if value is not None]
    config = resolve_config(cls.Config, stored["config"] if stored else None, config_path, [*overrides, *flags])

    seed = check_seed(stored.get("seed") if stored else seed, f"{resume}/{CONFIG_FILE}: seed" if stored else "seed")
    if stored is not None:
        data_path = data_path or stored.get("data_path")
        source = source or stored.get("source")
    source_factory = None
    if source:
        assert registry is not None
        spec = registry.data_source(source)
        if spec.modality != cls.modality:
            raise ConfigError(f"data source {source!r} is for {spec.modality} data, not {cls.modality}")
        source_factory = spec.factory
    run_dir = Path(resume) if resume is not None else Path(out) if out is not None else default_run_dir(cls.id)

    import sage_core

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    config_data = config.model_dump(mode="json")
    record = {
        "compressor_id": cls.id,
        "modality": cls.modality,
        "plugin": plugin,
        "plugin_version": plugin_version,
        "compressor_version": cls.version,
        "factory": factory,
        "config": config_data,
        "seed": seed,
        "data_path": str(Path(data_path).resolve()) if data_path else None,
        "source": source,
        "device": device,
        "nproc": world_size,
        "created": stored["created"] if stored else now,
        "resumed": [*stored.get("resumed", []), now] if stored else [],
        "sage_version": sage_core.__version__,
    }
    job = TrainingJob(
        factory=factory,
        config=config_data,
        run_dir=str(run_dir),
        seed=seed,
        data_path=record["data_path"],
        source_factory=source_factory,
        device=device,
        progress=progress,
        metadata={
            "compressor_id": cls.id,
            "compressor_version": cls.version,
            "plugin": plugin,
            "plugin_version": plugin_version,
            "config": json.dumps(config_data, sort_keys=True),
        },
        versions={"sage-core": sage_core.__version__, **({plugin: plugin_version} if plugin else {})},
        launched_at=time.time(),
    )
    return job, record


def _compressor_origin(
    compressor: str | type[PuzzleCompressor],
    registry: PluginRegistry | None,
    stored: dict[str, Any] | None,
) -> tuple[type[PuzzleCompressor], str, str, str]:
    """``(class, "module:Class", plugin distribution, its version)``."""
    if isinstance(compressor, str):
        if registry is not None and (stored is None or compressor in registry.compressors):
            spec = registry.compressor(compressor)
            versions = {record.name: record.version for record in registry.records}
            return spec.load(), spec.factory, spec.plugin, versions.get(spec.plugin, "")
        from sage_core.runs import compressor_class

        assert stored is not None
        cls = compressor_class(stored, registry)
        return cls, str(stored["factory"]), str(stored.get("plugin", "")), str(stored.get("plugin_version", ""))
    cls = compressor
    top = cls.__module__.split(".")[0]
    dists = importlib_metadata.packages_distributions().get(top, [])
    plugin = dists[0] if dists else ""
    version = importlib_metadata.version(plugin) if plugin else ""
    return cls, f"{cls.__module__}:{cls.__qualname__}", plugin, version


def _claim(run_dir: Path, record: dict[str, Any], resuming: bool) -> None:
    """Refuse to train over another run; then write ``config.json`` (we hold the lock)."""
    if not resuming and (run_dir / CONFIG_FILE).exists():
        raise SageError(f"{run_dir} already holds a run; continue it with --resume {run_dir} or choose another --out")
    write_json_atomic(run_dir / CONFIG_FILE, record)


def _write_failed(run_dir: Path, exc: BaseException) -> None:
    reason = str(exc) or type(exc).__name__
    write_json_atomic(
        run_dir / SUMMARY_FILE,
        {
            "status": "failed",
            "error": f"{type(exc).__name__}: {reason}",
            "resume_with": f"sage train --resume {run_dir}",
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )


# --- running ranks -------------------------------------------------------------------------


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


def _run_under_torchrun(plan: dict[str, Any], env: tuple[int, int, int], evaluate: bool) -> Path:
    """This process is one torchrun rank; rank 0 plans and locks, the others follow."""
    rank, world_size, local_rank = env
    ctx = ddp.start(rank, world_size, local_rank, plan["device"])
    lock = None
    try:
        answer: tuple[TrainingJob | None, str | None] = (None, None)
        if ctx.is_main:
            try:
                job, record = plan_job(**plan, world_size=world_size)
                lock = RunLock(Path(job.run_dir)).acquire()
                _claim(Path(job.run_dir), record, resuming=plan["resume"] is not None)
                answer = (job, None)
            except SageError as exc:
                answer = (None, str(exc))
        job, error = ddp.broadcast_object(ctx, answer)
        if error is not None or job is None:
            raise SageError(error or "rank 0 could not plan the run")
        if not ctx.is_main:
            job.progress = "off"
        _say(job, f"training into {job.run_dir} ({world_size} torchrun processes on {job.device})")
        try:
            summary = Trainer(job, ctx, time.time() - job.launched_at).fit()
        except BaseException as exc:
            if ctx.is_main:
                _write_failed(Path(job.run_dir), exc)
            raise
        ddp.stop()
        if ctx.is_main:
            _report(job, summary)
            if evaluate:
                _evaluate(job, plan["registry"])
        return Path(job.run_dir)
    finally:
        ddp.stop()
        if lock is not None:
            lock.release()


# --- after training ------------------------------------------------------------------------


def _say(job: TrainingJob, text: str) -> None:
    if job.progress != "off":
        print(text, flush=True)


def _report(job: TrainingJob, summary: dict[str, Any] | None) -> None:
    if summary is None:
        return
    best = summary.get("best_validation_loss")
    best_text = f", best validation loss {best:.4g}" if best is not None else ""
    _say(
        job,
        f"{summary['status']} after {summary['steps']} steps in {summary['wall_s']:.1f} s "
        f"({summary['train_samples_per_s']:.0f} samples/s){best_text}: {job.run_dir}",
    )


def _evaluate(job: TrainingJob, registry: PluginRegistry | None) -> None:
    """The analyzer's test-split evaluation of the finished run (rank 0 only)."""
    try:
        from sage_core.analysis import evaluate_run
    except ImportError as exc:
        _say(job, f"evaluation skipped: sage_core.analysis is not available ({exc})")
        return
    try:
        evaluate_run(Path(job.run_dir), split="test", registry=registry)
    except Exception as exc:
        raise SageError(
            f"training finished in {job.run_dir}, but its evaluation failed ({exc}); "
            f"retry with `sage evaluate {job.run_dir}`"
        ) from exc
