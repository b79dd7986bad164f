"""The stream engine with real sensors written against the Sensor contract and a real compressor.

No timing is asserted: where a test needs the encoder to fall behind, it holds the
consumer until the source has finished, so drops are exact.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from sage_core.errors import SageError
from sage_core.streaming import (
    AudioBlock,
    FrameWindower,
    SampleWindower,
    Sensor,
    SensorOptions,
    StreamSession,
    VideoFrame,
    Window,
)
from sage_core.streaming.engine import StreamSource

RATE = 900  # toy "audio": 900 samples a second, so a 1 s window is one 30x30 field


class Frames(Sensor):
    """Emits the given frames as fast as it can, then ends (a source faster than any encoder)."""

    modality = "toy"
    live = False

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__(SensorOptions())
        self.frames = frames

    def run(self, emit, stop: threading.Event) -> None:
        for number, frame in enumerate(self.frames):
            if stop.is_set():
                return
            emit(VideoFrame(frame, time=number * 0.1, duration=0.1))


class Samples(Sensor):
    """Emits ``signal`` in blocks stamped by sample count; ``forever`` repeats until stopped."""

    modality = "toy"
    live = False

    def __init__(self, signal: np.ndarray, block: int, forever: bool = False, fail_after: int | None = None) -> None:
        super().__init__(SensorOptions())
        self.signal, self.block, self.forever, self.fail_after = signal, block, forever, fail_after

    def run(self, emit, stop: threading.Event) -> None:
        position = 0
        blocks = 0
        while not stop.is_set():
            if position >= len(self.signal):
                if not self.forever:
                    return
                stop.wait(0.001)
            chunk = self.signal[position % len(self.signal) : position % len(self.signal) + self.block]
            emit(AudioBlock(chunk, RATE, position / RATE))
            position += len(chunk)
            blocks += 1
            if self.fail_after is not None and blocks == self.fail_after:
                raise SageError("toy sensor: unplugged")


class FieldWindows:
    """A sample windower for the toy compressor: each 900-sample window becomes a (30, 30) field."""

    def __init__(self, hop: int) -> None:
        self.inner = SampleWindower(RATE, 900, hop)

    def _fields(self, windows: list[Window]) -> list[Window]:
        return [Window(w.data[0].reshape(30, 30), w.start, w.end, w.index, w.ready) for w in windows]

    def push(self, block: AudioBlock) -> list[Window]:
        return self._fields(self.inner.push_samples(block.samples, block.time))

    def flush(self) -> list[Window]:
        return self._fields(self.inner.flush())


@pytest.fixture(scope="module")
def toy(plugin_site):
    from sage_fixture_plugin.toy import ToyCompressor

    return ToyCompressor().eval()


def session_of(toy, sensor: Sensor, windower, queue_size: int = 8, duration: float | None = None) -> StreamSession:
    return StreamSession([StreamSource(toy, sensor, windower, "toy")], clock="source", queue_size=queue_size,
                         duration=duration)


def expected_windows(signal: np.ndarray, size: int, hop: int) -> list[np.ndarray]:
    """What `sage encode` cuts from a file: windows every hop, the last zero-padded."""
    count = 1 if len(signal) <= size else 1 + int(np.ceil((len(signal) - size) / hop))
    padded = np.zeros((count - 1) * hop + size, dtype=np.float32)
    padded[: len(signal)] = signal
    return [padded[i * hop : i * hop + size] for i in range(count)]


@pytest.mark.parametrize("length", [900, 2000, 2700, 500])
def test_the_ring_buffer_cuts_the_windows_a_whole_file_would_give(length: int) -> None:
    rng = np.random.default_rng(length)
    signal = rng.standard_normal(length).astype(np.float32)
    windower = SampleWindower(RATE, 900, 225)
    windows: list[Window] = []
    position = 0
    for block in rng.integers(1, 400, size=1000):
        if position >= length:
            break
        windows += windower.push_samples(signal[position : position + block], 10.0 + position / RATE)
        position += block
    windows += windower.flush()
    expected = expected_windows(signal, 900, 225)
    assert len(windows) == len(expected)
    for i, (window, want) in enumerate(zip(windows, expected)):
        assert np.array_equal(window.data[0], want) and window.data[1] == RATE
        assert window.index == i
        assert window.start == pytest.approx(10.0 + i * 0.25) and window.end == pytest.approx(window.start + 1.0)
    assert windows[-1].ready <= windows[-1].end


def test_window_times_follow_the_stamps_of_the_blocks_that_hold_them() -> None:
    """A live device's stamps (system clock) win over the sample count, so times never drift."""
    windower = SampleWindower(RATE, 900, 450)
    blocks = [(np.zeros(450, np.float32), 100.0), (np.zeros(450, np.float32), 100.5),
              (np.zeros(450, np.float32), 101.2)]  # the last block arrived 0.2 s late (the device clock ran slow)
    windows = [w for samples, stamp in blocks for w in windower.push_samples(samples, stamp)]
    assert [w.start for w in windows] == [100.0, 100.5]
    assert windows[1].end == pytest.approx(101.5)


def test_frames_are_thinned_by_every_and_by_max_fps() -> None:
    frames = [VideoFrame(np.zeros((2, 2, 3), np.uint8), time=i / 30) for i in range(30)]
    thinned = FrameWindower(every=3)
    assert [w.index for f in frames for w in thinned.push(f)] == list(range(0, 30, 3))
    capped = FrameWindower(max_fps=10)
    kept = [w for f in frames for w in capped.push(f)]
    assert [w.index for w in kept] == list(range(0, 30, 3))


def test_a_source_faster_than_the_encoder_drops_windows_and_counts_them(toy) -> None:
    fields = [np.full((30, 30), i / 40, np.float32) for i in range(40)]
    sensor = Frames(fields)
    session = session_of(toy, sensor, FrameWindower(), queue_size=3)
    session.open()
    session.start()
    session.sources[0].done.wait(10)  # hold the encoder until capture is over: exactly 3 fit
    items = list(session)
    session.close()
    stats = session.stats[0]
    assert [item.window.index for item in items] == [0, 1, 2]
    assert (stats.windows, stats.encoded, stats.dropped) == (40, 3, 37)
    assert "40 window(s), 3 encoded, 37 dropped" in stats.summary()
    assert session._queue.maxsize == 3
    first = items[0].puzzle
    assert len(first) == 1 and first.meta.sources == ("toy#0",) and first.meta.times == ((0.0, 0.1),)


def test_the_last_windows_of_an_ended_source_wait_for_room_instead_of_being_dropped(toy) -> None:
    signal = np.random.default_rng(0).random(2000).astype(np.float32)
    session = session_of(toy, Samples(signal, block=2000), FieldWindows(hop=450), queue_size=2)
    session.open()
    session.start()
    items = []
    for item in session:
        items.append(item)
        if len(items) == 1:
            session.sources[0].done.wait(0.2)  # hold the encoder while the queue is full
    session.close()
    stats = session.stats[0]
    # 2000 samples in one block: full windows at 0, 450 and 900 (one may be dropped, the queue
    # holds 2), then the zero-padded window at 1350, which waits for room.
    assert stats.windows == 4 and stats.encoded + stats.dropped == 4
    assert items[-1].window.index == 3 and items[-1].window.ready < items[-1].window.end
    expected = expected_windows(signal, 900, 450)[3]
    assert np.array_equal(items[-1].window.data.reshape(-1), expected)


def test_duration_ends_a_source_after_that_much_signal(toy) -> None:
    signal = np.random.default_rng(1).random(9000).astype(np.float32)
    session = session_of(toy, Samples(signal, block=100), FieldWindows(hop=900), queue_size=100, duration=3.5)
    with session:
        items = list(session)
    # 3.5 s of signal: three full 1 s windows and a padded one for the last half second.
    assert [item.window.index for item in items] == [0, 1, 2, 3]
    assert items[-1].window.ready == pytest.approx(3.5)


def test_stop_ends_capture_without_a_padded_window_and_releases_the_thread(toy) -> None:
    signal = np.random.default_rng(2).random(900).astype(np.float32)
    session = session_of(toy, Samples(signal, block=90, forever=True), FieldWindows(hop=450), queue_size=4)
    session.open()
    session.start()
    seen = 0
    for _ in session:
        seen += 1
        if seen == 3:
            session.stop()
    session.close()
    assert seen >= 3
    assert not any(thread.name.startswith("sage-capture") and thread.is_alive() for thread in threading.enumerate())
    stats = session.stats[0]
    assert stats.encoded == seen and stats.windows == stats.encoded + stats.dropped


def test_a_sensor_that_fails_is_reported_after_its_windows(toy) -> None:
    signal = np.random.default_rng(3).random(900 * 5).astype(np.float32)
    session = session_of(toy, Samples(signal, block=900, fail_after=3), FieldWindows(hop=900), queue_size=10)
    items = []
    with pytest.raises(SageError, match="toy sensor: unplugged"):
        with session:
            for item in session:
                items.append(item)
    assert len(items) == 3
