"""The embedded default data: the 35 Speech Commands words spoken by many eSpeak NG voices.

No data set can be downloaded here, so the default is synthesised locally once and cached.
A *voice* is an accent + variant with its own pitch, pitch range and speed; the split is by
voice (``sage_core``'s stable hash of the voice name), so held-out voices are unseen in
training. Each clip gets a random gain, a random position in its 1 s window and a little
background noise, because TTS outside the word is digital silence, unlike a microphone.
Synthesis runs in a fresh process with libc's ``rand`` seeded (``espeak_worker``), so the
clips are byte-identical on every machine of the same type; they are cached all the same
(synthesis takes tens of seconds). Training voices also speak short sentences (``phrases``),
cut into 1 s windows of continuous speech, and training copies go through simulated
recording conditions (``recording_conditions``, applied by ``embedded_data``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio

from sage_core import cached_arrays, split_of

from sage_audio_puzzle.frontend import SAMPLE_RATE, WINDOW_SAMPLES
from sage_audio_puzzle.phrases import PHRASES

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
    """A 16 kHz word (or 1 s of a sentence) -> ``(16000,)``: random gain and offset plus low-level noise."""
    word = word[:WINDOW_SAMPLES] * rng.uniform(0.15, 1.0)
    window = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    start = int(rng.integers(0, WINDOW_SAMPLES - word.size + 1))
    window[start : start + word.size] = word
    noise_level = 10.0 ** rng.uniform(-4.3, -3.0)  # about -86 to -60 dBFS RMS
    window += (noise_level * rng.standard_normal(WINDOW_SAMPLES)).astype(np.float32)
    return np.clip(window, -1.0, 1.0)


@dataclass
class SpeechClips:
    """Synthesised clips ``audio (N, 16000) int16`` with their text label and voice names.

    A label is a word, or ``phrase<k>.<w>`` for window ``w`` of sentence ``k`` (continuous speech).
    """

    audio: np.ndarray
    words: list[str]
    voices: list[str]

    def is_phrase(self) -> np.ndarray:
        """``(N,)`` bool: which clips are windows of sentences rather than single words."""
        return np.array([label.startswith("phrase") for label in self.words], dtype=bool)


def phrases_of(voice_index: int, count: int) -> list[int]:
    """Which sentences voice ``voice_index`` speaks: consecutive ones, so all get used."""
    return [(voice_index * count + j) % len(PHRASES) for j in range(count)]


def _phrase_windows(clip: np.ndarray, rng: np.random.Generator, most: int = 3) -> list[np.ndarray]:
    """A trimmed sentence -> up to ``most`` consecutive 1 s windows (cut mid-speech, as a
    recorder's windows are), starting at a random offset; a short one -> itself."""
    if clip.size <= WINDOW_SAMPLES:
        return [clip]
    count = min(most, clip.size // WINDOW_SAMPLES)
    offset = int(rng.integers(0, clip.size - count * WINDOW_SAMPLES + 1))
    return [clip[offset + i * WINDOW_SAMPLES : offset + (i + 1) * WINDOW_SAMPLES] for i in range(count)]


def synthesize_clips(voice_count: int, words: tuple[str, ...] = WORDS, seed: int = 0, progress: bool = True,
                     phrases: int = 0, phrase_voices: set[str] | None = None) -> SpeechClips:
    """Every word by every voice, then ``phrases`` sentences by each voice in ``phrase_voices``
    (default: all), cut into 1 s windows.

    Synthesis runs in a fresh process with libc's ``srand(seed)`` and a fixed call order
    (``espeak_worker``), so the same arguments give byte-identical clips on any machine of
    the same type; gain, placement and noise come from ``numpy`` seeded by ``seed``.
    """
    from sage_audio_puzzle.espeak_worker import synthesize_in_fresh_process

    voice_list = voices(voice_count, seed)
    jobs, labels, owners = [], [], []
    for v, voice in enumerate(voice_list):
        engine_voice = voice.name.split("#")[0]
        texts = [(word, word) for word in words]
        if phrases and (phrase_voices is None or voice.name in phrase_voices):
            texts += [(PHRASES[k], f"phrase{k:02d}") for k in phrases_of(v, phrases)]
        for text, label in texts:
            jobs.append((text, engine_voice, voice.rate, voice.pitch, voice.pitch_range))
            labels.append(label)
            owners.append(voice.name)
    raw, engine_rate = synthesize_in_fresh_process(jobs, seed, progress)
    # One kernel for every clip, one thread: per-clip resampling of short signals is
    # dominated by kernel set-up and thread hand-offs otherwise (measured 5-10x slower).
    resample = torchaudio.transforms.Resample(engine_rate, SAMPLE_RATE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    audio, word_names, voice_names = [], [], []
    try:
        for samples, label, owner in zip(raw, labels, owners):
            with torch.no_grad():
                clip = _trim(resample(torch.from_numpy(samples.astype(np.float32) / 32768.0)).numpy())
            parts = [clip] if not label.startswith("phrase") else _phrase_windows(clip, rng)
            for w, part in enumerate(parts):
                audio.append(np.round(place_in_window(part, rng) * 32767.0).astype(np.int16))
                word_names.append(label if not label.startswith("phrase") else f"{label}.{w}")
                voice_names.append(owner)
    finally:
        torch.set_num_threads(threads)
    stacked = np.stack(audio) if audio else np.zeros((0, WINDOW_SAMPLES), dtype=np.int16)
    return SpeechClips(stacked, word_names, voice_names)


def cache_key(voice_count: int, seed: int, phrases: int = 0) -> str:
    """Names the synthesis recipe: any change to what is synthesised gives a new cache file."""
    recipe = {"v": 2, "voices": voice_count, "seed": seed, "words": WORDS, "variants": VARIANTS, "accents": ACCENTS,
              "phrases": phrases, "phrase_texts": PHRASES if phrases else (), "phrase_voices": "train split"}
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def load_or_synthesize(cache_dir: Path, voice_count: int, seed: int = 0, progress: bool = True,
                       phrases: int = 0) -> SpeechClips:
    """The cached clips for this recipe, synthesising and caching them (atomically) if absent.

    Sentences (``phrases`` per voice) are spoken only by training-split voices: the held-out
    splits stay the 35 words, comparable across recipes.
    """
    path = Path(cache_dir) / "audio_puzzle" / f"espeak_words_{cache_key(voice_count, seed, phrases)}.npz"

    def build() -> dict[str, np.ndarray]:
        train_voices = {v.name for v in voices(voice_count, seed) if split_of(v.name) == "train"}
        clips = synthesize_clips(voice_count, seed=seed, progress=progress, phrases=phrases, phrase_voices=train_voices)
        return {"audio": clips.audio, "words": np.array(clips.words), "voices": np.array(clips.voices)}

    arrays = cached_arrays(path, build, compress=True)
    return SpeechClips(arrays["audio"], arrays["words"].tolist(), arrays["voices"].tolist())


def as_float(audio: np.ndarray) -> torch.Tensor:
    """``(N, 16000)`` int16 -> float32 in [-1, 1]."""
    return torch.from_numpy(audio.astype(np.float32) / 32767.0)


__all__ = ["WORDS", "SpeechClips", "load_or_synthesize", "synthesize_clips", "voices"]
