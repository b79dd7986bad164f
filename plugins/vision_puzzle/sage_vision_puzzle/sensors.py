"""Vision sources for ``sage stream``: a camera, a video file, an image folder replayed as frames.

OpenCV (``opencv-python-headless``) is optional and imported only when a camera or video is
opened, so every other command works without it; a missing library or camera is one line
saying what is missing and how to get it. Image folders need only Pillow.
"""

from __future__ import annotations

import glob
import threading
import time
from pathlib import Path
from typing import Any

from sage_core import InputError, ReplaySensor, SageError, Sensor, SensorOptions, VideoFrame

CAMERA_EXTRA = "pip install 'sage-vision-puzzle[camera]'"
_NO_OPENCV = f"the opencv-python-headless package is not installed; {CAMERA_EXTRA}"
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})


def _opencv() -> Any:
    import cv2

    return cv2


def _opencv_missing() -> str | None:
    try:
        _opencv()
    except ImportError:
        return _NO_OPENCV
    return None


def _rgb(frame: Any) -> Any:
    """OpenCV's BGR ``(H, W, 3)`` uint8 -> RGB (cvtColor: a fraction of numpy's reversed copy)."""
    cv2 = _opencv()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


class CameraSensor(Sensor):
    """A camera through OpenCV: ``camera`` (device 0) or ``camera:N`` / ``camera:/dev/videoN``.

    Frames are stamped with ``time.time()`` when OpenCV hands them over.
    """

    modality = "vision"
    title = "camera"

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        self._capture: Any = None
        self._period = 0.0

    @classmethod
    def unavailable(cls) -> str | None:
        return _opencv_missing()

    @classmethod
    def devices(cls) -> list[str]:
        return [f"camera:{Path(path).name.removeprefix('video')} ({path})" for path in sorted(glob.glob("/dev/video*"))]

    def open(self) -> None:
        reason = _opencv_missing()
        if reason is not None:
            raise SageError(f"camera: {reason}")
        cv2 = _opencv()
        target = self.options.target or "0"
        device: Any = int(target) if target.isdigit() else target
        if isinstance(device, int) and not Path(f"/dev/video{device}").exists() and not glob.glob("/dev/video*"):
            raise SageError("camera: no camera found (no /dev/video* device)")
        capture = cv2.VideoCapture(device)
        if not capture.isOpened():
            capture.release()
            raise SageError(f"camera: cannot open camera {target!r} (see `sage sensors` for the devices found)")
        fps = capture.get(cv2.CAP_PROP_FPS)
        self._period = 1.0 / fps if fps and fps > 0 else 0.0
        self._capture = capture

    def run(self, emit: Any, stop: threading.Event) -> None:
        while not stop.is_set():
            ok, frame = self._capture.read()
            stamp = time.time()
            if not ok:
                raise SageError("camera: stopped delivering frames (unplugged?)")
            emit(VideoFrame(_rgb(frame), stamp, self._period))

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoFileSensor(ReplaySensor):
    """A video file (anything OpenCV's FFmpeg reads) replayed at ``--speed`` times real time."""

    modality = "vision"
    title = "video file"

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        self.path = Path(options.target or "")
        self._capture: Any = None
        self._fps = 0.0

    @classmethod
    def unavailable(cls) -> str | None:
        return _opencv_missing()

    @classmethod
    def accepts(cls, target: str) -> bool:
        return Path(target).is_file() and Path(target).suffix.lower() in VIDEO_SUFFIXES

    def open(self) -> None:
        reason = _opencv_missing()
        if reason is not None:
            raise SageError(f"video file: {reason}")
        cv2 = _opencv()
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            capture.release()
            raise InputError(self.path, "not a video OpenCV can read")
        fps = capture.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and fps > 0 else 0.0
        self._capture = capture

    def run(self, emit: Any, stop: threading.Event) -> None:
        cv2 = _opencv()
        number = 0
        while not stop.is_set():
            position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            ok, frame = self._capture.read()
            if not ok:
                if number == 0:
                    raise InputError(self.path, "holds no frame OpenCV can decode")
                return
            at = number / self._fps if self._fps else position_ms / 1000.0
            if not self.pace(at, stop):
                return
            emit(VideoFrame(_rgb(frame), self.stamp(at), 1.0 / self._fps if self._fps else 0.0))
            number += 1

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageFolderSensor(ReplaySensor):
    """A folder of images (sorted by name) or one image, replayed as frames at ``--frame-rate``.

    Each image is decoded exactly as ``sage encode`` decodes it, so a frame's puzzle equals
    the file's.
    """

    modality = "vision"
    title = "image folder"

    def __init__(self, options: SensorOptions) -> None:
        super().__init__(options)
        self.path = Path(options.target or "")
        self._files: list[Path] = []

    @classmethod
    def accepts(cls, target: str) -> bool:
        from sage_vision_puzzle.images import IMAGE_SUFFIXES

        path = Path(target)
        return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES

    def open(self) -> None:
        from sage_vision_puzzle.images import IMAGE_SUFFIXES

        if not self.options.frame_rate > 0:
            raise SageError(f"--frame-rate must be > 0, got {self.options.frame_rate}")
        if self.path.is_dir():
            self._files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise InputError(self.path, "holds no image files")
        else:
            self._files = [self.path]

    def run(self, emit: Any, stop: threading.Event) -> None:
        from sage_vision_puzzle.images import read_image

        period = 1.0 / self.options.frame_rate
        for number, path in enumerate(self._files):
            image = read_image(path)
            if not self.pace(number * period, stop):
                return
            emit(VideoFrame(image, self.stamp(number * period), period))
