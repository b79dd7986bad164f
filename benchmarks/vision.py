"""Vision benchmark: the puzzle compressor against the research prototype and the baseline codec.

Trains ``vision_puzzle`` with its defaults through the shared trainer, then the
prototype's architecture (``vision_prototype``) with the same trainer, data and wall-clock
budget (the puzzle model's measured training time), each in its own process so peak
memory is its own. Then, in this one process and on the held-out test split of the
same data, it measures quality (PSNR, SSIM, MSE on [0, 1] at the model resolution),
code use, code-order Spearman (within each image), and encode throughput at batch 64 (the models take turns,
so CPU contention from other work hits both alike). Prints one table; writes JSON.

    python benchmarks/vision.py                      # defaults (~20 min on 2 busy cores)
    python benchmarks/vision.py --epochs 1 --eval-max 200 --out /tmp/vbench   # short budget
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sage_core.analysis.code_stats import CodeIntensitySample  # noqa: E402


def train(compressor_id: str, run_dir: Path, args: list[str]) -> dict[str, Any]:
    """``sage train`` in a child process -> its summary plus the child's peak RSS."""
    command = [sys.executable, "-m", "sage_core.cli", "train", compressor_id, "--out", str(run_dir),
               "--device", "cpu", "--no-evaluate", *args]
    print("$", " ".join(command[2:]), flush=True)
    started = time.monotonic()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"training {compressor_id} failed with exit status {child.returncode}")
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["peak_rss_mb"] = usage.ru_maxrss / 1024
    summary["process_s"] = time.monotonic() - started
    return summary


def code_stats(codes: torch.Tensor) -> dict[str, float]:
    """Usage, entropy (bits/cell) and perplexity over the whole evaluation set."""
    histogram = torch.bincount(codes.reshape(-1), minlength=10).double()
    p = histogram / histogram.sum()
    entropy = float(-(p[p > 0] * p[p > 0].log2()).sum())
    return {"codes_used": int((histogram > 0).sum()), "entropy_bits": entropy, "perplexity": 2.0**entropy}


@torch.no_grad()
def quality(model: Any, x: torch.Tensor, codec: Any, batch: int = 256) -> dict[str, float]:
    """Mean per-image metrics, code statistics and code-order Spearman on ``x`` ``(N, 3, R, R)``."""
    codes, x_hat = [], []
    for start in range(0, len(x), batch):
        c, h = codec(x[start : start + batch])
        codes.append(c)
        x_hat.append(h)
    codes_t, x_hat_t = torch.cat(codes), torch.cat(x_hat)
    metrics = {k: float(v.mean()) for k, v in model.modality.reconstruction_metrics(x, x_hat_t).items()}
    order = CodeIntensitySample(codes_t.numel())
    order.update(codes_t.numpy(), model.modality.cell_intensity(x_hat_t).numpy())
    rho = order.as_dict()
    return {**metrics, **code_stats(codes_t), "spearman": rho["code_order_within"],
            "spearman_all_cells": rho["code_order_spearman"]}


@torch.no_grad()
def encode_throughput(encoders: dict[str, Any], x: torch.Tensor, rounds: int, seconds: float) -> dict[str, float]:
    """Images/s at batch ``len(x)``; the encoders take turns, ``rounds`` times, for fairness."""
    totals = {name: [0, 0.0] for name in encoders}
    for encode in encoders.values():
        encode(x)  # warm-up
    for _ in range(rounds):
        for name, encode in encoders.items():
            began, n = time.perf_counter(), 0
            while time.perf_counter() - began < seconds:
                encode(x)
                n += len(x)
            totals[name][0] += n
            totals[name][1] += time.perf_counter() - began
    return {name: n / s for name, (n, s) in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/benchmark-vision"), help="where runs and results go")
    parser.add_argument("--epochs", type=int, help="epochs for vision_puzzle (short budget: 1); default: its config")
    parser.add_argument("--override", "-o", action="append", default=[], help="extra -o for vision_puzzle")
    parser.add_argument("--eval-max", type=int, default=None, help="evaluate on at most this many test images")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the measurements here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    from sage_core import DataReport, cache_dir
    from sage_core.runs import load_compressor

    puzzle_args = [*(["--epochs", str(args.epochs)] if args.epochs else []), *sum((["-o", o] for o in args.override), [])]
    summaries = {"vision_puzzle": train("vision_puzzle", args.out / "vision_puzzle", puzzle_args)}
    budget_min = summaries["vision_puzzle"]["wall_s"] / 60
    prototype_args = ["--epochs", "1000", "--max-minutes", f"{budget_min:.3f}"]
    summaries["vision_prototype"] = train("vision_prototype", args.out / "vision_prototype", prototype_args)

    models = {name: load_compressor(args.out / name, "best").eval() for name in summaries}
    puzzle = models["vision_puzzle"]
    splits = puzzle.modality.build_datasets(None, cache_dir(), DataReport())
    n = min(len(splits.test), args.eval_max or len(splits.test))
    # evenly spaced, so a subset still covers every held-out photo (the split is ordered by photo)
    picks = np.linspace(0, len(splits.test) - 1, n).round().astype(int)
    x = torch.stack([splits.test[int(i)] for i in picks])
    resolution = puzzle.modality.config.resolution
    print(f"evaluating on {n} held-out test crops ({resolution}x{resolution})", flush=True)

    def codec(model: Any):
        return lambda batch: (codes := model.encode_codes(batch), model.decode_codes(codes))

    rows = {
        "baseline_codec": quality(puzzle, x, puzzle.modality.baseline_codec),
        **{name: quality(model, x, codec(model)) for name, model in models.items()},
    }
    speed = encode_throughput(
        {"baseline_codec": lambda b: puzzle.modality.baseline_codec(b)[0],
         **{name: model.encode_codes for name, model in models.items()}},
        x[:64], rounds=3, seconds=2.0,
    )
    for name, row in rows.items():
        row["encode_images_per_s"] = speed[name]
        summary = summaries.get(name, {})
        row["train_samples_per_s"] = summary.get("train_samples_per_s")
        row["train_wall_s"] = summary.get("wall_s")
        row["train_steps"] = summary.get("steps")
        row["peak_rss_mb"] = summary.get("peak_rss_mb")
        row["parameters"] = summary.get("parameters")

    header = f"{'':17}{'PSNR dB':>8}{'SSIM':>7}{'mse01':>9}{'used':>5}{'H bits':>7}{'rho':>7}{'enc img/s':>10}{'train/s':>9}{'train s':>8}{'RSS MB':>8}"
    print("\n" + header)
    for name, r in rows.items():
        fmt = lambda v, f: format(v, f) if v is not None else "-"  # noqa: E731
        print(f"{name:17}{r['psnr_db']:8.2f}{r['ssim']:7.3f}{r['mse01']:9.5f}{r['codes_used']:5d}{r['entropy_bits']:7.2f}"
              f"{r['spearman']:7.3f}{r['encode_images_per_s']:10.0f}{fmt(r['train_samples_per_s'], '9.1f'):>9}"
              f"{fmt(r['train_wall_s'], '8.0f'):>8}{fmt(r['peak_rss_mb'], '8.0f'):>8}")
    p, b, q = rows["vision_puzzle"], rows["baseline_codec"], rows["vision_prototype"]
    ratios = {
        "psnr_gain_over_baseline_db": p["psnr_db"] - b["psnr_db"],
        "psnr_gain_over_prototype_db": p["psnr_db"] - q["psnr_db"],
        "encode_speedup_over_prototype": p["encode_images_per_s"] / q["encode_images_per_s"],
        "train_speedup_over_prototype": p["train_samples_per_s"] / q["train_samples_per_s"],
    }
    print("\n" + "  ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    result = {"test_images": n, "rows": rows, "ratios": ratios, "load_average": os.getloadavg()}
    (args.out / "vision_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out / 'vision_benchmark.json'} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
