"""The next-job hit rate that chooses the similar-jobs method."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from recommender.bundle.trained import TrainedModel
from recommender.data.pair_counts import score_activities
from recommender.evaluation.similar import NextJobs, next_job_hit_rate, next_jobs
from recommender.settings import Settings
from recommender.training.fit import fit_pairs

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(rows: list[tuple[int, int, bool, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "job_id": [r[1] for r in rows],
            "is_redirect": [r[2] for r in rows],
            "weight": [1.0] * len(rows),
            "timestamp": [T0 + timedelta(hours=r[3]) for r in rows],
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


def test_next_jobs_pairs_each_users_last_training_job_with_their_first_new_one() -> None:
    train = _events([(1, 10, True, 0), (1, 11, True, 2), (1, 12, False, 3), (2, 20, True, 1)])
    validation = _events(
        [
            (1, 11, True, 5),  # redirected to before: not a next job
            (1, 13, True, 6),
            (1, 14, True, 7),
            (2, 21, False, 5),  # an impression only
            (3, 30, True, 5),  # not in training
        ]
    )

    pairs = next_jobs(train, validation)

    assert pairs.previous.tolist() == [11]
    assert pairs.next.tolist() == [13]


def _block_model(settings: Settings) -> TrainedModel:
    """Two blocks of jobs (10-14 and 20-24) that only their own users redirect to."""
    rows = [(u, 10 + j, True, j) for u in range(6) for j in range(5) if (u + j) % 5 != 0]
    rows += [(u, 20 + j, True, j) for u in range(6, 12) for j in range(5) if (u + j) % 5 != 0]
    pairs = score_activities(_events(rows), settings.scoring)
    return fit_pairs(pairs, settings.model_copy(update={"model": "itemknn", "precompute_top": 0}))


def test_a_next_job_of_the_same_block_hits_and_one_of_the_other_block_misses() -> None:
    trained = _block_model(Settings(train_threads=1))
    pairs = NextJobs(
        previous=np.array([10, 11, 20, 10], dtype=np.int64),
        next=np.array([12, 24, 21, 99], dtype=np.int64),  # hit, miss, hit, unknown job: miss
    )

    assert next_job_hit_rate(trained, pairs, k=4) == 0.5
    assert next_job_hit_rate(trained, pairs, k=1) <= 0.5
    empty = NextJobs(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
    assert next_job_hit_rate(trained, empty) == 0.0
