"""Code statistics over a whole set: usage, perplexity, entropy, Spearman, spatial structure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sage_core.analysis.code_stats import (
    CodeIntensitySample,
    CodeStatistics,
    entropy_bits,
    perplexity,
    rank_average,
    spearman,
)


def test_whole_set_perplexity_is_not_the_mean_of_per_batch_values() -> None:
    """Ten batches each using one code: per batch 1.0, over the whole set 10 codes."""
    stats = CodeStatistics()
    per_batch = []
    for code in range(10):
        batch = np.full((8, 30, 30), code)
        stats.update(batch)
        per_batch.append(perplexity(np.bincount(batch.ravel(), minlength=10)))
    result = stats.as_dict()
    assert np.mean(per_batch) == pytest.approx(1.0)
    assert result["perplexity"] == pytest.approx(10.0)
    assert result["codes_used"] == 10
    assert result["entropy_bits"] == pytest.approx(math.log2(10))
    assert result["bits_per_puzzle"] == pytest.approx(900 * math.log2(10))
    assert result["code_histogram"] == [8 * 900] * 10


def test_skewed_usage_gives_entropy_between_bounds() -> None:
    rng = np.random.default_rng(0)
    codes = rng.choice(10, size=(50, 30, 30), p=[0.5, 0.3, 0.2] + [0.0] * 7)
    stats = CodeStatistics()
    for chunk in np.array_split(codes, 7):
        stats.update(chunk)
    result = stats.as_dict()
    expected = -sum(p * math.log2(p) for p in (0.5, 0.3, 0.2))
    assert result["codes_used"] == 3
    assert result["entropy_bits"] == pytest.approx(expected, abs=0.01)
    assert result["perplexity"] == pytest.approx(2**expected, abs=0.02)
    assert sum(result["code_histogram"]) == 50 * 900


def test_cell_entropy_and_neighbour_agreement_see_structure() -> None:
    """Columns of constant code agree along rows; only column 0 varies across samples."""
    codes = np.tile(np.arange(30) % 10, (4, 30, 1))  # (4, 30, 30): cell (r, c) = c % 10
    codes[:, :, 0] = 5 + np.arange(4)[:, None]  # never equal to column 1 (code 1)
    stats = CodeStatistics()
    stats.update(codes)
    result = stats.as_dict()
    cell_entropy = np.array(result["cell_entropy"])
    assert cell_entropy.shape == (30, 30)
    assert cell_entropy[:, 0] == pytest.approx(2.0)  # 4 samples, 4 different codes
    assert cell_entropy[:, 1:] == pytest.approx(0.0)
    assert result["neighbour_agreement"]["rows"] == pytest.approx(1.0)
    assert result["neighbour_agreement"]["cols"] == pytest.approx(0.0)


def test_update_rejects_codes_out_of_range() -> None:
    with pytest.raises(ValueError, match="0-9"):
        CodeStatistics().update(np.full((1, 30, 30), 10))


def test_entropy_of_empty_counts_is_zero() -> None:
    assert entropy_bits(np.zeros(10)) == 0.0


def test_rank_average_gives_ties_their_mean_rank() -> None:
    assert rank_average(np.array([3, 1, 3, 2])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_spearman_of_monotonic_and_reversed_and_constant() -> None:
    x = np.arange(100)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert spearman(x, np.ones(100)) is None


def test_code_intensity_sample_is_batch_size_independent_and_capped() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 10, size=(40, 30, 30))
    intensity = codes + rng.normal(0, 2.0, size=codes.shape)
    results = []
    for batch in (1, 7, 40):
        sample = CodeIntensitySample(total_cells=codes.size, max_cells=5_000)
        for start in range(0, 40, batch):
            sample.update(codes[start : start + batch], intensity[start : start + batch])
        results.append(sample.as_dict())
    assert results[0] == results[1] == results[2]
    assert results[0]["spearman_cells"] <= 5_000
    assert 0.5 < results[0]["code_order_spearman"] < 0.95
    medians = [results[0]["intensity_by_code"][str(k)]["median"] for k in range(10)]
    assert medians == sorted(medians)


def test_codes_ordered_within_each_puzzle_on_its_own_range_are_told_apart_from_disorder() -> None:
    """Two puzzles, each coded on its own range (the second twice as bright): order holds within each one,
    which the pooled figure blurs; shuffled codes have no order either way."""
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 10, size=(2, 30, 30))
    intensity = (codes + rng.uniform(0, 1, size=codes.shape)) * np.array([1.0, 2.0])[:, None, None] + \
        np.array([0.0, 9.0])[:, None, None]
    sample = CodeIntensitySample(total_cells=codes.size)
    sample.update(codes, intensity)
    ordered = sample.as_dict()
    assert ordered["code_order_within"] > 0.95
    assert ordered["code_order_spearman"] < ordered["code_order_within"] - 0.1
    shuffled = CodeIntensitySample(total_cells=codes.size)
    shuffled.update(rng.permuted(codes.reshape(2, -1), axis=1).reshape(codes.shape), intensity)
    assert abs(shuffled.as_dict()["code_order_within"]) < 0.1
    flat = CodeIntensitySample(total_cells=900)
    flat.update(np.full((1, 30, 30), 3), intensity[:1])
    assert flat.as_dict()["code_order_within"] is None  # a constant puzzle has no order to tell
