"""The JSON files of a run directory as pydantic models: what each holds, checked on reading.

``config.json`` (:class:`RunConfig`) says what was trained and how; ``summary.json``
(:class:`RunSummary`) how training ended; ``evaluation.json`` (:class:`Evaluation`) what
the analyzer measured. Readers go through these models, so a malformed file is refused
with one line naming it instead of a ``KeyError`` deep inside a command.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: ``summary.json`` statuses of a run that trained to its end: ``finished`` ran its planned
#: steps (epochs, or ``train.max_steps``); ``stopped`` was cut by its time cap (``train.max_minutes``).
FINISHED_STATUSES = ("finished", "stopped")
#: The three codecs every evaluation measures, in the order tables show them.
CODEC_KINDS = ("trained", "untrained", "baseline")
#: What the probes read: the three codecs' puzzles, then the continuous model input (the ceiling).
PROBE_INPUTS = (*CODEC_KINDS, "input")


class RunConfig(BaseModel):
    """``config.json``: what was trained, with which resolved config, data and seed."""

    model_config = ConfigDict(extra="ignore")

    compressor_id: str
    modality: str
    compressor_version: str | None = None
    plugin: str = ""
    plugin_version: str = ""
    #: A reference compressor (a re-implementation for benchmarks) is never picked by modality.
    reference: bool = False
    #: Where the class lived when the run was made; for people only: loading goes by id.
    factory: str = ""
    config: dict[str, Any]
    seed: int = 0
    data_path: str | None = None
    source: str | None = None
    device: str = "cpu"
    nproc: int = Field(1, ge=1)
    created: str = ""
    resumed: list[str] = Field(default_factory=list)
    sage_version: str = ""
    #: The source commit when sage runs from a git checkout (``-dirty`` with local changes).
    commit: str | None = None


class RunSummary(BaseModel):
    """``summary.json``: how training ended, and the figures of the run as a whole."""

    model_config = ConfigDict(extra="allow")

    status: Literal["finished", "stopped", "failed"]
    stop_reason: str | None = None
    steps: int | None = None
    total_steps: int | None = None
    epochs: float | None = None
    wall_s: float | None = None
    train_samples_per_s: float | None = None
    threads: int | None = None
    samples_seen: int | None = None
    final: dict[str, Any] | None = None
    best_validation_loss: float | None = None
    checkpoints: dict[str, str | None] | None = None
    parameters: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    data_sizes: dict[str, int] | None = None
    nproc: int | None = None
    ranks_in_sync: bool | None = None
    startup_s: float | None = None
    finished_at: str = ""
    error: str | None = None
    resume_with: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class CodecEvaluation(BaseModel):
    """One codec (trained, untrained or baseline) measured over a whole held-out set."""

    model_config = ConfigDict(extra="allow")

    codes_used: int
    code_histogram: list[int]
    perplexity: float
    entropy_bits: float
    entropy_fraction: float
    bits_per_puzzle: float
    capacity_bits: float
    cell_entropy: list[list[float]]
    neighbour_agreement: dict[str, float | None]
    code_order_spearman: float | None
    spearman_cells: int
    #: Mean Spearman within each puzzle (absent in evaluations before 2026-12-08).
    code_order_within: float | None = None
    intensity_by_code: dict[str, dict[str, float]]
    recon: dict[str, float]
    mse01: float | None = None


class Improvement(BaseModel):
    """The trained model against another codec in the primary metric."""

    trained: float
    other: float
    difference: float
    gain: float
    ratio: float | None
    relative: float | None
    trained_is_better: bool


class BatchInvariance(BaseModel):
    checked: int
    batch_size: int
    identical: bool
    cells_differing: int


class ProbeScore(BaseModel):
    """One probe trained on one input's training samples, scored on its held-out samples."""

    accuracy: float
    #: Per class (in ``Probes.classes`` order): the share of its test samples predicted right;
    #: None for a class without test samples.
    per_class_accuracy: list[float | None]
    #: ``confusion[true][predicted]``: counts over the test samples.
    confusion: list[list[int]]
    train_accuracy: float
    #: Seconds to train the probe and predict the test samples (to look it up, when cached).
    seconds: float
    #: True when an identical probe (same inputs, labels and recipe) trained before was reused.
    cached: bool = False


class ProbeInputResult(BaseModel):
    """Both probes on one input (a codec's puzzles, or the model input)."""

    description: str
    #: Seconds to compute this input for the training samples (the test samples' inputs are
    #: taken from the evaluation pass).
    prepare_seconds: float
    probes: dict[str, ProbeScore]


class Probes(BaseModel):
    """What a classifier can still read from each input: the puzzles against the model input.

    Only for labelled data; the recipe is ``sage_core.analysis.probe_models.ProbeRecipe``.
    """

    classes: list[str]
    #: The share of the test samples in their most common class: what always guessing it scores.
    chance: float
    train_samples: int
    test_samples: int
    recipe: dict[str, Any]
    inputs: dict[str, ProbeInputResult]
    seconds: float

    def accuracy(self, kind: str, probe: str) -> float | None:
        """Held-out accuracy of ``probe`` ("linear", "conv") on input ``kind``; None when not run."""
        result = self.inputs.get(kind)
        score = result.probes.get(probe) if result is not None else None
        return score.accuracy if score is not None else None

    def ratios(self) -> dict[str, dict[str, float | None]]:
        """Per probe: trained accuracy / the ceiling's, and trained - baseline (None when missing)."""
        ratios: dict[str, dict[str, float | None]] = {}
        for probe in ("linear", "conv"):
            trained, ceiling = self.accuracy("trained", probe), self.accuracy("input", probe)
            baseline = self.accuracy("baseline", probe)
            ratios[probe] = {
                "trained_over_input": trained / ceiling if trained is not None and ceiling else None,
                "trained_minus_baseline": trained - baseline if trained is not None and baseline is not None else None,
            }
        return ratios

    @model_validator(mode="after")
    def _consistent(self) -> Probes:
        for kind, result in self.inputs.items():
            for probe, score in result.probes.items():
                if len(score.per_class_accuracy) != len(self.classes) or len(score.confusion) != len(self.classes):
                    raise ValueError(f"inputs.{kind}.probes.{probe}: not one entry per class")
        return self


class Evaluation(BaseModel):
    """``evaluation.json``: the trained model against its untrained self and the baseline codec."""

    model_config = ConfigDict(extra="allow")

    split: str
    run: str
    seed: int | None = None
    #: What was evaluated: "test"/"validation" of the run's data, or a folder given with --data.
    data: str | None = None
    #: Where the example figures draw row 0 (the modality's ``figure_origin``): "upper" or "lower".
    figure_origin: Literal["upper", "lower"] = "upper"
    samples: int
    compressor_id: str
    modality: str
    primary_metric: str
    higher_is_better: bool
    ordered_codes: bool = True
    models: dict[str, CodecEvaluation]
    improvement: dict[str, Improvement]
    batch_invariance: BatchInvariance | None = None
    encode_latency_ms: float | None = None
    encode_throughput_per_s: float | None = None
    encode_timing: dict[str, Any] = Field(default_factory=dict)
    figures: list[str] = Field(default_factory=list)
    wall_s: float | None = None
    #: Probes of the labelled held-out data; None when the data carries no labels.
    probes: Probes | None = None

    @model_validator(mode="after")
    def _has_every_codec(self) -> Evaluation:
        missing = [kind for kind in CODEC_KINDS if kind not in self.models]
        if missing:
            raise ValueError(f"models lacks {', '.join(missing)}")
        if self.primary_metric not in self.models["trained"].recon:
            raise ValueError(f"models.trained.recon lacks the primary metric {self.primary_metric!r}")
        return self
