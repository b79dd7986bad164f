"""The embedded default data: the 35 Speech Commands words spoken by many eSpeak NG voices.

No data set can be downloaded here, so the default is synthesised locally once and cached.
A *voice* is an accent + variant with its own pitch, pitch range and speed; the split is by
voice (``sage_core``'s stable hash of the voice name), so held-out voices are unseen in
training. Each clip gets a random gain, a random position in its 1 s window and a little
background noise, because TTS outside the word is digital silence, unlike a microphone.
Content is deterministic in its statistics (not byte-identical across processes: eSpeak's
internal state makes tiny differences), which is why the result is cached.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio

from sage_core import cached_arrays

from sage_audio_puzzle.frontend import SAMPLE_RATE, WINDOW_SAMPLES

WORDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on",
    "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up",
    "visual", "wow", "yes", "zero",
)
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "croak", "whisper",
)
_FADE_SAMPLES = 80  # 5 ms: hard trimming would leave clicks


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: eSpeak voice name plus prosody settings."""

    name: str
    rate: int
    pitch: int
    pitch_range: int


def voices(count: int, seed: int = 0) -> list[Voice]:
    """``count`` distinct voices, the same list for the same arguments."""
    rng = np.random.default_rng(seed)
    combos = [f"{accent}+{variant}" for variant in VARIANTS for accent in ACCENTS]
    order = rng.permutation(len(combos))
    chosen: list[Voice] = []
    for i in range(count):
        base = combos[order[i % len(combos)]]
        name = base if i < len(combos) else f"{base}#{i // len(combos)}"
        chosen.append(Voice(name, rate=int(rng.integers(120, 230)), pitch=int(rng.integers(20, 80)),
                            pitch_range=int(rng.integers(20, 90))))
    return chosen


def _trim(samples: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Cut leading/trailing near-silence and fade the ends."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples[:0]
    clip = samples[loud[0] : loud[-1] + 1].copy()
    fade = min(_FADE_SAMPLES, clip.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        clip[:fade] *= ramp
        clip[-fade:] *= ramp[::-1]
    return clip


def place_in_window(word: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 16 kHz word -> ``(16000,)``: random gain and offset plus low-level noise."""
    word = word[:WINDOW_SAMPLES] * rng.uniform(0.15, 1.0)
    window = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    start = int(rng.integers(0, WINDOW_SAMPLES - word.size + 1))
    window[start : start + word.size] = word
    noise_level = 10.0 ** rng.uniform(-4.3, -3.0)  # about -86 to -60 dBFS RMS
    window += (noise_level * rng.standard_normal(WINDOW_SAMPLES)).astype(np.float32)
    return np.clip(window, -1.0, 1.0)


@dataclass
class SpeechClips:
    """Synthesised clips ``audio (N, 16000) int16`` with their word and voice names."""

    audio: np.ndarray
    words: list[str]
    voices: list[str]


def synthesize_clips(voice_count: int, words: tuple[str, ...] = WORDS, seed: int = 0,
                     progress: bool = True) -> SpeechClips:
    """Every word by every voice; a rich progress bar while it runs."""
    from rich.progress import Progress

    from sage_audio_puzzle.espeak import EspeakEngine

    engine = EspeakEngine.shared()
    # One kernel for every clip, one thread: per-clip resampling of short signals is
    # dominated by kernel set-up and thread hand-offs otherwise (measured 5-10x slower).
    resample = torchaudio.transforms.Resample(engine.sample_rate, SAMPLE_RATE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    voice_list = voices(voice_count, seed)
    audio = np.zeros((voice_count * len(words), WINDOW_SAMPLES), dtype=np.int16)
    word_names: list[str] = []
    voice_names: list[str] = []
    try:
        with Progress(transient=True, disable=not progress) as bar:
            task = bar.add_task("synthesising eSpeak NG speech (once, then cached)", total=len(audio))
            for v, voice in enumerate(voice_list):
                for w, word in enumerate(words):
                    raw = engine.synthesize(word, voice.name.split("#")[0], voice.rate, voice.pitch, voice.pitch_range)
                    with torch.no_grad():
                        clip = resample(torch.from_numpy(raw.astype(np.float32) / 32768.0)).numpy()
                    window = place_in_window(_trim(clip), rng)
                    audio[v * len(words) + w] = np.round(window * 32767.0).astype(np.int16)
                    word_names.append(word)
                    voice_names.append(voice.name)
                    bar.advance(task)
    finally:
        torch.set_num_threads(threads)
    return SpeechClips(audio, word_names, voice_names)


def cache_key(voice_count: int, seed: int) -> str:
    recipe = {"v": 1, "voices": voice_count, "seed": seed, "words": WORDS, "variants": VARIANTS, "accents": ACCENTS}
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def load_or_synthesize(cache_dir: Path, voice_count: int, seed: int = 0, progress: bool = True) -> SpeechClips:
    """The cached clips for this recipe, synthesising and caching them (atomically) if absent."""
    path = Path(cache_dir) / "audio_puzzle" / f"espeak_words_{cache_key(voice_count, seed)}.npz"

    def build() -> dict[str, np.ndarray]:
        clips = synthesize_clips(voice_count, seed=seed, progress=progress)
        return {"audio": clips.audio, "words": np.array(clips.words), "voices": np.array(clips.voices)}

    arrays = cached_arrays(path, build, compress=True)
    return SpeechClips(arrays["audio"], arrays["words"].tolist(), arrays["voices"].tolist())


def as_float(audio: np.ndarray) -> torch.Tensor:
    """``(N, 16000)`` int16 -> float32 in [-1, 1]."""
    return torch.from_numpy(audio.astype(np.float32) / 32767.0)


__all__ = ["WORDS", "SpeechClips", "load_or_synthesize", "synthesize_clips", "voices"]
