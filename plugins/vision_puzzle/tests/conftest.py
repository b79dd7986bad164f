"""Shared fixtures for the vision plugin's tests: real photo crops and tiny models.

Helpers are handed out as fixtures (not imported), because the repository's own
``tests/conftest.py`` owns the module name ``conftest`` on the test path.
"""

from __future__ import annotations

import pytest
import torch
from collections.abc import Callable

from torch import Tensor

from sage_vision_puzzle.compressor import VisionPuzzleCompressor
from sage_vision_puzzle.config import VisionPuzzleConfig
from sage_vision_puzzle.embedded import load_photo, random_crops


def photo_crops(name: str, count: int, resolution: int, seed: int = 0) -> Tensor:
    """``(count, 3, R, R)`` float crops of a bundled photograph."""
    return torch.from_numpy(random_crops(load_photo(name), count, resolution, seed)).float() / 255.0


@pytest.fixture(scope="session")
def crops() -> Tensor:
    """Six real 60x60 crops of a colour photograph the embedded training split never sees."""
    return photo_crops("stereo_motorcycle", 6, 60)


def tiny_config(resolution: int = 60, **changes: object) -> VisionPuzzleConfig:
    """Tiny model sizes; ``resolution`` is the modality's, the rest the model's."""
    return VisionPuzzleConfig(channels=8, encoder_blocks=1, decoder_blocks=1, modality={"resolution": resolution},
                              **changes)


@pytest.fixture(scope="session")
def crops_of() -> Callable[..., Tensor]:
    """``crops_of(photo, count, resolution, seed=0)`` -> real crops of a bundled photo."""
    return photo_crops


@pytest.fixture(scope="session")
def tiny() -> Callable[..., VisionPuzzleConfig]:
    """``tiny(**changes)`` -> a config with tiny sizes for fast tests."""
    return tiny_config


@pytest.fixture(scope="session")
def trained_tiny_model() -> VisionPuzzleCompressor:
    """A tiny model after 40 real optimizer steps on crops of two training photos."""
    steps = 40
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: one thread is faster on a busy machine
    torch.manual_seed(0)
    model = VisionPuzzleCompressor(tiny_config())
    data = torch.cat([photo_crops("chelsea", 32, 60), photo_crops("coffee", 32, 60)])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for step in range(steps):
        batch = data[(step * 16) % 64 : (step * 16) % 64 + 16]
        loss = model(batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.set_num_threads(threads)
    return model.eval()
