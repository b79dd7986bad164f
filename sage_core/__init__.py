"""SAGE: compress any sensor stream into one shared 30x30 puzzle of codes 0-9.

This module is the public surface plugins may use. Importing it is cheap: names that
need numpy, pydantic or torch are resolved on first access, so `sage --help` and
`sage plugins` never pay for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sage_core.grid import CELLS, GRID_SIZE, NUM_CODES
from sage_core.hookspecs import PLUGIN_API, hookimpl
from sage_core.lazy import lazy_names
from sage_core.specs import CompressorSpec, DataSourceSpec, ModalitySpec, SensorSpec

__version__ = "0.2.0"

_LAZY: dict[str, str] = {
    "Puzzle": "sage_core.puzzle",
    "PuzzleMeta": "sage_core.puzzle",
    "Modality": "sage_core.modality",
    "PuzzleCompressor": "sage_core.contract",
    "CompressorOutput": "sage_core.contract",
    "ModalityConfig": "sage_core.config",
    "CompressorConfig": "sage_core.config",
    "TrainingConfig": "sage_core.config",
    "SPLITS": "sage_core.data",
    "NO_LABEL": "sage_core.data",
    "DataReport": "sage_core.data",
    "DataSplits": "sage_core.data",
    "TensorListDataset": "sage_core.data",
    "cache_dir": "sage_core.data",
    "cached_arrays": "sage_core.data",
    "labels_of": "sage_core.data",
    "split_of": "sage_core.data",
    "FiniteScalarQuantizer": "sage_core.quantizers",
    "SageError": "sage_core.errors",
    "InputError": "sage_core.errors",
    "BadDataError": "sage_core.errors",
    "ConfigError": "sage_core.errors",
    "PluginError": "sage_core.errors",
    "TrainingRequest": "sage_core.training",
    "train": "sage_core.training",
    "warn_input": "sage_core.errors",
    "load_compressor": "sage_core.runs",
    "save_atomic": "sage_core.atomic",
    "write_bytes_atomic": "sage_core.atomic",
    "Sensor": "sage_core.streaming.sensor",
    "ReplaySensor": "sage_core.streaming.sensor",
    "SensorOptions": "sage_core.streaming.sensor",
    "AudioBlock": "sage_core.streaming.observations",
    "VideoFrame": "sage_core.streaming.observations",
    "SampleWindower": "sage_core.streaming.windows",
}

__all__ = [
    "CELLS",
    "GRID_SIZE",
    "NUM_CODES",
    "PLUGIN_API",
    "CompressorSpec",
    "DataSourceSpec",
    "ModalitySpec",
    "SensorSpec",
    "hookimpl",
    *_LAZY,
]


__getattr__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from sage_core.atomic import save_atomic, write_bytes_atomic
    from sage_core.config import CompressorConfig, ModalityConfig, TrainingConfig
    from sage_core.contract import CompressorOutput, PuzzleCompressor
    from sage_core.data import (
        NO_LABEL,
        SPLITS,
        DataReport,
        DataSplits,
        TensorListDataset,
        cache_dir,
        cached_arrays,
        labels_of,
        split_of,
    )
    from sage_core.errors import BadDataError, ConfigError, InputError, PluginError, SageError, warn_input
    from sage_core.modality import Modality
    from sage_core.puzzle import Puzzle, PuzzleMeta
    from sage_core.quantizers import FiniteScalarQuantizer
    from sage_core.runs import load_compressor
    from sage_core.streaming.observations import AudioBlock, VideoFrame
    from sage_core.streaming.sensor import ReplaySensor, Sensor, SensorOptions
    from sage_core.streaming.windows import SampleWindower
    from sage_core.training import TrainingRequest, train
