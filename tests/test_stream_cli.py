"""`sage stream` and `sage sensors` as a user runs them: real trained runs, real files, real pipes and signals.

Tiny runs are trained once per session. Replays run faster than real time (--speed) with a
queue long enough that no window is dropped on a busy machine; no test asserts a timing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from cli_runner import SAGE, run_sage
from PIL import Image

from sage_core.puzzle import Puzzle
from sage_core.puzzle_log import load_puzzles

AUDIO_TINY = ("modality.voices=4", "encoder_filters=2", "encoder_hidden=4", "decoder_channels=4", "decoder_blocks=1",
              "decoder_basis=2", "train.batch_size=4", "modality.window_hop_seconds=0.25")
VISION_TINY = ("channels=8", "decoder_blocks=1", "modality.train_crops=16", "modality.eval_crops=4",
               "train.batch_size=8")
NO_DROPS = ("--queue", "10000")


def overrides(pairs: tuple[str, ...]) -> list[str]:
    return [arg for pair in pairs for arg in ("-o", pair)]


@pytest.fixture(scope="session")
def env(tmp_path_factory) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SAGE_")}
    return {**environ, "SAGE_CACHE_DIR": str(tmp_path_factory.mktemp("cache")), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def audio_run(env, tmp_path_factory) -> str:
    """A tiny audio run whose `sage encode` windows hop 0.25 s, like `sage stream`'s default."""
    run = tmp_path_factory.mktemp("runs") / "audio"
    run_sage("train", "audio_puzzle", "--max-steps", "2", "--no-evaluate", "--threads", "1", *overrides(AUDIO_TINY),
             "--out", str(run), env=env)
    return str(run)


@pytest.fixture(scope="session")
def vision_run(env, tmp_path_factory) -> str:
    run = tmp_path_factory.mktemp("runs") / "vision"
    run_sage("train", "vision_puzzle", "--max-steps", "2", "--no-evaluate", "--threads", "1", *overrides(VISION_TINY),
             "--out", str(run), env=env)
    return str(run)


@pytest.fixture(scope="session")
def without_device_libraries(env, tmp_path_factory) -> dict[str, str]:
    """An environment where `import sounddevice` and `import cv2` fail as if they were not installed."""
    folder = tmp_path_factory.mktemp("no-device-libraries")
    for name in ("sounddevice", "cv2"):
        (folder / f"{name}.py").write_text(f"raise ModuleNotFoundError(\"No module named '{name}'\", name='{name}')\n")
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH", "")]))}


def speech_like(seconds: float, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """A chirp with noise: every window differs, so a wrong window shows in the codes."""
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * np.sin(2 * np.pi * (150 + 400 * t) * t) + 0.05 * noise).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, rate: int = 16_000) -> Path:
    soundfile.write(path, samples, rate, subtype="PCM_16")
    return path


def encoded(run: str, path: Path) -> Puzzle:
    """What `sage encode RUN PATH` gives (its code path, in this process; one test runs the command itself)."""
    from sage_core.runs import load_compressor

    model = load_compressor(run)
    x = model.modality.read_file(path)
    return model.encode(x, tuple(f"{path}#{i}" for i in range(len(x))))


def records(log: Path) -> int:
    """Complete puzzle lines in a log (the header excluded)."""
    if not log.exists():
        return 0
    return max(0, log.read_bytes().count(b"\n") - 1)


def start_stream(*args: str, env, **popen) -> subprocess.Popen:
    return subprocess.Popen([*SAGE, "stream", *args], env=dict(env), **{"text": True, **popen})


def wait_for_records(log: Path, count: int, process: subprocess.Popen[str], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while records(log) < count:
        assert process.poll() is None, f"stream ended early: {process.communicate()}"
        assert time.monotonic() < deadline, f"{log} never reached {count} puzzles"
        time.sleep(0.05)


def test_a_replayed_file_gives_the_puzzles_of_sage_encode(audio_run, env, tmp_path) -> None:
    talk = write_wav(tmp_path / "talk.wav", speech_like(3.3))  # 11 windows at hop 0.25, the last zero-padded
    log = tmp_path / "talk.jsonl"
    result = run_sage("stream", audio_run, str(talk), "--speed", "20", "--out", str(log), *NO_DROPS, env=env)
    assert f"stream: {talk}: 11 window(s), 11 encoded, 0 dropped; latency p50" in result.stderr
    streamed = load_puzzles(log)
    run_sage("encode", audio_run, str(talk), "--out", str(tmp_path / "talk.npz"), env=env)
    reference = Puzzle.load(tmp_path / "talk.npz")
    assert np.array_equal(streamed.codes, reference.codes)
    assert streamed.meta.sources == reference.meta.sources == tuple(f"{talk}#{i}" for i in range(11))
    assert streamed.meta.clock == "source"
    starts = [start for start, _ in streamed.meta.times]
    assert starts == pytest.approx([0.25 * i for i in range(11)])
    assert all(end - start == pytest.approx(1.0) for start, end in streamed.meta.times)
    assert (streamed.meta.compressor_id, streamed.meta.compressor_version) == ("audio_puzzle", "2")


def test_a_log_streamed_at_a_shorter_hop_decodes_to_the_length_of_the_signal(audio_run, env, tmp_path) -> None:
    """Windows every 0.125 s overlap; the model joins its windows every 0.25 s: decode keeps every other one."""
    talk = write_wav(tmp_path / "talk.wav", speech_like(3.3))
    log = tmp_path / "talk.jsonl"
    run_sage("stream", audio_run, str(talk), "--hop", "0.125", "--speed", "20", "--out", str(log), *NO_DROPS, env=env)
    starts = [start for start, _ in load_puzzles(log).meta.times]
    assert starts == pytest.approx([0.125 * i for i in range(20)])  # the last one, from 2.375 s, covers the end
    result = run_sage("decode", audio_run, str(log), "--out", str(tmp_path / "talk-decoded.wav"), env=env)
    assert "10 of 20 windows joined: they overlap in time" in result.stderr
    decoded, rate = soundfile.read(tmp_path / "talk-decoded.wav")
    # windows from 0, 0.25 ... 2.25 s, each contributing one hop and the last in full: 3.25 of the 3.3 s
    assert rate == 16_000 and len(decoded) == int((9 * 0.25 + 1) * rate)


@pytest.mark.slow
def test_raw_pcm_through_a_pipe_is_encoded_like_the_same_samples_in_a_file(audio_run, env, tmp_path) -> None:
    stereo = np.stack([speech_like(2.6, seed=1), speech_like(2.6, seed=2)], axis=1)
    pcm = np.round(stereo * 32767).astype("<i2")
    wav = write_wav(tmp_path / "same.wav", pcm.astype(np.float32) / 32768.0)
    log = tmp_path / "stdin.jsonl"
    process = start_stream(audio_run, "-", "--rate", "16000", "--channels", "2", "--out", str(log), *NO_DROPS,
                           env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    assert process.stdin is not None and process.stderr is not None
    started = process.stderr.readline().decode()
    assert started.startswith("stream: stdin on the unix clock"), started
    before = time.time()
    raw = pcm.tobytes()
    for offset in range(0, len(raw), 6400):  # 100 ms of audio every 100 ms, as `arecord` writes into a pipe
        process.stdin.write(raw[offset : offset + 6400])
        process.stdin.flush()
        time.sleep(0.1)
    process.stdin.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=120)
    assert process.returncode == 0, stderr
    assert "stream: stdin: 8 window(s), 8 encoded, 0 dropped" in stderr  # 2.6 s: 1 + ceil(1.6 / 0.25)
    streamed = load_puzzles(log)
    assert np.array_equal(streamed.codes, encoded(audio_run, wav).codes)
    assert streamed.meta.clock == "unix" and streamed.meta.sources[0] == "stdin#0"
    starts = np.array([start for start, _ in streamed.meta.times])
    assert before - 1 < starts[0] < time.time()
    assert np.all(np.diff(starts) > 0.15) and np.all(np.diff(starts) < 0.35)  # the hop, on the system clock


@pytest.mark.slow
def test_ctrl_c_ends_the_stream_with_a_summary_and_every_file_loads(audio_run, env, tmp_path) -> None:
    talk = write_wav(tmp_path / "long.wav", speech_like(60.0, seed=3))
    out = tmp_path / "long.npz"
    process = start_stream(audio_run, str(talk), "--speed", "4", "--format", "npz", "--out", str(out), *NO_DROPS,
                           env=env, stderr=subprocess.PIPE)
    wait_for_records(out.with_suffix(".jsonl"), 3, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and f"wrote {out}" in stderr
    summary = next(line for line in stderr.splitlines() if line.startswith(f"stream: {talk}:"))
    encoded_count = int(summary.split(" encoded")[0].rsplit(" ", 1)[1])
    saved = Puzzle.load(out)
    logged = load_puzzles(out.with_suffix(".jsonl"))
    assert len(saved) == len(logged) == encoded_count >= 3
    assert np.array_equal(saved.codes, logged.codes)
    assert saved.meta.times == logged.meta.times and saved.meta.sources == logged.meta.sources
    reference = encoded(audio_run, talk)
    assert np.array_equal(saved.codes, reference.codes[: len(saved)])  # nothing reordered, no window skipped


@pytest.mark.slow
def test_a_killed_stream_loses_at_most_the_window_it_was_writing(audio_run, env, tmp_path) -> None:
    talk = write_wav(tmp_path / "long.wav", speech_like(60.0, seed=4))
    log = tmp_path / "killed.jsonl"
    process = start_stream(audio_run, str(talk), "--speed", "4", "--out", str(log), *NO_DROPS, env=env,
                           stderr=subprocess.DEVNULL)
    wait_for_records(log, 4, process)
    written_before_kill = records(log)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    survived = load_puzzles(log, report=lambda message: None)
    assert len(survived) >= written_before_kill
    reference = encoded(audio_run, talk)
    indices = [int(source.rsplit("#", 1)[1]) for source in survived.meta.sources]
    assert indices == list(range(len(survived)))
    assert np.array_equal(survived.codes, reference.codes[: len(survived)])


@pytest.mark.parametrize("source", ["mic", "mic:3"])
def test_no_microphone_is_one_line_and_no_output(audio_run, env, tmp_path, source) -> None:
    out = tmp_path / "never.jsonl"
    result = run_sage("stream", audio_run, source, "--out", str(out), env=env, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    known = ("no input device found (PortAudio sees none)", "PortAudio library is not installed",
             "sounddevice package is not installed")
    assert lines[0].startswith("sage: error: microphone: ") and any(k in lines[0] for k in known), lines[0]
    assert not out.exists()


def test_a_missing_device_library_is_one_line_naming_the_extra(audio_run, vision_run, without_device_libraries,
                                                               tmp_path) -> None:
    for run, source, expected in (
        (audio_run, "mic", "microphone: the sounddevice package is not installed; pip install 'sage-audio-puzzle[mic]'"),
        (vision_run, "camera",
         "camera: the opencv-python-headless package is not installed; pip install 'sage-vision-puzzle[camera]'"),
    ):
        result = run_sage("stream", run, source, env=without_device_libraries, check=False)
        assert result.returncode != 0
        assert result.stderr.strip() == f"sage: error: {expected}"


def test_no_camera_is_one_line(vision_run, env) -> None:
    result = run_sage("stream", vision_run, "camera", env=env, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sage: error: camera: "), result.stderr


def test_sage_sensors_lists_each_sensor_and_why_it_cannot_work(without_device_libraries, env) -> None:
    rows = {row["name"]: row for row in json.loads(run_sage("sensors", "--json", env=without_device_libraries).stdout)}
    assert {"mic", "audio_file", "pcm_stdin", "camera", "video_file", "image_folder"} <= set(rows)
    assert rows["mic"]["modality"] == "audio" and rows["mic"]["plugin"] == "sage-audio-puzzle"
    assert rows["camera"]["modality"] == "vision" and rows["camera"]["plugin"] == "sage-vision-puzzle"
    assert rows["mic"]["available"] is False and "pip install 'sage-audio-puzzle[mic]'" in rows["mic"]["problem"]
    assert rows["video_file"]["available"] is False and "[camera]" in rows["video_file"]["problem"]
    for name in ("audio_file", "pcm_stdin", "image_folder"):
        assert rows[name]["available"] is True and rows[name]["problem"] is None
    assert rows["audio_file"]["opens"] == "file" and rows["pcm_stdin"]["opens"] == "stdin"
    table = run_sage("sensors", env=env).stdout
    for name in rows:
        assert name in table


def test_video_and_image_folder_replays(vision_run, env, tmp_path) -> None:
    import cv2

    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20, (640, 480))
    for i in range(12):
        frame = np.zeros((480, 640, 3), np.uint8)
        frame[:, :, 1] = np.linspace(0, 255, 640, dtype=np.uint8)[None]
        frame[100:200, 40 * i : 40 * i + 60] = 255
        writer.write(frame)
    writer.release()
    log = tmp_path / "walk.jsonl"
    run_sage("stream", vision_run, str(video), "--speed", "10", "--every", "3", "--out", str(log), *NO_DROPS, env=env)
    frames = load_puzzles(log)
    assert frames.meta.sources == tuple(f"{video}#{i}" for i in (0, 3, 6, 9))
    assert [start for start, _ in frames.meta.times] == pytest.approx([0.0, 0.15, 0.3, 0.45])

    folder = tmp_path / "shots"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(folder / f"shot{i}.png")
    text = run_sage("stream", vision_run, str(folder), "--speed", "20", *NO_DROPS, env=env).stdout
    blocks = [block.splitlines() for block in text.strip().split("\n\n")]
    assert [block[0] for block in blocks] == [f"# {folder}#{i} {0.1 * i:.3f}-{0.1 * (i + 1):.3f}" for i in range(3)]
    reference = np.concatenate([encoded(vision_run, path).codes for path in sorted(folder.iterdir())])
    streamed = np.array([[[int(d) for d in row] for row in block[1:]] for block in blocks], dtype=np.uint8)
    assert np.array_equal(streamed, reference)


def test_audio_and_vision_on_one_clock_pair_by_time(audio_run, vision_run, env, tmp_path) -> None:
    talk = write_wav(tmp_path / "talk.wav", speech_like(3.0, seed=6))
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(6)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(folder / f"f{i:02d}.png")
    session = tmp_path / "session"
    result = run_sage("stream", audio_run, str(talk), "--with", vision_run, str(folder), "--frame-rate", "2",
                      "--speed", "10", "--out", str(session), *NO_DROPS, env=env)
    assert "on the unix clock" in result.stderr
    audio, vision = load_puzzles(session / "talk.jsonl"), load_puzzles(session / "frames.jsonl")
    assert audio.meta.clock == vision.meta.clock == "unix"
    assert audio.meta.times[0][0] == vision.meta.times[0][0] > 1e9  # both replays start at the stream's start
    exported = run_sage("export", str(session / "talk.jsonl"), str(session / "frames.jsonl"), "--task", "pairs",
                        "--examples-per-task", "2", "--eval-fraction", "0", "--out", str(tmp_path / "arc"), env=env)
    assert "example pair(s)" in exported.stdout and " 0 example pair(s)" not in exported.stdout


def test_the_python_api_yields_puzzles_and_stops_capture_when_closed(audio_run, tmp_path) -> None:
    import asyncio
    import threading

    from sage_core.streaming import astream, stream

    talk = write_wav(tmp_path / "talk.wav", speech_like(2.5, seed=7))
    puzzles = list(stream(audio_run, str(talk), hop=0.5, speed=50, queue_size=1000))
    assert len(puzzles) == 4  # 2.5 s at hop 0.5: 1 + ceil(1.5 / 0.5)
    assert all(len(p) == 1 and p.meta.clock == "source" for p in puzzles)
    assert [p.meta.times[0] for p in puzzles] == [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0), (1.5, 2.5)]

    async def collect() -> list:
        return [p async for p in astream(audio_run, str(talk), hop=0.5, speed=50, queue_size=1000)]

    assert [p.codes.tobytes() for p in asyncio.run(collect())] == [p.codes.tobytes() for p in puzzles]

    long = write_wav(tmp_path / "long.wav", speech_like(30.0, seed=8))
    generator = stream(audio_run, str(long), speed=5)
    first = next(generator)
    generator.close()  # stops capture long before the file ends
    assert first.meta.sources == (f"{long}#0",)
    assert not any(t.name.startswith("sage-capture") and t.is_alive() for t in threading.enumerate())
