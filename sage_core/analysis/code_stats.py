"""Statistics of puzzle codes accumulated over a whole data set (numpy only, no torch).

Averaging perplexity per batch would let ten batches that each use a single code score
1.0 while "using 10/10 codes". Here every statistic is a running count
updated batch by batch and turned into a number only at the end, over all samples.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sage_core.grid import CAPACITY_BITS, GRID_SIZE as GRID, MAX_BITS_PER_CELL, NUM_CODES


def entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Shannon entropy in bits of the distribution ``counts`` (along ``axis``); 0 when empty."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=axis, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    result = terms.sum(axis=axis)
    return float(result) if np.ndim(result) == 0 else result


def perplexity(counts: np.ndarray) -> float:
    """``2 ** H``: the number of equally likely codes with the same entropy (1 to 10)."""
    return float(2.0 ** entropy_bits(counts))


def rank_average(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``values`` with ties given their average rank (as Spearman needs)."""
    values = np.asarray(values)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho of two equally long 1-D arrays; None when either side is constant."""
    x, y = np.asarray(x).ravel(), np.asarray(y).ravel()
    if len(x) != len(y):
        raise ValueError(f"spearman needs equal lengths, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return None
    rx, ry = rank_average(x), rank_average(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denominator = math.sqrt(float((rx * rx).sum()) * float((ry * ry).sum()))
    if denominator == 0.0:
        return None
    return float((rx * ry).sum() / denominator)


class CodeStatistics:
    """Running counts over ``(N, 30, 30)`` code batches: per-cell histograms and neighbours.

    ``cell_counts[r, c, k]`` counts code ``k`` at cell ``(r, c)``; the agreement counts say
    how often a cell equals its neighbour along rows (next row down) and columns.
    """

    def __init__(self) -> None:
        self.cell_counts = np.zeros((GRID, GRID, NUM_CODES), dtype=np.int64)
        self.samples = 0
        self.rows_equal = 0
        self.cols_equal = 0

    def update(self, codes: np.ndarray) -> None:
        """Add a batch ``(N, 30, 30)`` of integer codes 0-9."""
        codes = np.asarray(codes, dtype=np.int64)
        if codes.ndim != 3 or codes.shape[1:] != (GRID, GRID):
            raise ValueError(f"expected codes (N, 30, 30), got {codes.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= NUM_CODES):
            raise ValueError(f"codes must be in 0-9, got {codes.min()}..{codes.max()}")
        cell_and_code = np.arange(GRID * GRID) * NUM_CODES + codes.reshape(len(codes), -1)
        counts = np.bincount(cell_and_code.ravel(), minlength=GRID * GRID * NUM_CODES)
        self.cell_counts += counts.reshape(GRID, GRID, NUM_CODES)
        self.samples += len(codes)
        self.rows_equal += int((codes[:, 1:, :] == codes[:, :-1, :]).sum())
        self.cols_equal += int((codes[:, :, 1:] == codes[:, :, :-1]).sum())

    @property
    def histogram(self) -> np.ndarray:
        """``(10,)`` counts of each code over every cell of every sample."""
        return self.cell_counts.sum(axis=(0, 1))

    def as_dict(self) -> dict[str, Any]:
        """Usage, perplexity and entropy over the whole set, plus per-cell structure."""
        histogram = self.histogram
        entropy = entropy_bits(histogram)
        pairs = self.samples * (GRID - 1) * GRID
        return {
            "codes_used": int((histogram > 0).sum()),
            "code_histogram": [int(v) for v in histogram],
            "perplexity": float(2.0**entropy),
            "entropy_bits": float(entropy),
            "entropy_fraction": float(entropy / MAX_BITS_PER_CELL),
            "bits_per_puzzle": float(GRID * GRID * entropy),
            "capacity_bits": CAPACITY_BITS,
            "cell_entropy": np.round(entropy_bits(self.cell_counts), 4).tolist(),
            "neighbour_agreement": {
                "rows": self.rows_equal / pairs if pairs else None,
                "cols": self.cols_equal / pairs if pairs else None,
            },
        }


class CodeIntensitySample:
    """Spearman between codes and decoded intensity: over all cells, and within each puzzle.

    Over all cells, a deterministic subsample: every ``stride``-th cell of the whole set (in
    data order) is kept, so the result does not depend on the batch size and stays below
    ``max_cells`` pairs. Within a puzzle, every cell, averaged over puzzles (those with a
    constant side left out): the order a codec that codes each sample on its own range
    (vision's luma range) promises, which the pooled figure mixes with the ranges.
    """

    def __init__(self, total_cells: int, max_cells: int = 200_000) -> None:
        self.stride = max(1, math.ceil(total_cells / max_cells))
        self.seen = 0
        self.codes: list[np.ndarray] = []
        self.intensity: list[np.ndarray] = []
        self.within: list[float] = []

    def update(self, codes: np.ndarray, intensity: np.ndarray) -> None:
        """Add a batch: ``codes`` and ``intensity`` both ``(N, 30, 30)``."""
        codes, intensity = np.asarray(codes), np.asarray(intensity, dtype=np.float64)
        if codes.shape != intensity.shape:
            raise ValueError(f"codes {codes.shape} and intensity {intensity.shape} differ in size")
        for one_codes, one_intensity in zip(codes.reshape(len(codes), -1), intensity.reshape(len(codes), -1)):
            finite = np.isfinite(one_intensity)
            rho = spearman(one_codes[finite], one_intensity[finite])
            if rho is not None:
                self.within.append(rho)
        codes, intensity = codes.ravel(), intensity.ravel()
        first = (-self.seen) % self.stride
        self.codes.append(codes[first :: self.stride].astype(np.int64))
        self.intensity.append(intensity[first :: self.stride])
        self.seen += len(codes)

    def as_dict(self) -> dict[str, Any]:
        """Spearman rho over all cells and within puzzles (None when undefined), per-code intensity quartiles."""
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, dtype=np.int64)
        intensity = np.concatenate(self.intensity) if self.intensity else np.zeros(0)
        finite = np.isfinite(intensity)
        codes, intensity = codes[finite], intensity[finite]
        by_code: dict[str, dict[str, float]] = {}
        for code in range(NUM_CODES):
            values = intensity[codes == code]
            if len(values):
                q05, q25, q50, q75, q95 = np.percentile(values, [5, 25, 50, 75, 95])
                by_code[str(code)] = {
                    "count": int(len(values)),
                    "q05": float(q05), "q25": float(q25), "median": float(q50),
                    "q75": float(q75), "q95": float(q95), "mean": float(values.mean()),
                }
        return {
            "code_order_spearman": spearman(codes, intensity),
            "code_order_within": float(np.mean(self.within)) if self.within else None,
            "spearman_cells": int(len(codes)),
            "intensity_by_code": by_code,
        }
