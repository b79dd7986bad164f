"""Audio: this plugin's model vs the prototype's architecture vs the non-learned baseline.

Both models are trained by the shared trainer (``train``) on the same embedded data
(held-out voices for evaluation), each with its own default recipe (ours: batch 16, AdamW
8e-3, linear decay fitted to the time budget; the prototype's: batch 64, 1e-3 constant, 5 epochs)
capped by the same wall-clock budget, one after the other in their own processes (so each
one's peak memory is its own), with the same thread count.
Quality and code statistics come from the analyzer's ``evaluate_compressor`` on the test
split; latencies are medians on one thread. Training speed is reported twice: each run's own
samples/s, and steps of both models interleaved in one process (the runs happen minutes
apart, so on a shared machine they see different loads). Compare ratios from one run, not
absolute figures across runs.

    python benchmarks/audio.py --real DIR                # 10 min per model, 120 voices, real recordings
    python benchmarks/audio.py --minutes 1 --voices 16   # a quick look (~5 min in all)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = {"audio_puzzle": "audio_puzzle", "prototype": "audio_prototype"}


def train_one(compressor_id: str, out: Path, minutes: float, voices: int) -> None:
    """Child process: train one model, then record its own peak RSS next to the run."""
    from sage_core.training import TrainingRequest, train

    train(TrainingRequest(compressor_id, overrides=(f"modality.voices={voices}",), out=out, max_minutes=minutes,
                          progress="log"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (out / "peak_rss.json").write_text(json.dumps({"peak_rss_mb": peak_mb}))


def median_ms(action, repeats: int) -> float:
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def speeds(model, x, waveform) -> dict[str, float]:
    """One thread: model-only encode of one clip, the mel front end alone, batch-64 throughput."""
    import torch

    from sage_audio_puzzle.frontend import LogMelFrontEnd

    front_end = LogMelFrontEnd()
    batch = x[torch.arange(64) % len(x)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            encode_ms = median_ms(lambda: model.encode_codes(x[:1]), 200)
            front_ms = median_ms(lambda: front_end(waveform), 200)
            batch_ms = median_ms(lambda: model.encode_codes(batch), 10)
    finally:
        torch.set_num_threads(threads)
    return {"encode_ms": encode_ms, "front_end_ms": front_ms, "throughput": 64_000.0 / batch_ms}


def interleaved_step_rates(models: dict, x, batch_size: dict[str, int], rounds: int = 12) -> dict[str, float]:
    """Training samples/s of fresh copies of ``models``, their steps taking turns on one thread.

    The runs' own samples/s come from trainings at different times, so on a shared machine
    they see different loads; here every model's step is timed right after the others'
    (forward, backward, the trainer's AdamW at its own batch size), and the median taken.
    """
    import copy

    import torch

    from sage_core.training.trainer import adamw

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    steppers = {}
    for name, model in models.items():
        model = copy.deepcopy(model).train()
        optimizer = adamw(model, lr=1e-4, weight_decay=0.0)
        batch = x[torch.arange(batch_size[name]) % len(x)]

        def step(model=model, optimizer=optimizer, batch=batch) -> None:
            optimizer.zero_grad(set_to_none=True)
            model(batch).loss.backward()
            optimizer.step()

        steppers[name] = step
    times: dict[str, list[float]] = {name: [] for name in models}
    try:
        for round_ in range(rounds + 2):
            for name, step in steppers.items():
                start = time.perf_counter()
                step()
                if round_ >= 2:  # the first two rounds warm up allocators and kernels
                    times[name].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return {name: batch_size[name] / statistics.median(t) for name, t in times.items()}


def real_speech(root: Path):  # -> TensorListDataset of (W, 1, 128, 32) windows
    """Every speech recording under ``root`` (benchmarks/install_real_recordings.sh), windowed as
    `sage encode` and `sage evaluate --data` window a user's files."""
    import torch

    from sage_core import TensorListDataset

    from sage_audio_puzzle.modality import AudioModality
    from sage_audio_puzzle.real_recordings import list_real_recordings

    modality = AudioModality()
    recordings = list_real_recordings(root, speech_only=True)
    windows = [modality.read_file(r.path) for r in recordings]
    names = [f"{r.source}/{r.path.name}#{i}" for r, w in zip(recordings, windows) for i in range(len(w))]
    return TensorListDataset(torch.cat(windows), names)


def evaluate(runs: dict[str, Path], voices: int, real_root: Path | None) -> list[dict]:
    from sage_core import DataReport, cache_dir
    from sage_core.analysis.evaluate import evaluate_compressor
    from sage_core.runs import load_compressor

    from sage_audio_puzzle.config import AudioConfig
    from sage_audio_puzzle.embedded_speech import as_float, load_or_synthesize
    from sage_audio_puzzle.modality import AudioModality

    config = AudioConfig(voices=voices)
    test = AudioModality(config).build_datasets(None, cache_dir(), DataReport()).test
    waveform = as_float(load_or_synthesize(cache_dir(), voices, phrases=config.phrases).audio[:1])
    real = real_speech(real_root) if real_root is not None else None
    rows, baseline, trained_models, batch_sizes = [], None, {}, {}
    for name, run in runs.items():
        trained, untrained = load_compressor(run, "best"), load_compressor(run, "untrained")
        trained_models[name], batch_sizes[name] = trained, trained.config.train.batch_size
        result, _ = evaluate_compressor(trained, untrained, test)
        summary = json.loads((run / "summary.json").read_text())
        peak = json.loads((run / "peak_rss.json").read_text())["peak_rss_mb"]
        rows.append({"model": name, **_quality(result["models"]["trained"]), **speeds(trained, test.samples, waveform),
                     "train_sps": summary["train_samples_per_s"], "steps": summary["steps"], "peak_rss_mb": peak,
                     "params": sum(p.numel() for p in trained.parameters())})
        baseline = baseline or {"model": "baseline codec", **_quality(result["models"]["baseline"])}
        if real is not None:  # model input and end to end (Griffin-Lim to WAV and back), as `sage evaluate --data`
            on_real, _ = evaluate_compressor(trained, untrained, real, end_to_end=True)
            models = on_real["models"]
            rows[-1] |= {"real_db": models["trained"]["recon"]["logmel_db_rmse"],
                         "real_e2e_db": models["trained"]["end_to_end"]["logmel_db_rmse"]}
            baseline |= {"real_db": models["baseline"]["recon"]["logmel_db_rmse"],
                         "real_e2e_db": models["baseline"]["end_to_end"]["logmel_db_rmse"]}
    rates = interleaved_step_rates(trained_models, test.samples, batch_sizes)
    for row in rows:
        row["step_sps"] = rates[row["model"]]
    return rows + [baseline]


def _quality(stats: dict) -> dict:
    return {"db_rmse": stats["recon"]["logmel_db_rmse"], "mse01": stats["recon"]["mse01"],
            "codes_used": stats["codes_used"], "entropy": stats["entropy_bits"],
            "spearman": stats["code_order_spearman"]}


def table(rows: list[dict]) -> str:
    def cell(row: dict, key: str, fmt: str) -> str:
        value = row.get(key)
        return "-" if value is None else format(value, fmt)

    columns = [("model", "model", "s"), ("dB RMSE", "db_rmse", ".2f"), ("real dB", "real_db", ".2f"),
               ("real dB end to end", "real_e2e_db", ".2f"), ("mse01", "mse01", ".5f"),
               ("codes", "codes_used", "d"), ("H bits", "entropy", ".2f"), ("Spearman", "spearman", ".3f"),
               ("enc ms (1 thr)", "encode_ms", ".3f"), ("mel ms", "front_end_ms", ".3f"),
               ("enc/s @64", "throughput", ".0f"), ("train samples/s", "train_sps", ".0f"),
               ("step samples/s, interleaved", "step_sps", ".0f"),
               ("steps", "steps", "d"), ("peak RSS MB", "peak_rss_mb", ".0f"), ("params", "params", "d")]
    lines = ["| " + " | ".join(c[0] for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row, key, fmt) for _, key, fmt in columns) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget per model")
    parser.add_argument("--voices", type=int, default=120, help="eSpeak voices of the embedded data")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while training")
    parser.add_argument("--out", type=Path, help="keep the run directories here")
    parser.add_argument("--real", type=Path, default=os.environ.get("SAGE_REAL_RECORDINGS"),
                        help="real recordings (benchmarks/install_real_recordings.sh DIR) [default: $SAGE_REAL_RECORDINGS]")
    parser.add_argument("--train-one", nargs=2, metavar=("COMPRESSOR", "RUN_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train_one:
        train_one(args.train_one[0], Path(args.train_one[1]), args.minutes, args.voices)
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="sage-audio-bench-"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    runs = {}
    for name, compressor_id in MODELS.items():
        runs[name] = out / name
        print(f"training {name} for {args.minutes} min ...", flush=True)
        subprocess.run([sys.executable, __file__, "--minutes", str(args.minutes), "--voices", str(args.voices),
                        "--train-one", compressor_id, str(runs[name])], env=env, check=True, stdout=subprocess.DEVNULL)
    rows = evaluate(runs, args.voices, Path(args.real) if args.real else None)
    print(f"\nheld-out voices of the embedded data ({args.voices} voices), {args.minutes} min training each, "
          f"{args.threads} training thread(s); runs in {out}\n")
    print(table(rows))
    ours, proto, base = rows
    print(f"\ndB RMSE ratio vs prototype {ours['db_rmse'] / proto['db_rmse']:.2f}, vs baseline "
          f"{ours['db_rmse'] / base['db_rmse']:.2f}; training speed {ours['train_sps'] / proto['train_sps']:.1f}x the "
          f"prototype's in the runs, {ours['step_sps'] / proto['step_sps']:.1f}x with steps interleaved; "
          f"encode {ours['encode_ms'] / ours['front_end_ms']:.2f}x the mel front end")
    if "real_db" in ours:
        print(f"real recordings (speech of {args.real}): dB RMSE {ours['real_db'] / base['real_db']:.2f}x the "
              f"baseline codec's on the model input, {ours['real_e2e_db'] / base['real_e2e_db']:.2f}x end to end "
              f"(the prototype: {proto['real_db'] / base['real_db']:.2f}x, {proto['real_e2e_db'] / base['real_e2e_db']:.2f}x)")
    (out / "benchmark.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
