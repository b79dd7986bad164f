"""The toy configs; torch-free so ``sage info toy_puzzle`` stays light."""

from typing import Literal

from pydantic import Field

from sage_core import CompressorConfig, ModalityConfig, TrainingConfig


class ToyFieldsConfig(ModalityConfig):
    train_samples: int = Field(512, ge=8, description="size of the generated training split")
    eval_samples: int = Field(128, ge=4, description="size of each generated held-out split")
    labels: Literal["brightness", "planted", "shuffled"] = Field(
        "brightness", description="brightness: dark/bright by the field's mean; planted: a random label written "
        "into the centre cell (0.02 or 0.98); shuffled: the brightness labels in a random order (a control)")


class ToyConfig(CompressorConfig):
    modality: ToyFieldsConfig = ToyFieldsConfig()
    channels: int = Field(8, ge=1, description="hidden channels of encoder and decoder")
    train: TrainingConfig = TrainingConfig(
        epochs=2, batch_size=32, eval_batch_size=64, lr=3e-3, warmup_steps=5, log_every_s=1.0
    )
