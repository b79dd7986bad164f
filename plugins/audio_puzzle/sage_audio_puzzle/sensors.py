"""Audio sources for ``sage stream``: a microphone, a file replayed in real time, raw PCM on stdin.

Device libraries are optional and imported only when a sensor is asked for, so ``sage
sensors`` and every other command work without them; a missing library or device is one
line saying what is missing and how to get it.
"""

from __future__ import annotations

import os
import queue
import select
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sage_core import AudioBlock, InputError, ReplaySensor, SageError, Sensor, SensorOptions, warn_input

MIC_EXTRA = "pip install 'sage-audio-puzzle[mic]'"
#: Raw sample layouts ``sage stream MODEL - --pcm-format`` reads: numpy dtype and full scale.
PCM_FORMATS: dict[str, tuple[str, float]] = {
    "s16le": ("<i2", 32768.0),
    "s32le": ("<i4", 2147483648.0),
    "f32le": ("<f4", 1.0),
}


def _as_float_samples(frames: Any, channels: int) -> Any:
    """``(T*C,)`` raw numbers -> ``(T,)`` or ``(T, C)`` float32, full scale mapped to [-1, 1)."""
    import numpy as np

    samples = frames.reshape(-1, channels) if channels > 1 else frames
    return np.ascontiguousarray(samples, dtype=np.float32)


class AudioFileSensor(ReplaySensor):
    """An audio file (anything libsndfile reads) replayed at ``--speed`` times real time."""

    modality = "audio"
    title = "audio file"

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        self.path = Path(options.target or "")
        self._info: Any = None

    def open(self) -> None:
        import soundfile

        try:
            self._info = soundfile.info(str(self.path))
        except Exception as exc:  # libsndfile raises several types (LibsndfileError, RuntimeError)
            raise InputError(self.path, f"not readable audio ({exc})") from None
        if self._info.frames == 0:
            raise InputError(self.path, "contains no audio samples")
        from sage_audio_puzzle.riff import find_truncation

        truncation = find_truncation(self.path)
        if truncation is not None:  # as `sage encode` says of the same file
            warn_input(self.path, truncation.describe() + "; streaming what is there")

    def run(self, emit: Any, stop: threading.Event) -> None:
        import numpy as np
        import soundfile

        rate = int(self._info.samplerate)
        block = max(1, int(round(self.options.block_seconds * rate)))
        position = 0
        with soundfile.SoundFile(str(self.path)) as audio:
            while not stop.is_set():
                samples = audio.read(block, dtype="float32", always_2d=False)
                if len(samples) == 0:
                    return
                if not np.isfinite(samples).all():
                    raise InputError(self.path, "contains NaN or inf samples")
                if not self.pace((position + len(samples)) / rate, stop):  # due when its last sample is
                    return
                emit(AudioBlock(samples, rate, self.stamp(position / rate)))
                position += len(samples)


class PcmStdinSensor(Sensor):
    """Raw interleaved PCM on stdin (``arecord -f S16_LE -r 16000 -c 1 | sage stream MODEL -``).

    Treated as live (a file is replayed by giving its path, not piping it). The pipe carries
    no timing, so blocks are stamped by counting samples from the first block's arrival,
    and re-anchored whenever that count would put a block's capture after its arrival
    (arrival minus duration is the latest it can have started): drift and stalls are corrected,
    and a latency is never negative.
    """

    modality = "audio"
    title = "stdin"

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        if options.pcm_format not in PCM_FORMATS:
            raise SageError(f"stdin: unknown --pcm-format {options.pcm_format!r} (choose from {', '.join(PCM_FORMATS)})")
        if options.pcm_rate < 1 or options.pcm_channels < 1:
            raise SageError(f"stdin: --rate and --channels must be >= 1, got {options.pcm_rate} and {options.pcm_channels}")

    def run(self, emit: Any, stop: threading.Event) -> None:
        import numpy as np

        dtype, full_scale = PCM_FORMATS[self.options.pcm_format]
        rate, channels = self.options.pcm_rate, self.options.pcm_channels
        frame_bytes = np.dtype(dtype).itemsize * channels
        want = max(1, int(round(self.options.block_seconds * rate))) * frame_bytes
        fd = sys.stdin.fileno()
        pending = b""
        start: float | None = None
        frames_seen = 0
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            chunk = os.read(fd, want)
            if not chunk:
                if pending:  # a partial frame is not a sample: say what was left out
                    warn_input("stdin", f"its last {len(pending)} byte(s) are not a whole {channels}-channel "
                                        f"{self.options.pcm_format} frame ({frame_bytes} bytes); they were dropped")
                return
            pending += chunk
            usable = len(pending) - len(pending) % frame_bytes
            if usable == 0:
                continue
            raw, pending = pending[:usable], pending[usable:]
            values = np.frombuffer(raw, dtype=dtype).astype(np.float32) / np.float32(full_scale)
            if not np.isfinite(values).all():
                raise InputError("stdin", "contains NaN or inf samples")
            frames = len(values) // channels
            latest = time.time() - frames / rate
            if start is None or start + frames_seen / rate > latest:
                start = latest - frames_seen / rate
            emit(AudioBlock(_as_float_samples(values, channels), rate, start + frames_seen / rate))
            frames_seen += frames


class MicrophoneSensor(Sensor):
    """A microphone through PortAudio (``sounddevice``): ``mic`` (the default input) or ``mic:DEVICE``.

    Asks for 16 kHz mono when the device takes it, else its own rate (resampled in the
    stream). Blocks are stamped with ``time.time()`` corrected by PortAudio's ADC time of
    the first sample. The audio callback only copies the block into a small queue; when
    that overflows (or PortAudio reports an input overflow) the loss is counted as overruns.
    """

    modality = "audio"
    title = "microphone"
    _PENDING_BLOCKS = 200  # 2 s at 10 ms blocks

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        self._stream: Any = None
        self._blocks: queue.Queue[tuple[Any, float]] = queue.Queue(maxsize=self._PENDING_BLOCKS)
        self.rate = 0

    @staticmethod
    def _library() -> Any:
        import sounddevice

        return sounddevice

    @classmethod
    def unavailable(cls) -> str | None:
        try:
            cls._library()
        except ImportError:
            return f"the sounddevice package is not installed; {MIC_EXTRA}"
        except OSError:  # sounddevice is installed but cannot load the PortAudio library
            return "the PortAudio library is not installed (Debian/Ubuntu: apt install libportaudio2)"
        return None

    @classmethod
    def devices(cls) -> list[str]:
        if cls.unavailable() is not None:
            return []
        sd = cls._library()
        return [
            f"mic:{index} {device['name']} ({device['max_input_channels']} ch, {device['default_samplerate']:.0f} Hz)"
            for index, device in enumerate(sd.query_devices())
            if device["max_input_channels"] > 0
        ]

    def _device(self) -> tuple[Any, dict[str, Any]]:
        sd = self._library()
        inputs = [(index, device) for index, device in enumerate(sd.query_devices()) if device["max_input_channels"] > 0]
        if not inputs:
            raise SageError("microphone: no input device found (PortAudio sees none)")
        target = self.options.target
        if target is None:
            try:
                return None, sd.query_devices(kind="input")
            except Exception:  # noqa: BLE001 - PortAudio: no default input
                raise SageError("microphone: no default input device; choose one of `sage sensors` with mic:DEVICE") from None
        for index, device in inputs:
            if target == str(index) or target.lower() in device["name"].lower():
                return index, device
        names = ", ".join(f"{index}: {device['name']}" for index, device in inputs)
        raise SageError(f"microphone: no input device {target!r} (inputs: {names})")

    def open(self) -> None:
        reason = self.unavailable()
        if reason is not None:
            raise SageError(f"microphone: {reason}")
        sd = self._library()
        device, info = self._device()
        try:
            sd.check_input_settings(device=device, channels=1, samplerate=16_000, dtype="float32")
            self.rate, channels = 16_000, 1
        except Exception:  # noqa: BLE001 - the device's own rate, resampled in the stream
            self.rate, channels = int(info["default_samplerate"]), 1
        try:
            self._stream = sd.InputStream(
                device=device, channels=channels, samplerate=self.rate, dtype="float32",
                blocksize=max(1, int(round(self.options.block_seconds * self.rate))), callback=self._callback,
            )
        except Exception as exc:  # noqa: BLE001 - PortAudio errors have several types
            raise SageError(f"microphone: cannot open {info['name']!r} ({exc})") from None

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.time()
        if status.input_overflow:
            self.overruns += 1
        adc = getattr(time_info, "inputBufferAdcTime", 0.0)
        current = getattr(time_info, "currentTime", 0.0)
        age = current - adc if adc > 0 and current >= adc else frames / self.rate
        try:
            self._blocks.put_nowait((indata[:, 0].copy(), now - age))
        except queue.Full:
            self.overruns += 1

    def run(self, emit: Any, stop: threading.Event) -> None:
        self._stream.start()
        try:
            while not stop.is_set():
                try:
                    samples, stamp = self._blocks.get(timeout=0.1)
                except queue.Empty:
                    continue
                emit(AudioBlock(samples, self.rate, stamp))
        finally:
            self._stream.stop()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
