from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio
import numpy as np
import pytest

from recommender.bundle.trained import TrainedModel
from recommender.data.activities import ActivityLines
from recommender.data.catalogue import Catalogue
from recommender.data.dataset import Dataset
from recommender.errors import UnknownJobError
from recommender.ranking.rules import Rules
from recommender.ranking.topn import TopLists
from recommender.recommender import Recommender
from recommender.training.fit import train
from tests.conftest import activities_frame, block_activities, tiny_settings

# From tests.conftest.block_activities: user 100 (block 0) redirected to jobs 1001-1004, not 1000.


@pytest.fixture
def rec(tiny_trained: TrainedModel) -> Recommender:
    return Recommender(tiny_trained)


def test_known_user_gets_the_held_out_job_first_and_no_redirected_job(rec: Recommender) -> None:
    out = rec.recommend(100, 5)
    assert out.source == "als"
    assert out.job_ids[0] == 1000
    assert not set(out.job_ids.tolist()) & {1001, 1002, 1003, 1004}
    assert np.all(np.diff(out.scores) <= 0)


def test_exclude_seen_modes(rec: Recommender) -> None:
    none = rec.recommend(100, 10, "none")
    assert len(none.job_ids) == 10
    assert {1001, 1002, 1003, 1004} <= set(none.job_ids.tolist())
    everything = rec.recommend(100, 10, "all")
    assert len(everything.job_ids) == 6  # 10 jobs minus the 4 seen


def test_unknown_user_gets_popular_jobs(rec: Recommender, tiny_trained: TrainedModel) -> None:
    out = rec.recommend(999_999, 3)
    assert out.source == "popular"
    expected = np.argsort(-tiny_trained.popularity, kind="stable")[:3]
    assert out.job_ids.tolist() == tiny_trained.jobs.ids_of(expected).tolist()


def test_batch_equals_single_calls_in_request_order(rec: Recommender) -> None:
    users = [107, 999, 100, 111]
    batch = rec.recommend_many(users, 4)
    for user, got in zip(users, batch, strict=True):
        single = rec.recommend(user, 4)
        assert got.job_ids.tolist() == single.job_ids.tolist()
        assert got.source == single.source
        np.testing.assert_allclose(got.scores, single.scores, rtol=1e-5, atol=1e-6)


def test_similar_jobs_never_contain_the_job_and_stay_in_block(rec: Recommender) -> None:
    out = rec.similar_jobs(1000, 4)
    assert 1000 not in out.job_ids.tolist()
    assert set(out.job_ids.tolist()) <= {1001, 1002, 1003, 1004}


def test_similar_jobs_of_unknown_job_raises_naming_it(rec: Recommender) -> None:
    with pytest.raises(UnknownJobError, match="424242"):
        rec.similar_jobs(424242, 3)


def test_n_larger_than_catalogue_returns_what_exists(rec: Recommender) -> None:
    assert len(rec.recommend(100, 100, "none").job_ids) == 10
    assert len(rec.similar_jobs(1000, 100).job_ids) == 9
    assert len(rec.popular(100).job_ids) == 10


def test_precomputed_lists_equal_live_ranking(tiny_trained: TrainedModel) -> None:
    assert tiny_trained.user_top is not None
    live = Recommender(replace(tiny_trained, user_top=None))
    cached = Recommender(tiny_trained)
    users = tiny_trained.users.ids.tolist()
    for n in (1, 3, 10):
        for got, want in zip(
            cached.recommend_many(users, n), live.recommend_many(users, n), strict=True
        ):
            assert got.job_ids.tolist() == want.job_ids.tolist()
            np.testing.assert_allclose(got.scores, want.scores, rtol=1e-5, atol=1e-6)


def test_requests_beyond_the_precomputed_depth_are_ranked_live(
    tiny_trained: TrainedModel,
) -> None:
    assert tiny_trained.user_top is not None
    short = replace(
        tiny_trained,
        user_top=TopLists(tiny_trained.user_top.cols[:, :2], tiny_trained.user_top.scores[:, :2]),
    )
    rec = Recommender(short)
    assert len(rec.recommend(100, 2).job_ids) == 2
    assert (
        rec.recommend(100, 5).job_ids.tolist()
        == Recommender(tiny_trained).recommend(100, 5).job_ids.tolist()
    )


def test_precompute_can_be_switched_off(block_records: list[dict[str, Any]]) -> None:
    settings = tiny_settings().model_copy(update={"precompute_top": 0})
    trained = train(
        Dataset(ActivityLines.unweighted(activities_frame(block_records)), Catalogue(), ()),
        settings,
    )
    assert trained.user_top is None and trained.similar_top is None
    assert Recommender(trained).recommend(100, 1).job_ids.tolist() == [1000]


def test_precomputed_similar_jobs_equal_live_ranking(tiny_trained: TrainedModel) -> None:
    assert tiny_trained.similar_top is not None
    live = Recommender(replace(tiny_trained, similar_top=None))
    cached = Recommender(tiny_trained)
    for job in tiny_trained.jobs.ids.tolist():
        assert (
            cached.similar_jobs(job, 9).job_ids.tolist()
            == live.similar_jobs(job, 9).job_ids.tolist()
        )


@pytest.fixture
def shown_not_clicked() -> TrainedModel:
    """The block data plus one impression, never clicked, of user 100's held-out job 1000."""
    records = [*block_activities(), {"user_id": 100, "job_id": 1000, "type": "impression"}]
    return train(
        Dataset(ActivityLines.unweighted(activities_frame(records)), Catalogue(), ()),
        tiny_settings(),
    )


def test_jobs_only_shown_are_recommended_unless_all_seen_are_excluded(
    shown_not_clicked: TrainedModel,
) -> None:
    rec = Recommender(shown_not_clicked)
    assert 1000 in rec.recommend(100, 3, "redirected").job_ids.tolist()
    assert 1000 not in rec.recommend(100, 10, "all").job_ids.tolist()
    live = Recommender(replace(shown_not_clicked, user_top=None))
    assert (
        live.recommend(100, 3, "redirected").job_ids.tolist()
        == rec.recommend(100, 3).job_ids.tolist()
    )
    assert 1000 not in live.recommend_many([100], 10, "all")[0].job_ids.tolist()


def test_ranked_ahead_says_which_requests_are_slices(tiny_trained: TrainedModel) -> None:
    rec = Recommender(tiny_trained)
    assert rec.ranked_ahead(10, "redirected")
    assert not rec.ranked_ahead(10, "all")
    assert not rec.ranked_ahead(10, "none")
    assert rec.ranked_ahead(9)
    live = Recommender(replace(tiny_trained, user_top=None, similar_top=None))
    assert not live.ranked_ahead(1, "redirected")
    assert not live.ranked_ahead(1)


def test_a_page_past_the_lists_ranked_ahead_is_not_one(tiny_trained: TrainedModel) -> None:
    rec = Recommender(tiny_trained)
    assert tiny_trained.user_top is not None
    k = tiny_trained.user_top.k
    assert rec.ranked_ahead(2, "redirected", rules=Rules.at_now(offset=k - 2))
    assert not rec.ranked_ahead(2, "redirected", rules=Rules.at_now(offset=k - 1))


@pytest.mark.parametrize("employer", ["acme", "bolt", "core"])
def test_async_filtered_answers_equal_the_plain_ones(
    rules_trained: TrainedModel, employer: str
) -> None:
    # a filter on employer: some users' lists ranked ahead hold the page (sliced in the event
    # loop), others are short (scored in a worker thread); both give what recommend gives
    rec = Recommender(rules_trained)
    rules = Rules.at_now(filters={"employer": [employer]})

    async def both() -> list[tuple[list[int], list[int]]]:
        got = []
        for user in rules_trained.users.ids.tolist():
            answer = await rec.recommend_async(user, 2, rules=rules)
            got.append(
                (answer.job_ids.tolist(), rec.recommend(user, 2, rules=rules).job_ids.tolist())
            )
        for job in rules_trained.jobs.ids.tolist():
            answer = await rec.similar_jobs_async(job, 2, rules)
            got.append((answer.job_ids.tolist(), rec.similar_jobs(job, 2, rules).job_ids.tolist()))
        return got

    for asynchronous, plain in anyio.run(both):
        assert asynchronous == plain
