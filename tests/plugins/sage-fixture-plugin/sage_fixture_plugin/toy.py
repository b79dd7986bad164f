"""A tiny real modality and compressor: smooth fields (1, 30, 30) in [0, 1] -> puzzle -> fields.

The fields are labelled (0: darker than 0.5 on average, 1: brighter), so probes have
something to find. ``modality.labels`` also offers a label planted in one cell and a
shuffled-label control.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_core import (
    SPLITS,
    CompressorOutput,
    DataReport,
    DataSplits,
    FiniteScalarQuantizer,
    InputError,
    Modality,
    PuzzleCompressor,
    TensorListDataset,
)
from sage_fixture_plugin.toy_config import ToyConfig, ToyFieldsConfig


def smooth_fields(n: int, seed: int) -> Tensor:
    """``n`` random smooth fields ``(n, 1, 30, 30)`` in [0, 1], the same for the same seed."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 1, 6, 6, generator=generator)
    return F.interpolate(coarse, size=(30, 30), mode="bilinear", align_corners=True)


def read_npy(path: Path) -> Tensor:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable .npy file ({exc})") from None
    if array.shape[-2:] != (30, 30) or array.ndim not in (2, 3):
        raise InputError(path, f"expected shape (30, 30) or (N, 30, 30), got {array.shape}")
    x = torch.from_numpy(np.asarray(array, dtype=np.float32)).reshape(-1, 1, 30, 30)
    if not torch.isfinite(x).all():
        raise InputError(path, "contains NaN or inf")
    return x.clamp(0, 1)


def load_npy_folder(modality: Modality, path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
    """Every ``*.npy`` under ``path``; files sorted, each 5th to validation, next to test.

    When every file lies in a sub-folder (``path/<class>/*.npy``), the sub-folders are the classes.
    """
    if path is None:
        raise InputError("--data", "toy_npy_folder needs --data PATH")
    files = sorted(Path(path).rglob("*.npy"))
    labelled = bool(files) and all(len(file.relative_to(path).parts) > 1 for file in files)
    classes = tuple(sorted({file.relative_to(path).parts[0] for file in files})) if labelled else None
    splits: dict[str, list[Tensor]] = {"train": [], "validation": [], "test": []}
    labels: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
    for index, file in enumerate(files):
        split = ("validation", "test", "train", "train", "train")[index % 5]
        try:
            x = read_npy(file)
        except InputError as exc:
            report.skip(file, exc.problem, split)
            continue
        splits[split].append(x)
        labels[split] += [classes.index(file.relative_to(path).parts[0])] * len(x) if classes else []
    if not splits["train"]:
        raise InputError(path, "no readable .npy files")
    report.source = f"npy folder {path}"
    datasets = {s: TensorListDataset(torch.cat(splits[s]) if splits[s] else torch.zeros(0, 1, 30, 30),
                                     labels=labels[s] if classes else None) for s in SPLITS}
    return DataSplits.from_datasets(datasets, report, classes=classes)


def toy_labels(fields: Tensor, kind: str, seed: int) -> Tensor:
    """``(n,)`` labels of ``(n, 1, 30, 30)`` fields; "planted" also writes its label into the centre cell."""
    brightness = (fields.flatten(1).mean(1) > 0.5).long()
    generator = torch.Generator().manual_seed(seed)
    if kind == "shuffled":
        return brightness[torch.randperm(len(brightness), generator=generator)]
    if kind == "planted":
        planted = torch.randint(0, 2, (len(fields),), generator=generator)
        fields[:, 0, 15, 15] = torch.where(planted == 1, 0.98, 0.02)
        return planted
    return brightness


class ToyModality(Modality):
    """Smooth fields ``(N, 1, 30, 30)`` in [0, 1]; one cell per pixel."""

    name = "toy"
    Config = ToyFieldsConfig
    row_meaning = "field row"
    col_meaning = "field column"
    primary_metric = "rmse"
    config: ToyFieldsConfig

    def prepare(self, observation: object) -> Tensor:
        x = torch.as_tensor(np.asarray(observation, dtype=np.float32)).reshape(-1, 1, 30, 30)
        return x.clamp(0, 1)

    def read_file(self, path: Path) -> Tensor:
        return read_npy(Path(path))

    def write_output(self, x: Tensor, path: Path) -> list[Path]:
        path = Path(path).with_suffix(".npy")
        np.save(path, x.detach().cpu().numpy()[:, 0])
        return [path]

    def build_datasets(self, data_path: Path | None, cache_dir: Path, report: DataReport) -> DataSplits:
        if data_path is not None:
            return load_npy_folder(self, data_path, cache_dir, report)
        report.source = "generated smooth fields"
        sizes = {"train": self.config.train_samples, "validation": self.config.eval_samples,
                 "test": self.config.eval_samples}
        datasets = {}
        for seed, (split, n) in enumerate(sizes.items()):
            fields = smooth_fields(n, seed=1000 + seed)
            datasets[split] = TensorListDataset(fields, labels=toy_labels(fields, self.config.labels, seed=2000 + seed))
        classes = ("low", "high") if self.config.labels == "planted" else ("dark", "bright")
        return DataSplits.from_datasets(datasets, report, classes=classes)

    def reconstruction_metrics(self, x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
        mse = ((x - x_hat) ** 2).flatten(1).mean(1)
        return {"rmse": mse.sqrt(), "mse01": mse}

    def baseline_codec(self, x: Tensor) -> tuple[Tensor, Tensor]:
        codes = torch.clamp(torch.floor(x.squeeze(1) * 10), 0, 9).long()
        return codes, ((codes.float() + 0.5) / 10).unsqueeze(1)

    def cell_intensity(self, x: Tensor) -> Tensor:
        return x.squeeze(1)


class ToyCompressor(PuzzleCompressor):
    """``(N, 1, 30, 30)`` fields in [0, 1] -> ``(N, 30, 30)`` codes; one cell per pixel."""

    id = "toy_puzzle"
    Modality = ToyModality
    Config = ToyConfig

    def __init__(self, config: ToyConfig | None = None) -> None:
        super().__init__(config)
        c = self.config.channels
        self.encoder = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 1, 3, padding=1))
        self.quantizer = FiniteScalarQuantizer(10)
        self.decoder = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 1, 3, padding=1))

    def _latent(self, x: Tensor) -> Tensor:
        # A fixed skip from the input keeps codes ordered by brightness from step 0.
        return self.encoder(x).squeeze(1) + 8.0 * (x.squeeze(1) - 0.5)

    def encode_codes(self, x: Tensor) -> Tensor:
        return self.quantizer.codes_from_latent(self._latent(x))

    def decode_values(self, values: Tensor) -> Tensor:
        v = values.unsqueeze(1)
        return torch.clamp(v + self.decoder(v), 0, 1)

    def decode_codes(self, codes: Tensor) -> Tensor:
        return self.decode_values(self.quantizer.values_from_codes(codes))

    def forward(self, x: Tensor) -> CompressorOutput:
        values, codes = self.quantizer(self._latent(x))
        x_hat = self.decode_values(values)
        loss = F.mse_loss(x_hat, x)
        return CompressorOutput(loss=loss, codes=codes, reconstruction=x_hat, logs={"mse": loss.detach()})


class ToyReference(ToyCompressor):
    """The same model registered as a reference (as a prototype re-implementation would be)."""

    id = "toy_reference"
