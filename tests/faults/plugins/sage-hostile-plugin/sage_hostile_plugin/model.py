"""Fields ``(N, 1, 30, 30)`` in [0, 1], one cell per pixel; the model is honest unless told otherwise.

``SAGE_HOSTILE_MODE`` (read at each call, so one trained run serves every mode):

- ``codes-256``, ``codes-negative``: integer codes outside 0-9;
- ``codes-nan``, ``codes-fraction``: float codes (NaN, 0.7);
- ``codes-shape``: one row short; ``codes-list``: a Python list, not a tensor;
- ``encode-raise``, ``decode-raise``, ``read-raise``: an exception inside plugin code;
- ``decode-nan``: NaN reconstructions; ``decode-count``: one reconstruction too few;
- ``join-raise``, ``join-bad``: ``windows_to_join`` raises, or names windows that do not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from sage_core import SPLITS, CompressorOutput, DataReport, DataSplits, InputError, Modality, PuzzleCompressor
from sage_core import TensorListDataset

MODES = ("codes-256", "codes-negative", "codes-nan", "codes-fraction", "codes-shape", "codes-list", "encode-raise",
         "decode-raise", "read-raise", "decode-nan", "decode-count", "join-raise", "join-bad")


#: A metric name holding what rich reads as markup: tables must show it as it is.
MARKUP_METRIC = "[/bold] [link=x]odd[/link] metric"


def mode() -> str:
    return os.environ.get("SAGE_HOSTILE_MODE", "")


class HostileModality(Modality):
    name = "hostile"
    primary_metric = "mse01"

    def prepare(self, observation: object) -> Tensor:
        return torch.as_tensor(np.asarray(observation, dtype=np.float32)).reshape(-1, 1, 30, 30).clamp(0, 1)

    def read_file(self, path: Path) -> Tensor:
        if mode() == "read-raise":
            raise ValueError("hostile reader [/bold] gave up")
        try:
            return self.prepare(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise InputError(path, f"not a readable .npy file ({exc})") from None

    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        path = Path(path).with_suffix(".npy")
        np.save(path, x.detach().cpu().numpy()[:, 0])
        return [path]

    def windows_to_join(self, times):
        if mode() == "join-raise":
            raise RuntimeError("hostile joiner gave up")
        if mode() == "join-bad":
            return [len(times), 0]
        return super().windows_to_join(times)

    def build_datasets(self, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
        generator = torch.Generator().manual_seed(0)
        report.source = "random fields"
        return DataSplits.from_datasets({split: TensorListDataset(torch.rand(8, 1, 30, 30, generator=generator))
                                         for split in SPLITS}, report)

    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        mse = ((x - x_hat) ** 2).flatten(1).mean(1)
        return {"mse01": mse, MARKUP_METRIC: mse.sqrt()}  # a name rich would read as markup

    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        codes = torch.clamp(torch.floor(x.squeeze(1) * 10), 0, 9).long()
        return codes, ((codes.float() + 0.5) / 10).unsqueeze(1)

    def cell_intensity(self, x: Tensor) -> Tensor:
        return x.squeeze(1)


class HostileCompressor(PuzzleCompressor):
    id = "hostile_puzzle"
    Modality = HostileModality

    def __init__(self, config=None) -> None:
        super().__init__(config)
        self.scale = nn.Parameter(torch.ones(()))

    def encode_codes(self, x: Tensor) -> Tensor:
        codes = torch.clamp(torch.floor(x.squeeze(1) * 10 * self.scale), 0, 9).long()
        how = mode()
        if how == "encode-raise":
            raise RuntimeError("hostile encoder [/bold] gave up")
        bad = {"codes-256": lambda: torch.full_like(codes, 256), "codes-negative": lambda: codes - 1,
               "codes-nan": lambda: torch.full(codes.shape, float("nan")),
               "codes-fraction": lambda: torch.full(codes.shape, 0.7), "codes-shape": lambda: codes[:, 1:],
               "codes-list": lambda: codes.tolist()}
        return bad[how]() if how in bad else codes

    def decode_codes(self, codes: Tensor) -> Tensor:
        x_hat = ((codes.float() + 0.5) / 10 * self.scale).unsqueeze(1)
        how = mode()
        if how == "decode-raise":
            raise RuntimeError("hostile decoder gave up")
        if how == "decode-nan":
            return torch.full_like(x_hat, float("nan"))
        return x_hat[1:] if how == "decode-count" else x_hat

    def forward(self, x: Tensor) -> CompressorOutput:
        codes = self.encode_codes(x)
        x_hat = self.decode_codes(codes)
        loss = ((x_hat - x) ** 2).mean()
        return CompressorOutput(loss=loss, codes=codes, reconstruction=x_hat, logs={})
