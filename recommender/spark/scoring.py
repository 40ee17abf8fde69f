"""The scoring rule in Spark SQL: events → one implicit score per (user, job) pair.

The same rule as :func:`recommender.data.funnel.score_counts`, in the same floating-point operations
(double, then rounded once to float), so a pair's score is bit for bit the local one: the counts
are sums of weights per pair (exact for whole-number and dyadic weights in any order of
summation), clipped, weighted, floored, and pairs scoring 0 are dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from pyspark.sql import functions as sf

from recommender.data.funnel import PairScores, ScoringRule

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

PAIR_COLUMNS = ("user_id", "job_id", "impressions", "redirects", "score")


def score_sql(rule: ScoringRule) -> str:
    """The rule as one Spark SQL expression over the columns ``impressions`` and ``redirects``."""
    i = f"least(impressions, {rule.clip})"
    r = f"least(redirects, {rule.clip})"
    raw = (
        f"({rule.redirect_weight} * {r} + {rule.impression_weight} * {i}"
        f" - {rule.unanswered_penalty} * greatest(0, {i} - {r}))"
    )
    floored = (
        f"CASE WHEN redirects > 0 THEN greatest({raw}, {rule.redirect_floor})"
        f" WHEN impressions > 0 THEN greatest({raw}, {rule.impression_floor})"
        f" ELSE {raw} END"
    )
    return f"CAST(greatest({floored}, 0) AS FLOAT)"


def score_pairs(events: DataFrame, rule: ScoringRule) -> DataFrame:
    """Each (user, job) pair's weighted impression and redirect counts (double) and its score
    (float), for the pairs scoring above 0."""
    weight = sf.col("weight").cast("double")
    counts = events.groupBy("user_id", "job_id").agg(
        sf.sum(sf.when(sf.col("is_redirect"), weight).otherwise(sf.lit(0.0))).alias("redirects"),
        sf.sum(sf.when(~sf.col("is_redirect"), weight).otherwise(sf.lit(0.0))).alias("impressions"),
    )
    scored = counts.select(
        "user_id", "job_id", "impressions", "redirects", sf.expr(score_sql(rule)).alias("score")
    )
    return scored.where(sf.col("score") > 0)


def within_window(events: DataFrame, window: timedelta, now: datetime) -> DataFrame:
    """``events`` without those from before ``now - window``; undated events stay."""
    start = now - window
    micros = round(start.timestamp() * 1_000_000)
    since = sf.timestamp_micros(sf.lit(micros))
    return events.where(sf.col("timestamp").isNull() | (sf.col("timestamp") >= since))


def collect_pairs(pairs: DataFrame) -> PairScores:
    """The scored pairs on the driver, sorted by (user, job) as the local scorer returns them."""
    table = pairs.select(*PAIR_COLUMNS).toArrow()
    users = table.column("user_id").to_numpy().astype(np.int64)
    jobs = table.column("job_id").to_numpy().astype(np.int64)
    order = np.lexsort((jobs, users))
    return PairScores(
        user_ids=np.ascontiguousarray(users[order]),
        job_ids=np.ascontiguousarray(jobs[order]),
        impressions=table.column("impressions").to_numpy().astype(np.float64)[order],
        redirects=table.column("redirects").to_numpy().astype(np.float64)[order],
        scores=table.column("score").to_numpy().astype(np.float32)[order],
    )
