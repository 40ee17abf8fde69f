"""Audiences measured against the test clickers, beside the most active and random users."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.evaluation.audience import METHODS, AudienceRecall, audience_recall
from recommender.evaluation.splits import Split
from recommender.recommender import Recommender
from recommender.training.fit import train
from tests.conftest import activities_frame
from tests.content.conftest import (
    USERS_PER_SECTOR,
    cold_jobs,
    content_settings,
    job_id,
    sector_dataset,
    sector_records,
)

NEWCOMER = 9999
"""A test clicker with no training activity: no list can hold them."""


def _clicks(pairs: list[tuple[int, int]]) -> list[dict[str, int | str]]:
    return [
        {"user_id": user, "job_id": job, "type": kind}
        for user, job in pairs
        for kind in ("impression", "redirect")
    ]


@pytest.fixture(scope="module")
def measured() -> dict[str, AudienceRecall]:
    """Three users of each cold job's sector click it; a user not yet redirected to warm job
    2000 (finance) clicks it, and so do a user already redirected to it and a newcomer."""
    train_records = sector_records()
    redirected = sorted(
        {int(r["user_id"]) for r in train_records if r["job_id"] == job_id(0, 0)}
        & {int(r["user_id"]) for r in train_records if r["type"] == "redirect"}
    )
    fresh = next(u for u in range(100, 100 + USERS_PER_SECTOR) if u not in redirected)
    pairs = [
        (100 + (j - 2000) // 100 * USERS_PER_SECTOR + k, j) for j in cold_jobs() for k in (1, 5, 9)
    ]
    pairs += [(fresh, job_id(0, 0)), (redirected[0], job_id(0, 0)), (NEWCOMER, cold_jobs()[0])]
    split = Split(
        "cold-jobs", activities_frame(train_records), activities_frame(_clicks(pairs)), None, {}
    )
    settings = content_settings()
    recommender = Recommender(train(sector_dataset(), settings))
    return audience_recall(recommender, split, settings, k=USERS_PER_SECTOR, seed=3)


def test_cold_jobs_audiences_hold_their_clickers(measured: dict[str, AudienceRecall]) -> None:
    cold = measured["cold jobs"]
    assert cold.job_ids.tolist() == cold_jobs()
    assert cold.clickers == 3 * len(cold_jobs()) + 1
    assert cold.known_clickers == 3 * len(cold_jobs())
    assert cold.sources == {"content": len(cold_jobs())}
    recall = cold.recall
    assert set(recall) == set(METHODS)
    np.testing.assert_allclose(recall["audience"], [0.75, 1, 1, 1, 1, 1])  # the newcomer: a miss
    # every user is as active as the next: the most active are the lowest ids, finance's users
    np.testing.assert_allclose(recall["most active"], [0.75, 1, 0, 0, 0, 0])
    assert recall["random active"].max() < 1
    assert cold.mean("audience") > cold.mean("most active")
    interval = cold.interval("most active")
    assert interval.low > 0


def test_warm_jobs_count_only_clicks_not_redirected_in_training(
    measured: dict[str, AudienceRecall],
) -> None:
    warm = measured["warm jobs"]
    assert warm.job_ids.tolist() == [job_id(0, 0)]
    assert warm.clickers == 1
    assert warm.sources == {"als": 1}
    assert warm.recall["audience"].tolist() == [1.0]
