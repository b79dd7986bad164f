"""Per-window text metrics and the non-learned baseline at the same 900-cell budget.

Metrics compare the text before each window's first ``END`` (bytes of UTF-8, so for
ASCII text a byte is a character):

- ``char_accuracy``: bytes decoded right at their position, divided by the longer of the
  true and decoded texts (a decoded text that ends early or runs on loses accuracy).
- ``exact_window_accuracy``: 1 when the decoded text equals the true text exactly.
- ``chars_per_puzzle``: bytes of true text the window holds.
- ``correct_chars_per_puzzle``: bytes decoded right, the figure to compare with the
  baseline's 300.
- ``mse01``: squared error of symbol values scaled to [0, 1] (byte / 256, ``END`` = 1),
  averaged over every position of the window; 0 exactly when the window is decoded right.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sage_language_puzzle.text import END, text_lengths

#: Symbols the baseline carries: three decimal digits per symbol fill 900 cells.
BASELINE_BYTES = 300


def text_metrics(x: Tensor, x_hat: Tensor) -> dict[str, Tensor]:
    """``(N, L)`` true and decoded symbols -> ``{name: (N,)}``."""
    true_length, decoded_length = text_lengths(x), text_lengths(x_hat)
    positions = torch.arange(x.shape[1], device=x.device).expand_as(x)
    inside_both = positions < torch.minimum(true_length, decoded_length).unsqueeze(1)
    correct = ((x == x_hat) & inside_both).sum(1).float()
    longer = torch.maximum(true_length, decoded_length).float()
    char_accuracy = torch.where(longer > 0, correct / longer.clamp(min=1), 1.0)
    exact = (true_length == decoded_length) & (correct == true_length.float())
    mse01 = ((x.float() - x_hat.float()) / END).pow(2).mean(1)
    return {
        "char_accuracy": char_accuracy,
        "exact_window_accuracy": exact.float(),
        "chars_per_puzzle": true_length.float(),
        "correct_chars_per_puzzle": correct,
        "mse01": mse01,
    }


def baseline_codec(x: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, L)`` symbols -> ``(codes (N, 30, 30), x_hat (N, L))``.

    Each of the first 300 symbols (0-256, ``END`` included) becomes its three decimal
    digits; the rest of a longer window is lost (decoded as ``END``).
    """
    head = torch.full((len(x), BASELINE_BYTES), END, dtype=torch.int64, device=x.device)
    kept = min(BASELINE_BYTES, x.shape[1])
    head[:, :kept] = x[:, :kept].long()
    digits = torch.stack([head // 100, head // 10 % 10, head % 10], dim=-1)
    codes = digits.reshape(len(x), 30, 30)
    decoded = (digits * torch.tensor([100, 10, 1], device=x.device)).sum(-1)
    x_hat = torch.full_like(x, END, dtype=torch.int64)
    x_hat[:, :kept] = decoded[:, :kept]
    return codes, x_hat
