"""The shared training loop: every compressor, every modality, one loop.

Read it top to bottom like nanoGPT's ``train.py``: data, model, optimizer and schedule,
resume, the loop (``Trainer.fit``), validation, checkpoints, summary. The compressor
supplies only ``forward`` (loss), ``initialize`` and ``set_progress``; everything a run
needs to be resumed bit for bit lives in the checkpoint.

Bad data: loaders validate samples and report what they skip (``DataReport``); the
trainer writes that report, stops when the skipped fraction exceeds
``train.bad_data_limit``, and also refuses any training batch holding NaN or inf (a
loader bug must not silently poison the weights). A loss that turns non-finite stops
training with a message naming the step and the last good checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, Subset, default_collate

from sage_core.contract import CompressorOutput, PuzzleCompressor
from sage_core.data import DataReport, DataSplits, cache_dir
from sage_core.errors import BadDataError, ConfigError, SageError, warn_input
from sage_core.grid import NUM_CODES
from sage_core.run_files import RunSummary
from sage_core.rundir import MetricsLog, RunDirectory
from sage_core.runs import build_compressor
from sage_core.specs import import_object
from sage_core.training import distributed as ddp
from sage_core.training.checkpoint import CheckpointStore, restore_rng_state, rng_state
from sage_core.training.job import TrainingJob
from sage_core.training.progress import ProgressMode, TrainingProgress

__all__ = ["Trainer", "TrainingJob", "adamw", "lr_factor"]


def lr_factor(step: float, warmup: int, total: int, schedule: str) -> float:
    """Linear warm-up to the peak rate, then cosine or linear decay to zero (or constant).

    ``step`` may be fractional: a time-capped run's schedule position (``_schedule_position``).
    """
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def adamw(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused where torch has a fused kernel for these parameters.

    The fused step is one kernel instead of a Python loop over parameters: on a small model
    at batch 16 the loop cost about 3% of a CPU training step. Either way it is deterministic,
    so resuming stays bit for bit.
    """
    try:
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def code_perplexity(histogram: Tensor) -> float:
    """``exp(entropy)`` of the code histogram: 1 = one code used, 10 = all used evenly."""
    p = histogram.double() / histogram.sum().clamp(min=1)
    return float(torch.exp(-(p * p.clamp(min=1e-12).log()).sum()))


def epoch_order(n: int, seed: int, epoch: int, rank: int, world_size: int) -> list[int]:
    """This rank's training-sample indices for ``epoch``: reshuffled every epoch.

    ``DistributedSampler`` seeds its permutation with ``seed + epoch``; with several
    ranks it drops the remainder so every rank gets as many samples (no duplicates).
    """
    sampler = DistributedSampler(range(n), world_size, rank, shuffle=True, seed=seed, drop_last=world_size > 1)
    sampler.set_epoch(epoch)
    return list(sampler)


class Window:
    """Sums over the steps since the last log line, kept on the device (no sync per step)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.started = time.monotonic()
        self.steps = self.samples = 0
        self.loss = torch.zeros((), device=device)
        self.logs: dict[str, Tensor] = {}
        self.codes = torch.zeros(NUM_CODES, dtype=torch.long, device=device)

    def add(self, out: CompressorOutput, samples: int) -> None:
        self.steps += 1
        self.samples += samples
        self.loss += out.loss.detach().float()
        for key, value in out.logs.items():
            self.logs[key] = self.logs.get(key, 0) + value.detach().float().mean()
        self.codes += torch.bincount(out.codes.detach().reshape(-1).clamp(0, NUM_CODES - 1), minlength=NUM_CODES)

    @property
    def age(self) -> float:
        return time.monotonic() - self.started


class Trainer:
    """Trains one compressor on one rank; rank 0 writes the run directory."""

    def __init__(self, job: TrainingJob, ctx: ddp.DistContext, startup_s: float = 0.0) -> None:
        self.job, self.ctx, self.startup_s = job, ctx, startup_s
        self.run = RunDirectory(job.run_dir)
        cls: type[PuzzleCompressor] = import_object(job.factory)
        self.config = cls.Config.model_validate(job.config)
        self.tc = tc = self.config.train
        if tc.threads is not None:
            torch.set_num_threads(tc.threads)
        if tc.batch_size % ctx.world_size:
            raise ConfigError(f"train.batch_size {tc.batch_size} must be divisible by the {ctx.world_size} processes")
        self.rank_batch = tc.batch_size // ctx.world_size  # batch_size is the global batch
        self.splits = self._load_data(cls)
        self.model = build_compressor(cls, self.config, job.seed).to(ctx.device)
        self.optimizer = adamw(self.model, tc.lr, tc.weight_decay)
        shard_size = len(epoch_order(len(self.splits.train), job.seed, 0, ctx.rank, ctx.world_size))
        self.batches_per_epoch = math.ceil(shard_size / self.rank_batch)
        if self.batches_per_epoch == 0:
            raise BadDataError("the training split is empty: nothing to train on")
        self.total_steps = min(tc.epochs * self.batches_per_epoch, tc.max_steps or math.inf)
        self.warmup_steps = min(tc.warmup_steps, self.total_steps // 2)
        self.time_fraction = 0.0  # of train.max_minutes used, the same on every rank
        self.loader_generator = torch.Generator().manual_seed(job.seed)
        self.store = CheckpointStore(self.run.path)
        self.step = self.epoch = self.batch_in_epoch = self.samples_seen = 0
        self.best_val_loss, self.last_val_step, self.last_ckpt_step = math.inf, -1, -1
        self.prior_wall_s = 0.0
        self.last_validation: dict[str, Any] | None = None
        self.last_train: dict[str, Any] | None = None

    # --- the loop ------------------------------------------------------------------------

    def fit(self) -> dict[str, Any] | None:
        """Train to the end (or a limit); rank 0 returns the summary."""
        tc, ctx, model = self.tc, self.ctx, self.model
        resumed = self._resume()
        if not resumed:
            model.initialize(self._first_batch())
            ddp.broadcast_state(ctx, model)
        resumed_samples = self.samples_seen
        if tc.max_minutes is not None:  # a resumed run continues its time budget where it stopped
            self.time_fraction = self.prior_wall_s / (tc.max_minutes * 60)
        self.metrics = MetricsLog(self.run.metrics_path, self.step) if ctx.is_main else None
        mode: ProgressMode = self.job.progress if ctx.is_main else "off"  # type: ignore[assignment]
        self.progress = TrainingProgress(mode, self.total_steps, self.step)
        if self.metrics is not None and self.metrics.dropped_lines:
            dropped = self.metrics.dropped_lines
            more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
            warn_input(self.run.metrics_path, f"line(s) {', '.join(map(str, dropped[:5]))}{more} are not metrics "
                                              "records; left out of the resumed log")
        self.started = last_ckpt = time.monotonic()
        self.side_s = 0.0  # seconds spent validating and checkpointing, not training
        window = Window(ctx.device)
        stop_reason = self._stop_reason() if resumed else None  # a resumed run may already be at its limit
        model.train()
        try:
            while stop_reason is None and self.epoch < tc.epochs:
                for batch in self._epoch_batches():
                    out = self._train_step(batch)
                    window.add(out, len(batch) * ctx.world_size)
                    if ctx.is_main and window.age >= tc.log_every_s:
                        self._log(window)
                        window = Window(ctx.device)
                    every = tc.checkpoint_every_steps
                    if (every and self.step % every == 0) or time.monotonic() - last_ckpt >= tc.checkpoint_every_s:
                        self._checkpoint()
                        last_ckpt = time.monotonic()
                    stop_reason = self._stop_reason()
                    if stop_reason:
                        break
                else:  # the epoch ran to its end
                    self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                    self._checkpoint(self._validate())
                    last_ckpt = time.monotonic()
            if ctx.is_main and window.steps:
                self._log(window)
            self._checkpoint(self._validate() if self.last_val_step != self.step else None)
            in_sync = ddp.ranks_in_sync(ctx, model)
            if not in_sync:
                raise SageError("data-parallel ranks ended with different weights (please report this bug)")
            if ctx.distributed:
                self.progress.message(f"ranks in sync: {ctx.world_size} processes hold identical weights")
        finally:
            self.progress.close()
        session_samples = self.samples_seen - resumed_samples
        return self._summary(stop_reason, in_sync, session_samples) if ctx.is_main else None

    def _train_step(self, batch: Tensor) -> CompressorOutput:
        """One optimizer step on this rank's ``batch``, gradients averaged over ranks."""
        model, ctx = self.model, self.ctx
        position = self._schedule_position()
        for group in self.optimizer.param_groups:
            group["lr"] = self.tc.lr * lr_factor(position, self.warmup_steps, self.total_steps, self.tc.schedule)
        model.set_progress(int(position), self.total_steps)
        out = model(batch)
        out.loss.backward()
        ddp.average_gradients(ctx, model)
        if self.tc.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.tc.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        ddp.broadcast_buffers(ctx, model)
        self.step += 1
        self.batch_in_epoch += 1
        self.samples_seen += len(batch) * ctx.world_size
        self.progress.advance(self.step)
        return out

    def _schedule_position(self) -> float:
        """Where the learning-rate schedule (and ``set_progress``) stands: the step, or further.

        With ``train.max_minutes`` and ``train.anneal_by_time``, after warm-up the schedule
        runs at the pace of whichever budget is spent faster, steps or minutes, so a run the
        time cap stops still ends with a fully decayed rate. Without a time cap the position
        is the step alone and a resumed run repeats an uninterrupted one bit for bit.
        """
        if self.tc.max_minutes is None or not self.tc.anneal_by_time or self.step < self.warmup_steps:
            return float(self.step)
        return max(float(self.step), self.time_fraction * self.total_steps)

    def _stop_reason(self) -> str | None:
        if self.tc.max_steps is not None and self.step >= self.total_steps:
            return "max_steps"
        if self.tc.max_minutes is not None:
            self.time_fraction = ddp.max_over_ranks(self.ctx, self._wall_s() / (self.tc.max_minutes * 60))
            if self.time_fraction >= 1.0:
                return "max_minutes"
        return None

    def _wall_s(self) -> float:
        return self.prior_wall_s + time.monotonic() - self.started

    # --- data ------------------------------------------------------------------------------

    def _load_data(self, cls: type[PuzzleCompressor]) -> DataSplits:
        """Build the splits (rank 0 first, so it alone fills caches) and check the bad fraction."""
        report = DataReport()
        modality = cls.Modality(self.config.modality)
        data_path = Path(self.job.data_path) if self.job.data_path else None
        if not self.ctx.is_main:
            ddp.barrier(self.ctx)
        if self.job.source_factory:
            splits = import_object(self.job.source_factory)(modality, data_path, cache_dir(), report)
        else:
            splits = modality.build_datasets(data_path, cache_dir(), report)
        if self.ctx.is_main:
            ddp.barrier(self.ctx)
            self.run.write_data_report(report.as_dict())
        report.check(self.tc.bad_data_limit)
        return splits

    def _first_batch(self) -> Tensor:
        """The same ``batch_size`` training samples on every rank, for ``initialize``."""
        order = torch.randperm(len(self.splits.train), generator=torch.Generator().manual_seed(self.job.seed))
        batch = default_collate([self.splits.train[int(i)] for i in order[: self.tc.batch_size]])
        return batch.to(self.ctx.device)

    def _epoch_batches(self) -> Iterator[Tensor]:
        """This rank's batches of the current epoch, from ``batch_in_epoch`` on (resume)."""
        order = epoch_order(len(self.splits.train), self.job.seed, self.epoch, self.ctx.rank, self.ctx.world_size)
        order = order[self.batch_in_epoch * self.rank_batch :]
        loader = DataLoader(
            self.splits.train,
            batch_sampler=BatchSampler(order, self.rank_batch, drop_last=False),
            num_workers=self.tc.num_workers,
            generator=self.loader_generator,
            pin_memory=self.ctx.device.startswith("cuda"),
        )
        for batch in loader:
            if not torch.isfinite(batch).all():
                raise BadDataError(
                    f"a training batch (epoch {self.epoch}, batch {self.batch_in_epoch}) holds NaN or inf; "
                    "the data loader let an invalid sample through"
                )
            yield batch.to(self.ctx.device, non_blocking=True)

    # --- validation, logging, checkpoints ------------------------------------------------------

    @torch.no_grad()
    def _validate(self) -> dict[str, Any] | None:
        """Mean loss, logs and code perplexity over the whole validation split.

        Each rank takes every ``world_size``-th sample (no padding, no duplicates) and
        the sums are all-reduced, so every sample counts exactly once.
        """
        data, ctx = self.splits.validation, self.ctx
        n = min(len(data), self.tc.eval_max_samples or len(data))
        self.last_val_step = self.step
        if n == 0:
            return None
        began = time.monotonic()
        shard = Subset(data, range(ctx.rank, n, ctx.world_size))
        sums: dict[str, Tensor] = {}
        loss_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)
        codes = torch.zeros(NUM_CODES, dtype=torch.long, device=ctx.device)
        self.model.eval()
        devices = [ctx.device] if ctx.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):  # validation must not move training's RNG
            for batch in DataLoader(shard, batch_size=self.tc.eval_batch_size, num_workers=self.tc.num_workers):
                out = self.model(batch.to(ctx.device))
                loss_sum += out.loss.double() * len(batch)
                for key, value in out.logs.items():
                    sums[key] = sums.get(key, 0) + value.double().mean() * len(batch)
                codes += torch.bincount(out.codes.reshape(-1).clamp(0, NUM_CODES - 1), minlength=NUM_CODES)
        self.model.train()
        keys = ddp.broadcast_object(ctx, sorted(sums))
        zero = torch.zeros((), dtype=torch.float64, device=ctx.device)
        totals = torch.stack([loss_sum, *(sums.get(k, zero) for k in keys)])
        ddp.sum_across_ranks(ctx, totals)
        ddp.sum_across_ranks(ctx, codes)
        record = {
            "split": "validation",
            "step": self.step,
            "epoch": self._epoch_progress(),
            "samples": n,
            "loss": float(totals[0]) / n,
            **{key: float(value) / n for key, value in zip(keys, totals[1:])},
            "perplexity": code_perplexity(codes),
            "wall_s": round(self._wall_s(), 3),
        }
        self.last_validation = record
        if self.metrics is not None:
            self.metrics.append(record)
            self.progress.message(
                f"validation at step {self.step}: loss {record['loss']:.4g}  ppl {record['perplexity']:.2f}"
            )
        self.side_s += time.monotonic() - began
        return record

    def _epoch_progress(self) -> float:
        return round(self.epoch + self.batch_in_epoch / self.batches_per_epoch, 4)

    def _log(self, window: Window) -> None:
        """Append one training line to metrics.jsonl (rank 0's shard of the window)."""
        loss = float(window.loss) / window.steps
        if not math.isfinite(loss):
            raise SageError(
                f"training loss became {loss} by step {self.step}; the last good checkpoint is "
                f"{self.store.pointer('last') or 'none'} (try a lower train.lr)"
            )
        record = {
            "split": "train",
            "step": self.step,
            "epoch": self._epoch_progress(),
            "loss": loss,
            **{key: float(value) / window.steps for key, value in window.logs.items()},
            "perplexity": code_perplexity(window.codes),
            "lr": self.optimizer.param_groups[0]["lr"],
            "samples_per_s": window.samples / max(window.age, 1e-9),
            "wall_s": round(self._wall_s(), 3),
        }
        self.last_train = record
        assert self.metrics is not None
        self.metrics.append(record)
        rate = record["samples_per_s"] / (self.rank_batch * self.ctx.world_size)
        eta = (self.total_steps - self.step) / rate if rate > 0 else None
        self.progress.record(record, eta)

    def _checkpoint(self, validation: dict[str, Any] | None = None) -> None:
        """Rank 0 writes a checkpoint of the current step; ``best`` (the run's model) moves to it
        always with ``train.select = "last"``, with ``"validation"`` when validation improved.

        Why last by default: the validation loss includes the compressors' training-only terms
        (code balance, order), which wander from epoch to epoch while the schedule decays; picked
        by it, the default audio run's model was a checkpoint of 14,573 of 19,710 steps, 1 %
        worse on the test split than the last (docs/training.md).
        """
        improved = validation is not None and validation["loss"] < self.best_val_loss
        if improved:
            self.best_val_loss = validation["loss"]  # type: ignore[index]
        by_validation = self.tc.select == "validation"
        if not self.ctx.is_main or (self.last_ckpt_step == self.step and not (improved and by_validation)):
            return
        is_best = improved if by_validation else True
        began = time.monotonic()
        state = {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "samples_seen": self.samples_seen,
            "best_val_loss": self.best_val_loss,
            "last_val_step": self.last_val_step,
            "wall_s": self._wall_s(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_state(self.loader_generator),
        }
        self.store.save(self.step, self.model, state, self.job.metadata, is_best)
        self.last_ckpt_step = self.step
        self.side_s += time.monotonic() - began

    def _resume(self) -> bool:
        """Load the last complete checkpoint, if any: weights, optimizer, position, RNG."""
        state = self.store.load_last(self.model)
        if state is None:
            return False
        self.optimizer.load_state_dict(state["optimizer"])
        restore_rng_state(state["rng"], self.loader_generator)
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        self.samples_seen, self.prior_wall_s = state["samples_seen"], state["wall_s"]
        self.best_val_loss, self.last_val_step = state["best_val_loss"], state["last_val_step"]
        self.last_ckpt_step = self.step
        return True

    def _summary(self, stop_reason: str | None, in_sync: bool, session_samples: int) -> dict[str, Any]:
        completed = self.step >= self.total_steps  # the plan (epochs, or train.max_steps) ran to its end
        train_s = max(time.monotonic() - self.started - self.side_s, 1e-9)
        summary = RunSummary(
            status="finished" if completed else "stopped",
            stop_reason=None if completed else stop_reason,
            steps=self.step,
            total_steps=self.total_steps,
            epochs=self._epoch_progress() if self.batch_in_epoch else self.epoch,
            wall_s=round(self._wall_s(), 3),
            train_samples_per_s=round(session_samples / train_s, 2),
            threads=torch.get_num_threads(),
            samples_seen=self.samples_seen,
            final={"train": self.last_train, "validation": self.last_validation},
            best_validation_loss=self.best_val_loss if math.isfinite(self.best_val_loss) else None,
            checkpoints={"last": self.store.pointer("last"), "best": self.store.pointer("best")},
            parameters=sum(p.numel() for p in self.model.parameters()),
            versions={"torch": torch.__version__, **self.job.versions},
            data_sizes=self.splits.sizes(),
            nproc=self.ctx.world_size,
            ranks_in_sync=in_sync,
            startup_s=round(self.startup_s, 3),
            finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        self.run.write_summary(summary)
        return summary.model_dump(mode="json")
