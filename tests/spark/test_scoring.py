"""Spark SQL scores equal the local scorer bit for bit; the window drops old events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pytest

from recommender.data.funnel import PairScores, ScoringRule
from recommender.data.pair_counts import score_activities

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

pytestmark = [pytest.mark.spark, pytest.mark.usefixtures("spark")]

T0 = datetime(2024, 5, 1, tzinfo=UTC)
EVENTS_SCHEMA = {
    "user_id": pl.Int64(),
    "job_id": pl.Int64(),
    "is_redirect": pl.Boolean(),
    "weight": pl.Float64(),
    "timestamp": pl.Datetime("us", "UTC"),
}


def _events(rows: list[tuple[int, int, bool, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(*row, T0 + timedelta(hours=i)) for i, row in enumerate(rows)],
        schema=EVENTS_SCHEMA,
        orient="row",
    )


def _funnel(
    user: int, job: int, impressions: int, redirects: int
) -> list[tuple[int, int, bool, float]]:
    return [(user, job, False, 1.0)] * impressions + [(user, job, True, 1.0)] * redirects


def fixture_events() -> pl.DataFrame:
    """Funnels that exercise every part of the rule, in a shuffled order."""
    rows = [
        *_funnel(1, 10, 3, 1),  # 2·1 + 3 − 2 = 3
        *_funnel(1, 11, 1, 3),  # 2·3 + 1 = 7
        *_funnel(1, 12, 2, 0),  # 2 − 2 = 0, impression floor 1
        *_funnel(1, 13, 0, 1),  # 2, redirect floor 2
        *_funnel(2, 10, 12, 15),  # both clipped to 10: 30
        *_funnel(3, 15, 20, 0),  # clipped impressions, penalty: 0, floor 1
        (2, 11, False, 2.5),  # weighted: i = 2.5, r = 0.5: 1.5, redirect floor 2
        (2, 11, True, 0.5),
        (2, 12, False, 0.0),  # weight 0: no count, score 0, dropped
        (3, 14, True, 0.0),  # a redirect weighted 0 is no redirect: impression floor
        (3, 14, False, 1.0),
        (4, 16, True, 11.5),  # a weight above the clip
    ]
    order = np.random.default_rng(0).permutation(len(rows))
    return _events([rows[i] for i in order])


def random_events(n: int = 600, seed: int = 1) -> pl.DataFrame:
    """Random funnels over few users and jobs, with dyadic weights (exact in any sum order)."""
    rng = np.random.default_rng(seed)
    weights = rng.choice([0.0, 0.5, 1.0, 1.0, 1.0, 2.5, 3.0], size=n)
    rows = [
        (int(u), int(j), bool(r), float(w))
        for u, j, r, w in zip(
            rng.integers(1, 15, n),
            rng.integers(100, 120, n),
            rng.random(n) < 0.3,
            weights,
            strict=True,
        )
    ]
    return _events(rows)


RULES = {
    "default": ScoringRule(),
    "custom": ScoringRule(
        clip=5,
        redirect_weight=3,
        impression_weight=1,
        unanswered_penalty=2,
        redirect_floor=4,
        impression_floor=0,  # impression-only pairs can score 0 and are dropped
    ),
}


def _to_spark(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    return spark.createDataFrame(frame.to_arrow())


def _spark_scores(spark: SparkSession, frame: pl.DataFrame, rule: ScoringRule) -> PairScores:
    from recommender.spark.scoring import collect_pairs, score_pairs

    return collect_pairs(score_pairs(_to_spark(spark, frame), rule))


def assert_same_pairs(ours: PairScores, local: PairScores) -> None:
    for name in ("user_ids", "job_ids", "impressions", "redirects", "scores"):
        got, want = getattr(ours, name), getattr(local, name)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("rule_name", list(RULES), ids=list(RULES))
@pytest.mark.parametrize("events", [fixture_events, random_events], ids=["fixture", "random"])
def test_spark_sql_scores_equal_the_local_scorer(
    spark: SparkSession, rule_name: str, events: object
) -> None:
    frame = events()  # type: ignore[operator]
    rule = RULES[rule_name]
    local = score_activities(frame, rule)
    ours = _spark_scores(spark, frame, rule)
    assert_same_pairs(ours, local)
    assert len(ours) > 0


def test_fixture_scores_are_the_documented_ones(spark: SparkSession) -> None:
    pairs = _spark_scores(spark, fixture_events(), ScoringRule())
    scores = {
        (int(u), int(j)): float(s)
        for u, j, s in zip(pairs.user_ids, pairs.job_ids, pairs.scores, strict=True)
    }
    assert scores == {
        (1, 10): 3.0,
        (1, 11): 7.0,
        (1, 12): 1.0,
        (1, 13): 2.0,
        (2, 10): 30.0,
        (2, 11): 2.0,
        (3, 14): 1.0,
        (3, 15): 1.0,
        (4, 16): 20.0,
    }


def test_custom_rule_drops_the_pairs_scoring_zero(spark: SparkSession) -> None:
    pairs = _spark_scores(
        spark, _events(_funnel(1, 10, 2, 0) + _funnel(1, 11, 0, 1)), RULES["custom"]
    )
    assert list(zip(pairs.job_ids.tolist(), pairs.scores.tolist(), strict=True)) == [(11, 4.0)]


def test_window_drops_older_events_and_keeps_undated_ones(spark: SparkSession) -> None:
    from recommender.spark.scoring import within_window

    frame = pl.DataFrame(
        [
            (1, 10, True, 1.0, T0 - timedelta(days=100)),
            (1, 11, True, 1.0, T0 - timedelta(days=10)),
            (1, 12, True, 1.0, None),
        ],
        schema=EVENTS_SCHEMA,
        orient="row",
    )
    kept = within_window(_to_spark(spark, frame), timedelta(days=90), T0)
    assert sorted(row["job_id"] for row in kept.collect()) == [11, 12]
