from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recommender.data.funnel import ScoringRule, implicit_score, score_counts
from recommender.data.pair_counts import score_activities


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((3, 1), 3),
        ((1, 3), 7),
        ((2, 0), 1),
        ((0, 1), 2),
        ((10, 10), 30),
        ((0, 0), 0),
        ((25, 0), 1),
        ((0, 25), 20),
        ((1, 1), 3),
        ((5, 2), 6),
    ],
    ids=str,
)
def test_implicit_score_matches_the_rule(counts: tuple[int, int], expected: int) -> None:
    assert implicit_score(*counts) == expected


def test_vectorised_equals_scalar_on_a_grid() -> None:
    imp, red = np.meshgrid(np.arange(15), np.arange(15))
    vec = score_counts(imp.ravel(), red.ravel())
    scalar = [implicit_score(int(i), int(r)) for i, r in zip(imp.ravel(), red.ravel(), strict=True)]
    assert vec.tolist() == scalar


def test_rule_is_configurable() -> None:
    rule = ScoringRule(clip=3, redirect_weight=5, impression_weight=0, unanswered_penalty=0)
    assert implicit_score(1, 10, rule) == 15
    assert implicit_score(4, 0, rule) == 1  # impression floor


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        score_counts(np.array([-1]), np.array([0]))


def test_score_activities_counts_each_pair() -> None:
    frame = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1, 2, 2],
            "job_id": [10, 10, 10, 11, 10, 10],
            "is_redirect": [False, False, True, False, True, True],
        }
    )
    pairs = score_activities(frame)
    got = {
        (u, j): (i, r, s)
        for u, j, i, r, s in zip(
            pairs.user_ids,
            pairs.job_ids,
            pairs.impressions,
            pairs.redirects,
            pairs.scores,
            strict=True,
        )
    }
    assert got == {(1, 10): (2, 1, implicit_score(2, 1)), (1, 11): (1, 0, 1), (2, 10): (0, 2, 4)}


def test_pairs_scoring_zero_are_dropped() -> None:
    rule = ScoringRule(impression_weight=0, unanswered_penalty=0, impression_floor=0)
    frame = pl.DataFrame({"user_id": [1, 2], "job_id": [10, 10], "is_redirect": [False, True]})
    pairs = score_activities(frame, rule)
    assert pairs.user_ids.tolist() == [2]


def test_weighted_rows_count_that_many_times() -> None:
    frame = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "job_id": [10, 10, 10],
            "is_redirect": [True, False, True],
            "weight": [3.0, 2.0, 0.5],
        }
    )
    pairs = score_activities(frame)
    assert pairs.redirects.tolist() == [3.0, 0.5]
    assert pairs.impressions.tolist() == [2.0, 0.0]
    assert pairs.scores[0] == implicit_score(2, 3)
    assert pairs.scores[1] == 2.0  # 2 · 0.5 = 1, raised to the redirect floor
