"""``train``'s selection chooses the hybrid's weights on validation: content enters users' lists
where it was measured to help, and not where it was not."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from recommender.evaluation.hybrid_weights import select_hybrid
from recommender.evaluation.splits import Split
from tests.content.conftest import (
    COLD_PER_SECTOR,
    JOBS_PER_SECTOR,
    SECTORS,
    USERS_PER_SECTOR,
    content_settings,
    job_id,
    sector_catalogue,
    sector_records,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(records: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [r["user_id"] for r in records],
            "job_id": [r["job_id"] for r in records],
            "is_redirect": [r["type"] == "redirect" for r in records],
            "timestamp": [T0] * len(records),
        },
        schema={
            "user_id": pl.Int64(),
            "job_id": pl.Int64(),
            "is_redirect": pl.Boolean(),
            "timestamp": pl.Datetime("us", "UTC"),
        },
    )


def _clicks_on_cold_jobs() -> list[dict[str, object]]:
    """Each active user then clicks the first cold job of their own sector."""
    return [
        {"user_id": 100 + s * USERS_PER_SECTOR + u, "job_id": job_id(s, k), "type": "redirect"}
        for s in range(len(SECTORS))
        for u in range(USERS_PER_SECTOR)
        for k in (JOBS_PER_SECTOR - COLD_PER_SECTOR,)
    ]


def test_cold_clicks_in_validation_bring_cold_jobs_into_lists() -> None:
    split = Split("time", _events(sector_records()), _events(_clicks_on_cold_jobs()))
    chosen, info = select_hybrid(split, content_settings(min_cold_weight=0.0), sector_catalogue())
    assert chosen.content.cold_weight > 0
    assert info["cold_job_clicks"] == len(SECTORS) * USERS_PER_SECTOR
    assert len(info["trials"]) == 18
    scores = {(t["cold_weight"], t["history_weight"]): t["score"] for t in info["trials"]}
    assert scores[chosen.content.cold_weight, chosen.content.history_weight] > scores[0.0, 0.0]


def test_without_cold_clicks_the_lists_stay_the_models_own() -> None:
    records = sector_records()
    held = {(r["user_id"], r["job_id"]) for r in records[-40:]}
    train = [r for r in records if (r["user_id"], r["job_id"]) not in held]
    test = [r for r in records if (r["user_id"], r["job_id"]) in held and r["type"] == "redirect"]
    split = Split("time", _events(train), _events(test))
    chosen, info = select_hybrid(split, content_settings(min_cold_weight=0.0), sector_catalogue())
    assert info["cold_job_clicks"] == 0
    assert chosen.content.cold_weight == 0.0
    # by default new postings keep a place in lists: the grid starts at min_cold_weight
    floored, info = select_hybrid(split, content_settings(), sector_catalogue())
    assert floored.content.cold_weight == 1.0
    assert {t["cold_weight"] for t in info["trials"]} == {1.0, 2.0}


def _pick_of(trials: list[tuple[float, float, float, float, float]], share: float) -> float:
    from recommender.evaluation.hybrid_weights import _pick

    keys = ("cold_weight", "history_weight", "score", "cold_hit_rate", "warm_hit_rate")
    return _pick([dict(zip(keys, t, strict=True)) for t in trials], share)["cold_weight"]


def test_a_cold_share_takes_the_smallest_cold_weight_reaching_it() -> None:
    trials = [
        (1.0, 0.0, 0.30, 0.05, 0.40),  # best NDCG, new jobs barely shown
        (2.0, 0.0, 0.28, 0.10, 0.38),
        (3.0, 0.0, 0.25, 0.15, 0.36),  # the first to give cold clicks a third of the hits
        (4.0, 0.0, 0.20, 0.20, 0.30),
    ]
    assert _pick_of(trials, 0.0) == 1.0
    assert _pick_of(trials, 1 / 3) == 3.0
    assert _pick_of(trials, 0.9) == 4.0  # none reaches it: the most exposure on offer


def test_a_cold_share_in_train_selection_is_met_on_validation() -> None:
    records = sector_records()
    held = {(r["user_id"], r["job_id"]) for r in records[-60:]}
    train = [r for r in records if (r["user_id"], r["job_id"]) not in held]
    test = [r for r in records if (r["user_id"], r["job_id"]) in held and r["type"] == "redirect"]
    split = Split("time", _events(train), _events(test + _clicks_on_cold_jobs()[::4]))
    chosen, info = select_hybrid(split, content_settings(cold_share=0.5), sector_catalogue())
    assert info["cold_share"] == 0.5
    assert {t["cold_weight"] for t in info["trials"]} == {1.0, 2.0, 3.0, 4.0}
    kept = [
        t
        for t in info["trials"]
        if (t["cold_weight"], t["history_weight"])
        == (chosen.content.cold_weight, chosen.content.history_weight)
    ]
    assert len(kept) == 1
    reaching = [t for t in info["trials"] if t["cold_hit_rate"] >= 0.5 * t["warm_hit_rate"] > 0]
    assert reaching, "the small world's cold clicks are within reach"
    assert chosen.content.cold_weight == min(t["cold_weight"] for t in reaching)
