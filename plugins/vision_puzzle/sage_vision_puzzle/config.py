"""Configs of the vision compressors (torch-free, so `sage info` stays fast).

Defaults are the recommended setting; docs/vision.md says how they were chosen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sage_core import CompressorConfig, ModalityConfig, TrainingConfig


class VisionConfig(ModalityConfig):
    """The vision modality: the input size and the embedded data."""

    resolution: int = Field(60, ge=30, description="images are resized to resolution x resolution (a multiple of 30)")
    embedded: Literal["photos", "digits"] = Field(
        "photos", description="embedded data without --data: crops of bundled photos (unlabelled) or "
        "scikit-learn's handwritten digits, recoloured and jittered (labelled 0-9)")
    train_crops: int = Field(6000, ge=1, description="embedded data: training samples (photo crops or digit images)")
    eval_crops: int = Field(600, ge=1, description="embedded data: samples per held-out split")

    @field_validator("resolution")
    @classmethod
    def _multiple_of_grid(cls, value: int) -> int:
        if value % 30:
            raise ValueError(f"must be a multiple of 30 (one cell = an integer patch), got {value}")
        return value


class VisionPuzzleConfig(CompressorConfig):
    """The vision puzzle compressor: a patch encoder and a residual decoder at 30x30."""

    modality: VisionConfig = VisionConfig()
    channels: int = Field(32, ge=4, description="feature channels at the 30x30 cell grid")
    encoder_blocks: int = Field(1, ge=0, description="residual 3x3 blocks after the patch embedding")
    decoder_blocks: int = Field(3, ge=1, description="residual 3x3 blocks before the pixel shuffle")
    luma_range: Literal["image", "fixed"] = Field(
        "image", description="codes span each image's own luma range, written in the 2x2 header cells at the "
        "bottom right (image), or the fixed range 0-1 with no header (fixed)")
    code_reach: float | None = Field(
        1.0, gt=0, description="levels the learned correction may move a cell's code from its luma level, so "
        "a puzzle stays a brightness map (null: no bound)")
    chroma_block: int = Field(5, ge=1, description="colour: cells per side of a block carrying one chroma class")
    chroma_classes: int = Field(
        8, ge=1, le=10, description="colour: palette size; a block's code sum modulo it names the class (1 = gray only)"
    )
    # Step-based (6 epochs, 1,128 steps): the same command and seed give the same model on any
    # machine; about 4 minutes on 2 idle cores (docs/vision.md).
    train: TrainingConfig = TrainingConfig(epochs=6, batch_size=32, lr=4e-3, warmup_steps=50)

    @field_validator("chroma_block")
    @classmethod
    def _divides_grid(cls, value: int) -> int:
        if 30 % value:
            raise ValueError(f"must divide the 30-cell grid side, got {value}")
        return value


class VisionPrototypeConfig(CompressorConfig):
    """The research prototype's vision model, re-implemented from its description for comparison."""

    modality: VisionConfig = VisionConfig()
    prototype_size: int = Field(224, ge=32, description="the prototype's input size (it upscaled CIFAR to 224)")
    # A constant rate: the run's model is its epoch of lowest validation loss.
    train: TrainingConfig = TrainingConfig(epochs=6, max_minutes=8.0, batch_size=16, lr=1e-3, warmup_steps=0,
                                           schedule="constant", select="validation")
