"""``TrainingJob``: everything one rank needs to train, picklable for spawned processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainingJob:
    """A planned run as each rank receives it (the plan resolved every choice already)."""

    factory: str  # "module:Class" of the PuzzleCompressor, from its registered spec
    config: dict[str, Any]  # the resolved config, as JSON data
    run_dir: str
    seed: int = 0
    data_path: str | None = None
    source_factory: str | None = None  # "module:function" of a registered DataSourceSpec
    device: str = "cpu"  # "cpu" or "cuda" (each rank takes cuda:LOCAL_RANK)
    progress: str = "off"
    metadata: dict[str, str] = field(default_factory=dict)  # stored with the weights
    versions: dict[str, str] = field(default_factory=dict)
    launched_at: float = 0.0  # time.time() when the launcher started the ranks
