"""Audio as a stream: any rate and channel count in, 1 s windows of 16 kHz mono out, as blocks arrive.

Blocks are mixed to mono and resampled to 16 kHz as they come (:class:`StreamingResampler`
gives, block by block, what ``torchaudio.functional.resample`` gives for the whole signal),
then cut into ``WINDOW_SAMPLES`` windows every hop by a ring buffer, so each window can be
encoded the moment its last sample arrives.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import torch
import torchaudio

from sage_core import AudioBlock, InputError, SampleWindower

from sage_audio_puzzle.frontend import SAMPLE_RATE, WINDOW_SAMPLES, to_mono_16k


class StreamingResampler:
    """``(T,)`` float32 blocks at ``orig`` Hz -> the same signal at ``new`` Hz, block by block.

    torchaudio's sinc resampler computes output group ``j`` (``new/g`` samples, ``g`` the
    rates' gcd) from inputs ``[j*o - width, (j+1)*o + width)`` with ``o = orig/g``. Each call
    resamples the buffered input with ``margin >= width`` samples of context on both sides
    (zeros before the first sample, as the offline resampler pads) and keeps only the groups
    whose inputs are all real, so the stream equals the offline result up to float rounding.
    Output lags input by about ``margin + o`` samples (48 kHz: 0.5 ms; 44.1 kHz: 20 ms).
    """

    def __init__(self, orig: int, new: int) -> None:
        self.orig, self.new = int(orig), int(new)
        gcd = math.gcd(self.orig, self.new)
        self._o, self._n = self.orig // gcd, self.new // gcd
        self._resample = torchaudio.transforms.Resample(self.orig, self.new, dtype=torch.float32)
        self._margin = math.ceil(self._resample.width / self._o) * self._o
        self._buffer = np.zeros(self._margin, dtype=np.float32)  # the left context: zeros, like the offline padding
        self._buffer_start = -self._margin  # input index of _buffer[0]
        self._next_group = 0
        self._received = 0
        self._produced = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Add input samples; return the output samples now determined."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.float32)])
        self._received += len(samples)
        last_group = (self._received - self._margin) // self._o
        return self._groups(last_group)

    def flush(self) -> np.ndarray:
        """At the end of the input: the remaining output, ``ceil(new * T / orig)`` samples in all."""
        total = math.ceil(self._n * self._received / self._o)
        self._buffer = np.concatenate([self._buffer, np.zeros(self._margin + self._o, dtype=np.float32)])
        out = self._groups(math.ceil(self._received / self._o))
        excess = self._produced - total
        if excess > 0:
            out = out[: len(out) - excess]
            self._produced = total
        return out

    def _groups(self, end_group: int) -> np.ndarray:
        if end_group <= self._next_group:
            return np.zeros(0, dtype=np.float32)
        first_input = self._next_group * self._o - self._margin
        last_input = end_group * self._o + self._margin
        segment = self._buffer[first_input - self._buffer_start : last_input - self._buffer_start]
        with torch.no_grad():
            resampled = self._resample(torch.from_numpy(np.ascontiguousarray(segment))).numpy()
        skip = self._margin // self._o * self._n
        out = resampled[skip : skip + (end_group - self._next_group) * self._n]
        self._next_group = end_group
        keep_from = self._next_group * self._o - self._margin
        self._buffer = self._buffer[keep_from - self._buffer_start :]
        self._buffer_start = keep_from
        self._produced += len(out)
        return out


class AudioWindower:
    """:class:`~sage_core.AudioBlock` s of one source -> 1 s windows of 16 kHz mono every ``hop`` seconds.

    Window data is ``(samples (16000,) float32, 16000)``: exactly what ``prepare`` and
    ``sage encode`` turn into the log-mel front end's input for the same samples.
    """

    def __init__(self, hop_seconds: float) -> None:
        hop = max(1, int(round(hop_seconds * SAMPLE_RATE)))
        self._windows = SampleWindower(SAMPLE_RATE, WINDOW_SAMPLES, hop)
        self._rate: int | None = None
        self._resampler: StreamingResampler | None = None
        self._anchors: deque[tuple[int, float]] = deque()  # (input index, time) of each block
        self._received = 0  # input samples so far
        self._emitted = 0  # 16 kHz samples handed to the ring buffer so far

    def push(self, block: AudioBlock) -> list:
        if not isinstance(block, AudioBlock):
            raise TypeError(f"expected an AudioBlock, got {type(block).__name__}")
        if self._rate is None:
            self._rate = int(block.rate)
            if self._rate != SAMPLE_RATE:
                self._resampler = StreamingResampler(self._rate, SAMPLE_RATE)
        elif block.rate != self._rate:
            raise InputError("stream", f"sample rate changed from {self._rate} to {block.rate} Hz mid-stream")
        mono = to_mono_16k(block.samples, SAMPLE_RATE).numpy()  # mixes channels only; rate handled below
        if self._resampler is None:
            self._emitted += len(mono)
            return self._windows.push_samples(mono, block.time)
        self._anchors.append((self._received, float(block.time)))
        self._received += len(mono)
        return self._feed(self._resampler.push(mono))

    def flush(self) -> list:
        if self._resampler is not None:
            done = self._feed(self._resampler.flush())
            return done + self._windows.flush()
        return self._windows.flush()

    def _feed(self, samples: np.ndarray) -> list:
        if len(samples) == 0:
            return []
        time = self._time_of_output(self._emitted)
        self._emitted += len(samples)
        return self._windows.push_samples(samples, time)

    def _time_of_output(self, index: int) -> float:
        """Capture time of 16 kHz sample ``index``, from the input block that holds its instant."""
        assert self._rate is not None
        position = index * self._rate / SAMPLE_RATE  # in input samples
        while len(self._anchors) > 1 and self._anchors[1][0] <= position:
            self._anchors.popleft()
        anchor_index, anchor_time = self._anchors[0]
        return anchor_time + (position - anchor_index) / self._rate
