"""Jobs laid over a trained model: appended columns, the padded model, the extended hybrid."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bundle.audience import AudienceScorer
from recommender.bundle.listed import ListedJobs
from recommender.bundle.trained import TrainedModel
from recommender.content.hybrid import Hybrid
from recommender.data.listings import record_of
from recommender.matrix import AppendedIndex, IdIndex
from recommender.ranking.topn import rank_all
from recommender.training.fit import train
from tests.content.conftest import SECTORS, content_settings, sector_dataset


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train(sector_dataset(), content_settings())


def _job(job_id: int, sector: str = "nursing", **fields: object) -> dict[str, object]:
    return {"job_id": job_id, "title": "Nurse", "description": SECTORS[sector][2], **fields}


def test_appended_ids_get_rows_after_the_base_whatever_their_order() -> None:
    index = AppendedIndex(IdIndex([10, 20, 30]), np.array([25, 5], dtype=np.int64))
    assert len(index) == 5
    assert index.row(25) == 3 and index.row(5) == 4 and index.row(20) == 1
    assert index.row(6) is None
    rows, found = index.lookup([5, 30, 7])
    assert rows.tolist() == [4, 2, -1] and found.tolist() == [True, True, False]
    assert index.ids_of([3, 0]).tolist() == [25, 10]
    with pytest.raises(ValueError, match="new and unique"):
        AppendedIndex(IdIndex([10]), np.array([10], dtype=np.int64))


def test_the_extended_hybrid_is_the_one_built_from_scratch(trained: TrainedModel) -> None:
    listed = ListedJobs(trained)
    listed.apply([_job(5001)])
    view = listed.apply([_job(5002, "software"), _job(1, "finance")])
    assert len(view.jobs) == len(trained.jobs) + 3
    assert view.hybrid is not None and view.content is not None
    cold = np.bincount(view.interactions.indices, minlength=len(view.jobs)) == 0
    rebuilt = Hybrid(view.content, cold, view.hybrid.params)
    rows = np.arange(len(view.users), dtype=np.int64)
    scores = view.model.user_scores(rows, view.interactions)
    np.testing.assert_allclose(
        view.hybrid.blend(scores.copy(), view.interactions),
        rebuilt.blend(scores.copy(), view.interactions),
        rtol=1e-6,
    )


def test_the_model_scores_the_appended_jobs_zero_and_knows_no_similar(
    trained: TrainedModel,
) -> None:
    view = ListedJobs(trained).apply([_job(5001)])
    n = len(trained.jobs)
    rows = np.arange(3, dtype=np.int64)
    scores = view.model.user_scores(rows, view.interactions)
    np.testing.assert_array_equal(
        scores[:, :n], trained.model.user_scores(rows, trained.interactions)
    )
    assert (scores[:, n:] == 0).all()
    similar = view.model.similar_scores(np.array([0, n], dtype=np.int64))
    assert np.isneginf(similar[0, n:]).all() and np.isneginf(similar[1]).all()
    assert view.model.kind == trained.model.kind
    assert view.user_top is None  # lists ranked ahead know no appended job


def test_a_change_to_a_known_job_moves_no_column(trained: TrainedModel) -> None:
    job = int(trained.jobs.ids[0])
    assert trained.catalogue is not None
    record = record_of(trained.catalogue.jobs, job)
    assert record is not None
    view = ListedJobs(trained).apply([record | {"expires_at": "2001-01-01T00:00:00+00:00"}])
    assert view.jobs == trained.jobs
    assert view.job_meta is not None
    assert view.job_meta.expires_at[0] == 978_307_200 * 1_000_000
    assert view.user_top is trained.user_top  # still valid: expiry is applied at request time


def test_a_new_text_for_a_known_job_sends_lists_to_be_scored_live(trained: TrainedModel) -> None:
    view = ListedJobs(trained).apply([_job(int(trained.jobs.ids[0]))])  # a finance job, now nursing
    assert view.user_top is None
    assert view.hybrid is not None and view.content is not None
    cold = np.bincount(view.interactions.indices, minlength=len(view.jobs)) == 0
    rebuilt = Hybrid(view.content, cold, view.hybrid.params)
    scores = view.model.user_scores(np.arange(3, dtype=np.int64), view.interactions)
    np.testing.assert_allclose(
        view.hybrid.blend(scores.copy(), view.interactions[:3]),
        rebuilt.blend(scores.copy(), view.interactions[:3]),
    )


def test_an_extended_audience_scorer_scores_as_one_built_on_the_view(
    trained: TrainedModel,
) -> None:
    base = AudienceScorer(trained)
    base.prepare()
    view = ListedJobs(trained).apply([_job(5001), _job(5002, "software")])
    cols = np.array([0, len(trained.jobs), len(trained.jobs) + 1], dtype=np.int64)
    got, inherited = base.extended(view).scores(cols)
    want, want_inherited = AudienceScorer(view).scores(cols)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert inherited.tolist() == want_inherited.tolist() == [False, True, True]


def test_posted_jobs_are_ranked_into_the_lists_ranked_ahead_as_a_full_ranking_would(
    trained: TrainedModel,
) -> None:
    assert trained.user_top is not None
    listed = ListedJobs(trained)
    for batch in ([_job(5001, "finance")], [_job(5002, "software"), _job(5003)]):
        view = listed.apply(batch)
        listed.rank_ahead(AudienceScorer(view).list_scores)
    view = listed.trained
    assert view.user_top is not None
    rows = np.arange(len(view.users), dtype=np.int64)
    full = rank_all(lambda r: view.user_scores(r, "redirected"), (len(rows), len(view.jobs)), 10)
    np.testing.assert_array_equal(view.user_top.cols[:, :10], full.cols)
    np.testing.assert_allclose(view.user_top.scores[:, :10], full.scores, rtol=1e-5, atol=1e-5)
    appended = set(range(len(trained.jobs), len(view.jobs)))
    assert appended & set(view.user_top.cols.ravel().tolist())  # the posted jobs made lists
