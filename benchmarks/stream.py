"""Streaming benchmark: per-window compute, end-to-end latency, drops and memory of `sage stream`.

Measures, on trained runs (model speed does not depend on training length):

- audio compute per window on one thread: log-mel front end + encode of one 1 s window,
  against the 5 ms target and against the batched `sage encode` path in the same process;
- audio end to end: `sage stream RUN long.wav` replaying in real time at hop 0.25 s, in its
  own process: windows, drops, latency from a window's last sample to its puzzle written
  (the command's own `--stats`), and the process's resident memory growth after warm-up;
- vision compute per 640x480 frame on one thread (prepare + encode), as frames/s against 30,
  and a real-time replay of a 640x480, 30 fps video through `sage stream`;
- identity: streamed puzzles against `sage encode`'s code path for the same windows.

Prints one table of figures, targets and ratios; writes JSON with --out.

    python benchmarks/stream.py --audio-run RUN --vision-run RUN             # 1 minute replays
    python benchmarks/stream.py --audio-run RUN --vision-run RUN --minutes 10
    python benchmarks/stream.py --work /tmp/sbench     # trains the two quick runs first (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SAGE = [sys.executable, "-m", "sage_core.cli"]


def sage(*args: str) -> None:
    print("$ sage", " ".join(args), flush=True)
    subprocess.run([*SAGE, *args], check=True)


def trained_runs(work: Path) -> tuple[Path, Path]:
    """The quick runs the benchmark uses when none are given (step counts from docs/streaming.md)."""
    audio, vision = work / "runs" / "audio_puzzle", work / "runs" / "vision_puzzle"
    if not (audio / "summary.json").is_file():
        sage("train", "audio_puzzle", "--max-steps", "300", "--threads", "1", "--no-evaluate", "--out", str(audio))
    if not (vision / "summary.json").is_file():
        sage("train", "vision_puzzle", "--max-steps", "100", "--threads", "1", "--no-evaluate", "--out", str(vision))
    return audio, vision


def speech_like(seconds: float, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """Chirps, tones and noise bursts changing every 0.7 s: every window is different."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    segment = (t // 0.7).astype(int)
    pitch = 120 + 600 * rng.random(segment.max() + 1)[segment]
    level = 10 ** (-rng.random(segment.max() + 1)[segment] * 2)
    voiced = np.sin(2 * np.pi * pitch * t) + 0.3 * np.sin(2 * np.pi * 3 * pitch * t)
    noise = rng.standard_normal(len(t)) * (segment % 3 == 0)
    return (0.4 * level * (voiced + 0.2 * noise)).astype(np.float32)


def write_video(path: Path, seconds: float, fps: int = 30) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    for i in range(int(seconds * fps)):
        frame = background.copy()
        x = (7 * i) % 560
        frame[120:360, x : x + 80] = (255, 200, 0)
        writer.write(frame)
    writer.release()
    return path


def percentiles(values_ms: list[float]) -> dict[str, float]:
    return {f"p{p}": float(np.percentile(values_ms, p)) for p in (50, 90, 99)}


def audio_compute(run: Path, seconds: float = 60.0) -> dict[str, Any]:
    """Per-window milliseconds (front end, encode, both) on one thread, and the batched path's per window."""
    import torch

    from sage_audio_puzzle.frontend import windows
    from sage_core.runs import load_compressor

    torch.set_num_threads(1)
    model = load_compressor(run)
    audio = torch.from_numpy(speech_like(seconds, seed=1))
    cut = windows(audio, 0.25).numpy()
    for window in cut[:10]:  # warm-up: first calls build the mel filters and pick kernels
        model.encode(model.modality.prepare((window, 16_000)))
    mel, enc, both = [], [], []
    for window in cut:
        t0 = time.perf_counter()
        x = model.modality.prepare((window, 16_000))
        t1 = time.perf_counter()
        model.encode(x)
        t2 = time.perf_counter()
        mel.append(1000 * (t1 - t0))
        enc.append(1000 * (t2 - t1))
        both.append(1000 * (t2 - t0))
    t0 = time.perf_counter()
    from sage_audio_puzzle.frontend import log_mel_db

    model.encode(log_mel_db(torch.from_numpy(cut)))
    batched = 1000 * (time.perf_counter() - t0) / len(cut)
    return {"windows": len(cut), "mel_ms": percentiles(mel), "encode_ms": percentiles(enc),
            "window_ms": percentiles(both), "batched_window_ms": batched}


def vision_compute(run: Path, frames: int = 150) -> dict[str, Any]:
    """Per-frame milliseconds for 640x480 uint8 frames on one thread, and the batch-64 path's per frame."""
    import torch

    from sage_core.runs import load_compressor

    torch.set_num_threads(1)
    model = load_compressor(run)
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(16)]
    for image in images[:5]:
        model.encode(model.modality.prepare(image))
    per_frame = []
    for i in range(frames):
        t0 = time.perf_counter()
        model.encode(model.modality.prepare(images[i % len(images)]))
        per_frame.append(1000 * (time.perf_counter() - t0))
    batch = np.stack([images[i % len(images)] for i in range(64)])
    t0 = time.perf_counter()
    model.encode(torch.cat([model.modality.prepare(image) for image in batch]))
    batched = 1000 * (time.perf_counter() - t0) / 64
    median = float(np.median(per_frame))
    return {"frames": frames, "frame_ms": percentiles(per_frame), "frames_per_s": 1000 / median,
            "batched_frame_ms": batched}


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def stream_process(run: Path, source: Path, seconds: float, work: Path, name: str, *extra: str) -> dict[str, Any]:
    """`sage stream` replaying ``source`` in real time; its --stats plus RSS sampled every 0.5 s."""
    log, stats = work / f"{name}.jsonl", work / f"{name}-stats.json"
    for path in (log, stats):
        path.unlink(missing_ok=True)
    command = [*SAGE, "stream", str(run), str(source), "--out", str(log), "--stats", str(stats), *extra]
    print("$ sage", " ".join(command[3:]), flush=True)
    started = time.monotonic()
    child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, float]] = []
    first_puzzle: float | None = None
    last_puzzle, size = 0.0, 0
    while child.poll() is None:
        now = time.monotonic() - started
        value = rss_mb(child.pid)
        if value is not None:
            samples.append((now, value))
        grown = log.stat().st_size if log.exists() else 0
        if grown != size:
            size, last_puzzle = grown, now
            if first_puzzle is None and log.read_bytes().count(b"\n") >= 2:
                first_puzzle = now
        time.sleep(0.5)
    stderr = child.stderr.read() if child.stderr else ""
    if child.returncode:
        raise SystemExit(f"sage stream failed ({child.returncode}):\n{stderr}")
    result = json.loads(stats.read_text())["sources"][0]
    # While streaming: from 5 s after the first puzzle (model loaded, buffers allocated) to the
    # last one; the summary and interpreter shutdown after it are not the stream's growth.
    warm_at = (first_puzzle or 0.0) + 5.0
    warm = [rss for at, rss in samples if warm_at <= at <= last_puzzle]
    result["rss_warm_mb"] = warm[0] if warm else None
    result["rss_end_mb"] = max(warm) if warm else None
    result["rss_growth_mb"] = (max(warm) - warm[0]) if warm else None
    result["replayed_s"] = seconds
    return result


def identity(audio_run: Path, vision_run: Path, work: Path) -> dict[str, bool]:
    """Streamed (fast replay) against the file path's puzzles for the same windows."""
    import soundfile
    from PIL import Image

    from sage_core.runs import load_compressor
    from sage_core.streaming import stream

    talk = work / "identity.wav"
    soundfile.write(talk, speech_like(20.3, seed=3), 16_000, subtype="PCM_16")
    model = load_compressor(audio_run)
    hop = model.config.modality.window_hop_seconds
    streamed = np.concatenate([p.codes for p in stream(audio_run, str(talk), hop=hop, speed=50, queue_size=100_000)])
    audio_same = np.array_equal(streamed, model.encode(model.modality.read_file(talk)).codes)

    folder = work / "identity-frames"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(4)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(folder / f"f{i}.png")
    vision = load_compressor(vision_run)
    streamed_v = np.concatenate([p.codes for p in stream(vision_run, str(folder), speed=50, queue_size=100_000)])
    files = sorted(folder.iterdir())
    vision_same = np.array_equal(streamed_v, np.concatenate([vision.encode(vision.modality.read_file(f)).codes for f in files]))
    return {"audio": bool(audio_same), "vision": bool(vision_same)}


def table(rows: list[tuple[str, str, str, str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio-run", type=Path, default=None, help="trained audio_puzzle run (default: train one)")
    parser.add_argument("--vision-run", type=Path, default=None, help="trained vision_puzzle run (default: train one)")
    parser.add_argument("--minutes", type=float, default=1.0, help="length of the real-time audio replay")
    parser.add_argument("--video-seconds", type=float, default=20.0, help="length of the real-time video replay")
    parser.add_argument("--work", type=Path, default=None, help="folder for runs, files and logs (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    work = args.work or Path(tempfile.mkdtemp(prefix="sage-stream-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    audio_run, vision_run = args.audio_run, args.vision_run
    if audio_run is None or vision_run is None:
        trained_audio, trained_vision = trained_runs(work)
        audio_run, vision_run = audio_run or trained_audio, vision_run or trained_vision
    load_before = os.getloadavg()[0]

    import soundfile

    print("audio compute per window ...", flush=True)
    audio = audio_compute(audio_run)
    print("vision compute per frame ...", flush=True)
    vision = vision_compute(vision_run)
    print("identity with the file path ...", flush=True)
    same = identity(audio_run, vision_run, work)

    seconds = 60.0 * args.minutes
    long_wav = work / "long.wav"
    soundfile.write(long_wav, speech_like(seconds, seed=5), 16_000, subtype="PCM_16")
    print(f"audio: {seconds:.0f} s real-time replay ...", flush=True)
    audio_stream = stream_process(audio_run, long_wav, seconds, work, "audio", "--hop", "0.25")
    video = write_video(work / "walk.avi", args.video_seconds)
    print(f"vision: {args.video_seconds:.0f} s real-time replay of 640x480 at 30 fps ...", flush=True)
    video_stream = stream_process(vision_run, video, args.video_seconds, work, "video")
    load_after = os.getloadavg()[0]

    a_ms, v_fps = audio["window_ms"]["p50"], vision["frames_per_s"]
    p99 = audio_stream["latency_ms"]["p99"]
    rows = [
        ("figure", "measured", "target", "measured / target"),
        ("audio: mel + encode per window, 1 thread (median)", f"{a_ms:.2f} ms", "<= 5 ms", f"{a_ms / 5:.2f}"),
        ("  front end (log-mel) / encode (median)", f"{audio['mel_ms']['p50']:.2f} / {audio['encode_ms']['p50']:.2f} ms",
         "", ""),
        ("  p99 per window", f"{audio['window_ms']['p99']:.2f} ms", "", ""),
        ("  vs batched `sage encode` path, per window", f"{audio['batched_window_ms']:.2f} ms", "(reference)",
         f"{a_ms / audio['batched_window_ms']:.2f}x"),
        (f"audio: latency p50 / p90 / p99, hop 0.25 s, {seconds:.0f} s real time",
         "{p50:.1f} / {p90:.1f} / {p99:.1f} ms".format(**audio_stream["latency_ms"]), "p99 <= 50 ms", f"{p99 / 50:.2f}"),
        ("audio: windows / dropped", f"{audio_stream['windows']} / {audio_stream['dropped']}", "0 dropped", ""),
        ("audio: resident memory growth while streaming",
         f"{audio_stream['rss_growth_mb']:.1f} MB ({audio_stream['rss_warm_mb']:.0f} -> {audio_stream['rss_end_mb']:.0f})",
         "< 10 MB", f"{audio_stream['rss_growth_mb'] / 10:.2f}"),
        ("vision: prepare + encode per 640x480 frame, 1 thread", f"{v_fps:.1f} frames/s "
         f"({vision['frame_ms']['p50']:.1f} ms)", ">= 30 frames/s", f"{v_fps / 30:.2f}"),
        ("  vs batch-64 path, per frame", f"{vision['batched_frame_ms']:.1f} ms", "(reference)",
         f"{vision['frame_ms']['p50'] / vision['batched_frame_ms']:.2f}x"),
        (f"vision: 30 fps video, {args.video_seconds:.0f} s real time: frames / dropped",
         f"{video_stream['windows']} / {video_stream['dropped']}", "0 dropped", ""),
        ("  latency p50 / p99", "{p50:.1f} / {p99:.1f} ms".format(**video_stream["latency_ms"]), "", ""),
        ("streamed == `sage encode` (audio, vision)", f"{same['audio']}, {same['vision']}", "True, True", ""),
    ]
    print(f"\nload average {load_before:.1f} before, {load_after:.1f} after (2 cores shared; figures are wall clock)")
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps({"audio_compute": audio, "vision_compute": vision, "identity": same,
                                        "audio_stream": audio_stream, "video_stream": video_stream,
                                        "load_average": [load_before, load_after]}, indent=2))


if __name__ == "__main__":
    main()
