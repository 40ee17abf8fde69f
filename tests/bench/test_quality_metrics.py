"""The quality benchmark's own metrics, on lists worked out by hand (bench/quality_metrics.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.quality_metrics import (
    coverage,
    paired_bootstrap,
    popularity_bias,
    popularity_percentiles,
    score_lists,
)

TEN = list(range(1, 11))


def test_ndcg_map_recall_on_a_hand_computed_case() -> None:
    lists = [TEN, [7], TEN, [0, 0, 0]]
    truth = [{2, 5, 99}, {7}, set(range(1, 13)), {1}]
    scores = score_lists(lists, truth)
    # user 0: hits at ranks 2 and 5 of 10; three relevant, so the ideal has three hits at the top
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert scores.ndcg[0] == pytest.approx(dcg / idcg)
    assert scores.ap[0] == pytest.approx((1 / 2 + 2 / 5) / 3)
    assert scores.recall[0] == pytest.approx(2 / 3)
    # user 1: one relevant job, first in a list of one
    assert (scores.ndcg[1], scores.ap[1], scores.recall[1]) == (1.0, 1.0, 1.0)
    # user 2: twelve relevant, ten hits: the ideal is over min(12, 10), recall over all twelve
    assert scores.ndcg[2] == pytest.approx(1.0)
    assert scores.ap[2] == pytest.approx(1.0)
    assert scores.recall[2] == pytest.approx(10 / 12)
    # user 3: no hit
    assert (scores.ndcg[3], scores.ap[3], scores.recall[3]) == (0.0, 0.0, 0.0)


def test_only_the_first_k_count() -> None:
    scores = score_lists([[*TEN, 11]], [{11}], k=10)
    assert scores.ndcg[0] == 0.0
    assert score_lists([[*TEN, 11]], [{11}], k=11).recall[0] == 1.0


def test_coverage_and_popularity_bias() -> None:
    assert coverage([[1, 2], [2, 3]], catalogue_size=6) == 0.5
    percentile = popularity_percentiles(np.array([5.0, 1.0, 3.0, 3.0]))
    assert percentile.tolist() == [1.0, 0.25, 0.75, 0.75]
    by_job = dict(zip([10, 11, 12, 13], percentile.tolist(), strict=True))
    assert popularity_bias([[10, 11], [10]], by_job) == pytest.approx((1 + 0.25 + 1) / 3)


def test_paired_bootstrap_finds_a_planted_difference() -> None:
    rng = np.random.default_rng(1)
    reference = rng.uniform(0, 0.5, size=400)
    ours = reference + 0.1 + rng.normal(0, 0.05, size=400)
    interval = paired_bootstrap(ours, reference, seed=3)
    assert interval.low < 0.1 < interval.high
    assert interval.low > 0.08 and interval.high < 0.12
    assert interval.mean == pytest.approx(float((ours - reference).mean()))
    assert paired_bootstrap(ours, reference, seed=3) == interval  # seeded


def test_paired_bootstrap_of_no_difference_is_zero() -> None:
    same = np.linspace(0, 1, 50)
    interval = paired_bootstrap(same, same.copy())
    assert (interval.mean, interval.low, interval.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap(same, same[:10])
