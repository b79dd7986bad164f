"""The probe recipe: two small classifiers, trained the same way on whatever they are given.

A probe reads either a puzzle, as one-hot codes ``(10, 30, 30)``, or continuous features
``(C, 30, 30)`` (the model input pooled to the grid, the ceiling), standardised per channel.

- ``linear``: multinomial logistic regression on all ``C x 900`` values with an L2 penalty,
  solved to convergence by full-batch L-BFGS (one-hot codes as a sparse matrix). A convex
  problem solved to its optimum, so the answer does not depend on a learning rate. AdamW
  was tried first and rejected: its per-weight step sizes let the 900 cells' noise outvote
  a label written into one cell (61 % where the optimum reaches 100 %, 2,000 samples).
- ``conv``: a 3x3 convolution with stride 2 (``width`` channels, 15x15), ReLU, a 3x3
  convolution with stride 2 (``2 width``, 8x8), ReLU, average pooling to 3x3 (so coarse
  position, e.g. low or high frequency, is kept), linear. AdamW on seeded mini-batches with
  a cosine-decayed rate for ``conv_steps`` steps (at most ``conv_max_passes`` passes).

The same seed and hyper-parameters for every input and every modality.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sage_core.grid import CELLS, GRID_SIZE, NUM_CODES

ProbeKind = Literal["linear", "conv"]
PROBE_KINDS: tuple[ProbeKind, ...] = ("linear", "conv")


@dataclass(frozen=True)
class ProbeRecipe:
    """The probes' fixed hyper-parameters; the same for every input and every modality."""

    #: Training samples at most: a seeded random subset of the train split.
    max_train: int = 2000
    #: Held-out samples at most: the first ones of the evaluated set.
    max_test: int = 10_000
    #: Linear probe: the L2 penalty on the mean cross-entropy, and L-BFGS iterations at most.
    linear_l2: float = 1e-3
    linear_iterations: int = 100
    #: Conv probe: AdamW steps on mini-batches, capped at this many passes over small data sets.
    conv_steps: int = 1000
    conv_max_passes: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    #: Channels of the conv probe's first layer (the second has twice as many).
    width: int = 16
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def tensor_digest(tensor: Tensor) -> str:
    """SHA-256 (hex) of a tensor's dtype, shape and values."""
    contiguous = tensor.detach().cpu().contiguous()
    digest = hashlib.sha256(f"{contiguous.dtype}{tuple(contiguous.shape)}".encode())
    digest.update(contiguous.numpy().tobytes())
    return digest.hexdigest()


class ProbeInput:
    """What a probe reads: puzzle codes ``(N, 30, 30)`` or continuous features ``(N, C, 30, 30)``."""

    def __init__(self, values: Tensor, codes: bool) -> None:
        self.codes = codes
        self.values = values.long() if codes else values.float()
        self._digest: str | None = None

    def digest(self) -> str:
        """SHA-256 of the values (computed once): what the probe cache knows this input by."""
        if self._digest is None:
            self._digest = tensor_digest(self.values)
        return self._digest

    def resolve(self) -> ProbeInput:
        return self

    @property
    def channels(self) -> int:
        return NUM_CODES if self.codes else int(self.values.shape[1])

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def dense(self) -> Tensor:
        """``(N, C, 30, 30)`` floats: one-hot codes, or the features themselves."""
        if not self.codes:
            return self.values
        return F.one_hot(self.values, NUM_CODES).permute(0, 3, 1, 2).float()


class DeferredProbeInput:
    """A probe input known by its digest, computed only if a probe has to be trained on it.

    A warm probe cache answers from digests alone, so the training samples are not
    encoded again; ``resolve()`` encodes them (once, through ``load``) on a miss.
    """

    def __init__(self, digest: str, codes: bool, load: Callable[[], ProbeInput]) -> None:
        self.codes = codes
        self._known = digest
        self._load = load

    def digest(self) -> str:
        return self._known

    def resolve(self) -> ProbeInput:
        return self._load()


def standardise(train: ProbeInput, *others: ProbeInput) -> list[ProbeInput]:
    """Continuous features scaled per channel by the training set's mean and deviation; codes as they are."""
    if train.codes:
        return [train, *others]
    mean = train.values.mean(dim=(0, 2, 3), keepdim=True)
    std = train.values.std(dim=(0, 2, 3), keepdim=True).clamp(min=1e-6)
    return [ProbeInput((item.values - mean) / std, codes=False) for item in (train, *others)]


class ConvProbe(nn.Module):
    """Two 3x3 convolutions with stride 2 (30 -> 15 -> 8 cells), ReLU after each, 3x3 average pool, linear."""

    def __init__(self, channels: int, classes: int, width: int) -> None:
        super().__init__()
        self.first = nn.Conv2d(channels, width, 3, stride=2, padding=1)
        self.second = nn.Conv2d(width, 2 * width, 3, stride=2, padding=1)
        self.head = nn.Linear(2 * width * 9, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.second(F.relu(self.first(x))))
        return self.head(F.adaptive_avg_pool2d(x, 3).flatten(1))


@dataclass
class ProbeFit:
    """One trained probe's test predictions, how well it fits its training samples, its cost."""

    predictions: Tensor
    seconds: float
    train_accuracy: float


def fit_probe(kind: ProbeKind, train: ProbeInput, train_labels: Tensor, test: ProbeInput, classes: int,
              recipe: ProbeRecipe) -> ProbeFit:
    """Train one probe on ``train`` and predict ``test``; deterministic for a recipe and thread count."""
    if kind not in PROBE_KINDS:
        raise ValueError(f"probe kind must be one of {', '.join(PROBE_KINDS)}, got {kind!r}")
    started = time.perf_counter()
    train, test = standardise(train, test)
    fit = _fit_linear if kind == "linear" else _fit_conv
    predict = fit(train, train_labels, classes, recipe)
    with torch.no_grad():
        predictions = torch.cat([predict(test, i) for i in range(0, len(test), 1024)])
        fitted = torch.cat([predict(train, i) for i in range(0, len(train), 1024)])
    return ProbeFit(predictions, time.perf_counter() - started, float((fitted == train_labels).float().mean()))


# --- linear: L2 logistic regression by L-BFGS ------------------------------------------------


def _design(item: ProbeInput, start: int = 0, stop: int | None = None) -> Tensor:
    """Rows ``start:stop`` as the linear probe's ``(n, D)`` matrix: sparse one-hot for codes, else dense."""
    values = item.values[start:stop]
    n = len(values)
    if not item.codes:
        return values.reshape(n, -1)
    columns = (values.reshape(n, CELLS) + torch.arange(CELLS) * NUM_CODES).reshape(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.arange(0, n * CELLS + 1, CELLS), columns, torch.ones(n * CELLS),
                                       size=(n, CELLS * NUM_CODES))


def _transpose(matrix: Tensor) -> Tensor:
    """``matrix.T`` in a form that multiplies fast: CSR again for a sparse one-hot matrix."""
    if not matrix.is_sparse_csr:
        return matrix.t()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rows = torch.arange(matrix.shape[0]).repeat_interleave(matrix.crow_indices().diff())
        coo = torch.sparse_coo_tensor(torch.stack([matrix.col_indices(), rows]), matrix.values(),
                                      size=(matrix.shape[1], matrix.shape[0]))
        return coo.coalesce().to_sparse_csr()


def _fit_linear(train: ProbeInput, labels: Tensor, classes: int, recipe: ProbeRecipe) -> Any:
    """Minimise mean cross-entropy + ``l2 / 2 * |W|^2`` (bias not penalised); returns a predictor."""
    x = _design(train)
    x_t = _transpose(x)
    n, features = x.shape
    weight = torch.zeros(features, classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    target = F.one_hot(labels, classes).float()
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=recipe.linear_iterations, history_size=10,
                                  tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        # Gradients by hand: autograd does not multiply through a sparse CSR matrix's transpose fast.
        with torch.no_grad():
            logits = x @ weight + bias
            loss = F.cross_entropy(logits, labels) + 0.5 * recipe.linear_l2 * weight.pow(2).sum()
            residual = (logits.softmax(1) - target) / n
            weight.grad = x_t @ residual + recipe.linear_l2 * weight
            bias.grad = residual.sum(0)
        return loss

    optimizer.step(closure)

    def predict(item: ProbeInput, start: int) -> Tensor:
        return (_design(item, start, start + 1024) @ weight + bias).argmax(1)

    return predict


# --- conv: a small CNN by AdamW --------------------------------------------------------------


def _fit_conv(train: ProbeInput, labels: Tensor, classes: int, recipe: ProbeRecipe) -> Any:
    torch.manual_seed(recipe.seed)
    model = ConvProbe(train.channels, classes, recipe.width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    per_pass = -(-len(train) // recipe.batch_size)
    steps = min(recipe.conv_steps, recipe.conv_max_passes * per_pass)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    x = train.dense()
    model.train()
    for batch in _batches(len(train), recipe.batch_size, steps, torch.Generator().manual_seed(recipe.seed)):
        loss = F.cross_entropy(model(x[batch]), labels[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    model.eval()

    def predict(item: ProbeInput, start: int) -> Tensor:
        return model(ProbeInput(item.values[start : start + 1024], item.codes).dense()).argmax(1)

    return predict


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator) -> Iterator[Tensor]:
    """``steps`` mini-batches of sample indices: seeded shuffled passes over ``n`` samples."""
    done = 0
    while done < steps:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            if done == steps:
                return
            yield order[start : start + batch_size]
            done += 1
