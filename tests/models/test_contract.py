"""The contract every model passes on a tiny dataset with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data.readers import Dataset
from recommender.models import MODEL_KINDS, Model
from recommender.trained import TrainedModel
from recommender.training import train
from tests.conftest import activities_frame, block_activities, tiny_settings

JOBS_PER_BLOCK = 5
USERS_PER_BLOCK = 6


def _block_of_job_row(row: int) -> int:
    return row // JOBS_PER_BLOCK


@pytest.fixture(params=sorted(MODEL_KINDS))
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    del request  # every kind is trained through the same pipeline
    dataset = Dataset(activities_frame(block_activities()), None, None, ())
    return train(dataset, tiny_settings())


def test_shapes(trained: TrainedModel) -> None:
    model = trained.model
    assert (model.n_users, model.n_items) == (2 * USERS_PER_BLOCK, 2 * JOBS_PER_BLOCK)
    scores = model.user_scores(np.arange(3), trained.interactions)
    assert scores.shape == (3, model.n_items)
    assert scores.dtype == np.float32


def test_held_out_job_of_own_block_ranks_first(trained: TrainedModel) -> None:
    """Each user saw all but one job of their block: that job is the best unseen one."""
    model = trained.model
    seen = trained.interactions.toarray() > 0
    scores = model.user_scores(np.arange(model.n_users), trained.interactions)
    scores[seen] = -np.inf
    best = scores.argmax(axis=1)
    for user_row, job_row in enumerate(best):
        block = user_row // USERS_PER_BLOCK
        assert _block_of_job_row(int(job_row)) == block
        assert job_row == block * JOBS_PER_BLOCK + (user_row % USERS_PER_BLOCK) % JOBS_PER_BLOCK


def test_similar_jobs_share_a_block(trained: TrainedModel) -> None:
    sims = trained.model.similar_scores(np.arange(trained.model.n_items))
    np.fill_diagonal(sims, -np.inf)
    for job_row, nearest in enumerate(sims.argmax(axis=1)):
        assert _block_of_job_row(int(nearest)) == _block_of_job_row(job_row)


def test_same_seed_same_model_other_seed_other_model(trained: TrainedModel) -> None:
    dataset = Dataset(activities_frame(block_activities()), None, None, ())
    again = train(dataset, tiny_settings())
    for name, array in trained.model.arrays().items():
        np.testing.assert_array_equal(array, again.model.arrays()[name])
    other = train(dataset, tiny_settings().model_copy(update={"seed": 8}))
    assert not np.array_equal(
        trained.model.arrays()["item_factors"], other.model.arrays()["item_factors"]
    )


def test_arrays_round_trip(trained: TrainedModel) -> None:
    model: Model = trained.model
    rebuilt = type(model).from_arrays(model.params(), model.arrays())
    rows = np.arange(4)
    np.testing.assert_array_equal(
        rebuilt.user_scores(rows, trained.interactions), model.user_scores(rows, trained.interactions)
    )
    np.testing.assert_array_equal(rebuilt.similar_scores(np.arange(2)), model.similar_scores(np.arange(2)))
    assert rebuilt.params() == model.params()
