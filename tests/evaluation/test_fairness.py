"""Exposure metrics: Gini of jobs and employers, the long tail's share, employer coverage."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.evaluation.fairness import exposure, fairness_at_k, gini, long_tail


def test_gini_of_known_distributions() -> None:
    assert gini(np.array([1.0, 1.0, 1.0, 1.0])) == 0.0
    assert gini(np.zeros(5)) == 0.0
    assert gini(np.array([], dtype=np.float64)) == 0.0
    # one of n takes everything: (n - 1) / n
    assert gini(np.array([0.0, 0.0, 0.0, 8.0])) == pytest.approx(0.75)
    # mean absolute difference over twice the mean, by brute force
    x = np.array([1.0, 2.0, 3.0, 10.0])
    brute = np.abs(x[:, None] - x[None, :]).mean() / (2 * x.mean())
    assert gini(x) == pytest.approx(brute)
    with pytest.raises(ValueError, match="non-negative"):
        gini(np.array([1.0, -1.0]))


def test_exposure_counts_or_discounts_each_appearance() -> None:
    lists = np.array([[0, 1, -1], [1, 2, 0]], dtype=np.int64)
    np.testing.assert_array_equal(exposure(lists, 3, 4), [2.0, 2.0, 1.0, 0.0])
    np.testing.assert_array_equal(exposure(lists, 1, 4), [1.0, 1.0, 0.0, 0.0])
    weighted = exposure(lists, 3, 4, position_weighted=True)
    np.testing.assert_allclose(
        weighted, [1 + 1 / np.log2(4), 1 / np.log2(3) + 1, 1 / np.log2(3), 0]
    )


def test_the_long_tail_is_outside_the_most_popular_fifth() -> None:
    popularity = np.array([5.0, 1.0, 9.0, 1.0, 0.0, 3.0, 3.0, 2.0, 1.0, 1.0])
    np.testing.assert_array_equal(np.flatnonzero(~long_tail(popularity)), [0, 2])


def test_fairness_of_lists_that_show_one_employer_only() -> None:
    popularity = np.array([10.0, 8.0, 1.0, 1.0, 0.0])
    employers = np.array([0, 0, 1, 2, -1])
    concentrated = np.array([[0, 1], [1, 0], [0, 1]], dtype=np.int64)
    spread = np.array([[2, 3], [3, 2], [0, 1]], dtype=np.int64)
    (got,) = fairness_at_k(concentrated, [2], popularity, employers).values()
    assert got["employer_coverage"] == pytest.approx(1 / 3)
    assert got["gini_employers"] == pytest.approx(2 / 3)  # one of three employers takes it all
    # the head is ceil(0.2 · 5) = 1 job (job 0): job 1's half of the exposure is the tail's
    assert got["long_tail_share"] == pytest.approx(0.5)
    (fair,) = fairness_at_k(spread, [2], popularity, employers).values()
    assert fair["employer_coverage"] == 1.0
    assert fair["gini_employers"] < got["gini_employers"]
    assert fair["gini_jobs"] < got["gini_jobs"]
    assert fair["long_tail_share"] == pytest.approx(5 / 6)  # all but job 0's one appearance
    (none,) = fairness_at_k(spread, [2], popularity, None).values()
    assert none["employer_coverage"] == 0.0 and none["gini_employers"] == 0.0
