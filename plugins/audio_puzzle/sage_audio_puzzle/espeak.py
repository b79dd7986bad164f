"""Speech synthesis with eSpeak NG from the ``espeakng-loader`` wheel, driven through ctypes.

No maintained Python wrapper synthesises audio from the bundled library, so this module
calls its C API directly. The engine is process-global and not thread-safe: one engine per
process, guarded by a lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

from sage_core import InputError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_DONT_EXIT = 0x8000  # without it a bad data path calls exit(1) and kills Python
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAMETERS = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakEngine:
    """One initialised eSpeak NG engine: ``synthesize(text, voice, ...) -> int16 samples``."""

    _lock = threading.Lock()
    _instance: EspeakEngine | None = None

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        data_path = espeakng_loader.get_data_path().encode()
        rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _DONT_EXIT)
        if rate <= 0:
            raise InputError(data_path.decode(), f"eSpeak NG failed to initialise (code {rate})")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        # The C library keeps only a raw pointer: this reference keeps the callback alive.
        self._callback = _SynthCallback(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def shared(cls) -> EspeakEngine:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def seed(self, seed: int) -> None:
        """Seed both random sources eSpeak NG draws from: its own generator (whisper and
        breath noise; ``espeak_ng_SetRandSeed``) and libc's ``rand()``.

        With a fresh process and a fixed call order this makes synthesis byte-identical.
        """
        with self._lock:
            self._lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            self._lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.srand.argtypes = [ctypes.c_uint]
            libc.srand(ctypes.c_uint(seed & 0xFFFFFFFF))

    def _collect(self, samples: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.c_void_p) -> int:
        if count > 0 and samples:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50,
                   volume: int = 100) -> np.ndarray:
        """``text`` spoken by ``voice`` (e.g. ``"en-us+f3"``) -> int16 samples at ``sample_rate``."""
        with self._lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise InputError(voice, "eSpeak NG does not know this voice")
            for name, value in (("rate", rate), ("volume", volume), ("pitch", pitch), ("range", pitch_range)):
                self._lib.espeak_SetParameter(_PARAMETERS[name], int(value), 0)
            self._chunks = []
            encoded = text.encode("utf-8")
            buffer = ctypes.create_string_buffer(encoded)
            self._lib.espeak_Synth(buffer, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

