"""The embedded default data set as model inputs: clean held-out words, augmented training clips.

Validation and test are the clean eSpeak words of held-out voices (the same clips for every
recipe, so figures stay comparable); training gets the clean words and sentence windows of
the training voices plus ``augment_copies`` copies of each through the simulated recording
conditions of ``augment`` (``recording_conditions``). The built inputs are cached under a key
naming the whole recipe (clips, ingredients, copies, seed), so a changed recipe is rebuilt and
an unchanged one (every evaluation after training) costs a file read, not half a minute.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from sage_core import NO_LABEL, SPLITS, cached_arrays, split_of

from sage_audio_puzzle.config import AudioConfig
from sage_audio_puzzle.embedded_speech import WORDS, SpeechClips, cache_key, load_or_synthesize
from sage_audio_puzzle.frontend import log_mel_db
from sage_audio_puzzle.recording_conditions import check_recipe, simulate_recordings

#: The label of a sentence window: it speaks no single one of the 35 words.
NO_WORD = NO_LABEL
#: Bump when the augmentation or the front end change what the same recipe produces.
INPUTS_VERSION = 1


def _mels(audio: np.ndarray) -> Tensor:
    """``(N, 16000)`` float32 -> ``(N, 1, 128, 32)`` dB, in batches (bounded memory)."""
    if len(audio) == 0:
        return torch.zeros(0, 1, 128, 32)
    return torch.cat([log_mel_db(torch.from_numpy(audio[i : i + 512])) for i in range(0, len(audio), 512)])


def augmentation_seed(config: AudioConfig, copy: int) -> int:
    """A seed per (recipe, copy): changing the recipe changes every copy's draws."""
    text = f"{check_recipe(config.augment)}|{copy}|{config.augment_seed}"
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def inputs_key(config: AudioConfig) -> str:
    """Names everything that decides the built inputs."""
    recipe = {"v": INPUTS_VERSION, "clips": cache_key(config.voices, 0, config.phrases),
              "augment": check_recipe(config.augment), "copies": config.augment_copies, "seed": config.augment_seed}
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def embedded_inputs(config: AudioConfig, cache_dir: Path, progress: bool = True
                    ) -> tuple[dict[str, Tensor], dict[str, list[str]], dict[str, Tensor], SpeechClips]:
    """The embedded default per split: inputs ``(N, 1, 128, 32)`` dB, names, word labels ``(N,)``, and the clips.

    A word clip's label is its index in ``WORDS`` (augmented copies keep it); a sentence
    window's is ``NO_WORD``.
    """
    clips = load_or_synthesize(cache_dir, config.voices, progress=progress, phrases=config.phrases)
    path = Path(cache_dir) / "audio_puzzle" / f"embedded-inputs-{inputs_key(config)}.npz"

    def build() -> dict[str, np.ndarray]:
        inputs, names, labels = _build_inputs(config, clips)
        arrays: dict[str, np.ndarray] = {}
        for split in SPLITS:
            arrays |= {f"{split}_inputs": inputs[split].numpy(), f"{split}_names": np.array(names[split]),
                       f"{split}_labels": labels[split].numpy()}
        return arrays

    arrays = cached_arrays(path, build)
    return ({split: torch.from_numpy(arrays[f"{split}_inputs"]) for split in SPLITS},
            {split: arrays[f"{split}_names"].tolist() for split in SPLITS},
            {split: torch.from_numpy(arrays[f"{split}_labels"]) for split in SPLITS}, clips)


def _build_inputs(config: AudioConfig, clips: SpeechClips
                  ) -> tuple[dict[str, Tensor], dict[str, list[str]], dict[str, Tensor]]:
    """Log-mels of the clips per split, plus the augmented training copies (see ``embedded_inputs``)."""
    split = np.array([split_of(voice) for voice in clips.voices])
    phrase = clips.is_phrase()
    audio = clips.audio.astype(np.float32) / 32767.0
    names = [f"{v}/{w}" for v, w in zip(clips.voices, clips.words)]
    words = np.array([NO_WORD if is_phrase else WORDS.index(word) for word, is_phrase in zip(clips.words, phrase)])
    inputs: dict[str, Tensor] = {}
    named: dict[str, list[str]] = {}
    labels: dict[str, Tensor] = {}
    for name in SPLITS:
        index = np.flatnonzero((split == name) & ((name == "train") | ~phrase))
        inputs[name] = _mels(audio[index])
        named[name] = [names[i] for i in index]
        labels[name] = torch.from_numpy(words[index])
    recipe = check_recipe(config.augment)
    if recipe and config.augment_copies:
        train = np.flatnonzero(split == "train")
        pool = audio[np.flatnonzero((split == "train") & ~phrase)]  # other voices come from training words
        copies = [_mels(simulate_recordings(audio[train], recipe, augmentation_seed(config, k), pool))
                  for k in range(config.augment_copies)]
        inputs["train"] = torch.cat([inputs["train"], *copies])
        named["train"] += [f"{names[i]}~{k}" for k in range(config.augment_copies) for i in train]
        labels["train"] = torch.cat([labels["train"], *[torch.from_numpy(words[train])] * config.augment_copies])
    return inputs, named, labels
