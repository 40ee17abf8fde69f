"""Immediate effect: users with events newer than the model are recalculated per request."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.bundle.trained import TrainedModel
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.data.funnel import ScoringRule
from recommender.errors import ExplainUnsupportedError
from recommender.events import Event, SQLiteEventStore
from recommender.events.fresh import MAX_PIECES, PIECE_BYTES, FreshEvents, UserEvents
from recommender.events.history import full_history
from recommender.recommender import RECALCULATED, Recommender
from recommender.settings import Settings
from recommender.training.fit import train
from tests.conftest import activities_frame, block_activities, tiny_settings

# block_activities: users 100-105 redirect to block 0's jobs 1000-1004 (all but one each),
# users 106-111 to block 1's jobs 1005-1009. User 100 never saw job 1000.
BLOCK0, BLOCK1 = set(range(1000, 1005)), set(range(1005, 1010))


@pytest.fixture
def store(tmp_path: Path) -> SQLiteEventStore:
    return SQLiteEventStore(tmp_path / "events.sqlite3")


def _served(trained: TrainedModel, store: SQLiteEventStore, events: list[Event]) -> Recommender:
    store.append(events)
    rec = Recommender(trained)
    rec.catch_up(store)
    return rec


def test_catch_up_takes_each_event_once(store: SQLiteEventStore) -> None:
    fresh = FreshEvents()
    store.append([Event(1, 10, "impression"), Event(1, 11, "redirect")])
    assert fresh.catch_up(store) == 2
    assert fresh.catch_up(store) == 0
    store.append([Event(1, 12, "impression"), Event(2, 10, "redirect")])
    assert fresh.catch_up(store) == 2
    one = fresh.get(1)
    assert one is not None and one.job_ids.tolist() == [10, 11, 12]
    assert one.impressions.tolist() == [1, 0, 1] and one.redirects.tolist() == [0, 1, 0]
    store.append([Event(1, 11, "redirect"), Event(1, 10, "impression")])
    fresh.catch_up(store)
    again = fresh.get(1)
    assert again is not None and again.job_ids.tolist() == [10, 11, 12]
    assert again.impressions.tolist() == [2, 0, 1] and again.redirects.tolist() == [0, 2, 0]
    assert len(fresh) == 6 and fresh.users == 2 and fresh.through == 6
    assert fresh.get(3) is None


def test_events_the_model_was_trained_on_are_not_counted_again(store: SQLiteEventStore) -> None:
    store.append([Event(1, 10, "impression"), Event(1, 11, "redirect")])
    fresh = FreshEvents(through=2)
    assert fresh.catch_up(store) == 0 and fresh.get(1) is None


def test_full_history_scores_like_training_on_everything(tiny_trained: TrainedModel) -> None:
    # user 100 gets 3 impressions of job 1000 and a redirect to it, an impression of 1001
    # (which it already redirected to) and an event about a job the model does not know
    new = [
        {"user_id": 100, "job_id": 1000, "type": "impression"},
        {"user_id": 100, "job_id": 1000, "type": "impression"},
        {"user_id": 100, "job_id": 1000, "type": "impression"},
        {"user_id": 100, "job_id": 1000, "type": "redirect"},
        {"user_id": 100, "job_id": 1001, "type": "impression"},
        {"user_id": 100, "job_id": 5555, "type": "redirect"},
    ]
    retrained = train(
        Dataset(
            ActivityLines.unweighted(activities_frame([*block_activities(), *new[:5]])),
            Catalogue(),
            (),
        ),
        tiny_settings(),
    )
    frame = activities_frame(new)
    events = UserEvents.count(frame["job_id"].to_numpy(), frame["is_redirect"].to_numpy())
    row = tiny_trained.users.row(100)
    history = full_history(tiny_trained, row, events, ScoringRule())
    assert history is not None
    expected = retrained.interactions[retrained.users.row(100)]
    assert history.matrix.indices.tolist() == expected.indices.tolist()
    assert history.matrix.data.tolist() == expected.data.tolist()
    assert set(tiny_trained.jobs.ids_of(history.redirected).tolist()) == {
        1000,
        1001,
        1002,
        1003,
        1004,
    }


def test_known_user_is_recalculated_and_new_redirects_are_excluded(
    tiny_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    before = Recommender(tiny_trained).recommend(100, 3)
    assert before.source == "als" and before.job_ids[0] == 1000
    rec = _served(tiny_trained, store, [Event(100, 1000, "redirect")])
    after = rec.recommend(100, 3)
    assert after.source == RECALCULATED
    assert 1000 not in after.job_ids.tolist()  # redirected to just now
    other = rec.recommend(101, 3)  # a user without new events keeps the precomputed list
    assert other.source == "als"


def test_brand_new_user_gets_personalised_results_at_once(
    tiny_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    assert Recommender(tiny_trained).recommend(7777, 3).source == "popular"
    rec = _served(
        tiny_trained, store, [Event(7777, 1005, "redirect"), Event(7777, 1006, "redirect")]
    )
    got = rec.recommend(7777, 3)
    assert got.source == RECALCULATED
    assert set(got.job_ids.tolist()) <= BLOCK1 - {1005, 1006}
    assert np.all(np.diff(got.scores) <= 0)


def test_events_about_unknown_jobs_only_leave_the_popular_list(
    tiny_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    rec = _served(tiny_trained, store, [Event(7777, 424242, "redirect")])
    assert rec.recommend(7777, 3).source == "popular"


def test_batch_matches_single_calls_with_fresh_users(
    tiny_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    rec = _served(
        tiny_trained, store, [Event(7777, 1005, "redirect"), Event(100, 1000, "redirect")]
    )
    users = [7777, 101, 100, 999_999]
    batch = rec.recommend_many(users, 3)
    assert [r.source for r in batch] == [RECALCULATED, "als", RECALCULATED, "popular"]
    for user, got in zip(users, batch, strict=True):
        single = rec.recommend(user, 3)
        assert got.job_ids.tolist() == single.job_ids.tolist()


def _block_model(model: str, **extra: Any) -> TrainedModel:
    settings = Settings(**{**tiny_settings().model_dump(), "model": model, **extra})
    return train(
        Dataset(ActivityLines.unweighted(activities_frame(block_activities())), Catalogue(), ()),
        settings,
    )


@pytest.mark.parametrize("model", ["itemknn", "userknn", "ease", "rp3beta"])
def test_neighbourhood_models_recalculate_too(model: str, store: SQLiteEventStore) -> None:
    rec = _served(_block_model(model), store, [Event(7777, 1005, "redirect")])
    got = rec.recommend(7777, 3)
    assert got.source == RECALCULATED
    assert set(got.job_ids.tolist()) <= BLOCK1


def test_a_model_that_cannot_fold_in_keeps_its_own_list(store: SQLiteEventStore) -> None:
    trained = _block_model("bpr", bpr={"factors": 4, "iterations": 5})
    rec = _served(trained, store, [Event(100, 1000, "redirect"), Event(7777, 1005, "redirect")])
    assert rec.recommend(100, 3).source == "bpr"
    assert rec.recommend(7777, 3).source == "popular"


def test_explain_names_own_block_past_jobs_with_shares(tiny_trained: TrainedModel) -> None:
    rec = Recommender(tiny_trained)
    out = rec.recommend(100, 2)
    explained = rec.explain(100, out, top=3)
    assert len(explained) == 2
    first = explained[0]
    assert 1 <= len(first) <= 3
    assert {job for job, _ in first} <= {1001, 1002, 1003, 1004}  # user 100's past jobs
    shares = [share for _, share in first]
    assert shares == sorted(shares, reverse=True)
    assert 0 < shares[0] <= 1 and sum(shares) <= 1 + 1e-6


def test_explain_covers_new_events_and_popular_lists(
    tiny_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    rec = _served(tiny_trained, store, [Event(7777, 1005, "redirect")])
    out = rec.recommend(7777, 2)
    assert all(parts and parts[0][0] == 1005 for parts in rec.explain(7777, out, 3))
    popular = rec.recommend(999_999, 2)
    assert rec.explain(999_999, popular, 3) == [[], []]


def test_explain_is_refused_by_models_without_one() -> None:
    rec = Recommender(_block_model("itemknn"))
    with pytest.raises(ExplainUnsupportedError, match="itemknn"):
        rec.explain(100, rec.recommend(100, 2), 3)


def test_old_bundles_without_funnel_counts_still_recalculate(
    tiny_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    rec = _served(replace(tiny_trained, funnel=None), store, [Event(100, 1000, "redirect")])
    got = rec.recommend(100, 3)
    assert got.source == RECALCULATED and 1000 not in got.job_ids.tolist()


def test_job_rules_hold_on_the_recalculated_path(
    rules_trained: TrainedModel, store: SQLiteEventStore
) -> None:
    from recommender.ranking.rules import Rules

    # a new user of block 0, whose best job 1000 expired in 2020 (see tests.conftest.block_jobs)
    rec = _served(rules_trained, store, [Event(7777, 1002, "redirect")])
    got = rec.recommend(7777, 3)
    assert got.source == RECALCULATED and 1000 not in got.job_ids.tolist()
    excluded = rec.recommend(7777, 3, rules=Rules.at_now([1001]))
    assert not {1000, 1001} & set(excluded.job_ids.tolist())
    capped = rec.recommend(7777, 9, "none", Rules.at_now(max_per_employer=1))
    employers = {1001: "acme", 1002: "acme", 1003: "acme", 1004: "bolt"}
    named = [employers.get(j) for j in capped.job_ids.tolist() if employers.get(j) == "acme"]
    assert capped.source == RECALCULATED and len(named) <= 1


def test_many_batches_for_one_user_add_up(store: SQLiteEventStore) -> None:
    fresh = FreshEvents()
    for k in range(20):  # more batches than pieces kept per user
        store.append([Event(1, 10 + k % 3, "redirect" if k % 2 else "impression")])
        fresh.catch_up(store)
    got = fresh.get(1)
    assert got is not None and got.job_ids.tolist() == [10, 11, 12]
    assert got.impressions.sum() + got.redirects.sum() == 20
    assert got.redirects.sum() == 10


def test_memory_is_bounded_and_evicted_users_are_read_back(store: SQLiteEventStore) -> None:
    budget = 40 * PIECE_BYTES
    fresh = FreshEvents(max_bytes=budget)
    for batch in range(10):  # 1,000 new users, 2 events each, in 10 posts
        users = range(batch * 100, batch * 100 + 100)
        store.append([Event(10_000 + u, 1000 + u % 7, "impression") for u in users])
        store.append([Event(10_000 + u, 1001, "redirect") for u in users])
        fresh.catch_up(store)

    assert fresh.held_bytes <= budget and fresh.users < 100
    assert len(fresh) == 2000
    first = fresh.get(10_000)  # evicted long ago: read back from the store
    assert first is not None
    assert dict(zip(first.job_ids.tolist(), first.redirects.tolist(), strict=True)) == {
        1000: 0.0,
        1001: 1.0,
    }
    assert fresh.get(123_456) is None  # no events: never read, or read and found empty


def test_an_evicted_user_with_newer_events_keeps_them_all(store: SQLiteEventStore) -> None:
    fresh = FreshEvents(max_bytes=PIECE_BYTES + 100)  # room for one user
    store.append([Event(1, 1000, "redirect"), Event(2, 1001, "impression")])
    fresh.catch_up(store)  # user 1 is evicted for user 2
    store.append([Event(1, 1000, "impression"), Event(1, 1002, "redirect")])
    fresh.catch_up(store)
    got = fresh.get(1)
    assert got is not None
    assert got.job_ids.tolist() == [1000, 1002]
    assert got.impressions.tolist() == [1.0, 0.0] and got.redirects.tolist() == [1.0, 1.0]
    assert fresh.may_have(1) and not fresh.may_have(3)


def test_redirects_are_kept_by_job_evicted_users_included(store: SQLiteEventStore) -> None:
    """Who was redirected to a job since the model (its audience leaves them out): every
    redirect, from many posts (merged past MAX_PIECES), after eviction too; impressions never."""
    fresh = FreshEvents(max_bytes=PIECE_BYTES + 100)  # room for one user: the rest are evicted
    assert fresh.redirected_to([1000])[0].tolist() == [] and fresh.redirect_bytes == 0
    for post in range(2 * MAX_PIECES + 1):
        user = 100 + post
        store.append(
            [
                Event(user, 1000 + post % 3, "redirect"),
                Event(user, 1000 + post % 3, "redirect"),  # a pair once, however many
                Event(user, 2000, "impression"),
            ]
        )
        fresh.catch_up(store)
    store.append([Event(100, 1001, "redirect")])
    fresh.catch_up(store)
    got = [ids.tolist() for ids in fresh.redirected_to([1000, 1001, 1002, 2000, 7])]
    posts = range(2 * MAX_PIECES + 1)
    assert got == [
        [100 + p for p in posts if p % 3 == 0],
        [100, *(100 + p for p in posts if p % 3 == 1)],
        [100 + p for p in posts if p % 3 == 2],
        [],
        [],
    ]
    assert fresh.users == 1 and 0 < fresh.redirect_bytes <= 16 * 2 * (2 * MAX_PIECES + 2)
