"""The hybrid: cold jobs enter users' lists through their nearest warm jobs by text, content of
the user's history counts most for short histories, and with both weights 0 the lists are the
model's own."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.bundle.trained import TrainedModel
from recommender.content.hybrid import Hybrid
from recommender.content.params import ContentParams
from recommender.content.vectors import ContentVectors
from recommender.evaluation.hybrid_weights import served_with
from recommender.recommender import Recommender
from recommender.training.fit import train
from tests.content.conftest import (
    JOBS_PER_SECTOR,
    SECTORS,
    USERS_PER_SECTOR,
    cold_jobs,
    content_settings,
    sector_dataset,
    sector_of_job,
)


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    return train(sector_dataset(), content_settings())


def test_cold_jobs_of_the_users_sector_enter_their_lists(trained: TrainedModel) -> None:
    recommender = Recommender(served_with(trained, cold_weight=1.0))
    cold = set(cold_jobs())
    for sector in range(3):
        user = 100 + sector * USERS_PER_SECTOR
        listed = recommender.recommend(user, JOBS_PER_SECTOR).job_ids.tolist()
        own = list(SECTORS)[sector]
        first_cold = [j for j in listed if j in cold][:2]
        assert [sector_of_job()[j] for j in first_cold] == [own, own], listed


def test_without_the_hybrid_no_cold_job_is_recommended(trained: TrainedModel) -> None:
    off = served_with(trained, cold_weight=0.0, history_weight=0.0)
    assert off.hybrid is None
    recommender = Recommender(off)
    cold = set(cold_jobs())
    for user in (100, 100 + USERS_PER_SECTOR):
        assert not cold & set(recommender.recommend(user, 5).job_ids.tolist())


def _content(vectors: np.ndarray) -> ContentVectors:
    """Job vectors with a one-word vocabulary (the hybrid reads the job vectors only)."""
    return ContentVectors(
        words=np.array(["a"]),
        word_vectors=np.ones((1, vectors.shape[1]), dtype=np.float32),
        word_weights=np.ones(1, dtype=np.float32),
        job_vectors=vectors,
    )


def test_a_cold_job_scores_the_weighted_mean_of_its_warm_neighbours() -> None:
    vectors = np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    content = _content(vectors)
    cold = np.array([False, False, True, True])
    hybrid = Hybrid(content, cold, ContentParams(cold_weight=0.5, cold_neighbours=1))
    scores = np.array([[3.0, 1.0, 0.0, 0.0]], dtype=np.float32)
    blended = hybrid.blend(scores, sp.csr_matrix((1, 4), dtype=np.float32))
    # warm z-scores are +1 and -1; each cold job takes half its one neighbour's
    np.testing.assert_allclose(blended[0], [1.0, -1.0, 0.5, -0.5], atol=1e-6)


def test_history_content_fades_as_the_history_grows() -> None:
    vectors = np.eye(3, dtype=np.float32)
    content = _content(vectors)
    params = ContentParams(cold_weight=0.0, history_weight=1.0, history_shrink=1.0)
    hybrid = Hybrid(content, np.zeros(3, dtype=bool), params)
    scores = np.zeros((2, 3), dtype=np.float32)
    histories = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0]], dtype=np.float32))
    blended = hybrid.blend(scores, histories)
    # one job in the history: weight 1/2; two jobs: 1/3, spread over both
    assert blended[0, 0] > blended[1, 0] > 0
    assert blended[0].argmax() == 0 and blended[1, 2] < 0


def test_a_columns_z_scores_are_mixed_from_its_own_or_its_neighbours() -> None:
    """What an audience scores a few columns from: a warm job's own z-scores, a cold job's
    warm neighbours' weighted by their cosines, summing to the cold weight."""
    vectors = np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1], [0.7, 0.7]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    content = _content(vectors)
    cold = np.array([False, False, True, True, False])
    hybrid = Hybrid(content, cold, ContentParams(cold_weight=0.5, cold_neighbours=2))
    scores = np.array([[3.0, 1.0, 0.0, 0.0, 2.0], [0.0, 4.0, 9.0, 9.0, 1.0]], dtype=np.float32)
    blended = hybrid.blend(scores, sp.csr_matrix((2, 5), dtype=np.float32))
    cols = np.array([3, 0, 2, 3], dtype=np.int64)
    sources, mix, inherits = hybrid.column_mix(cols)
    assert inherits.tolist() == [True, False, True, True]
    assert set(sources.tolist()) <= {0, 1, 4} and np.diff(sources).min() > 0
    np.testing.assert_allclose(np.asarray(mix.sum(axis=0)).ravel(), [0.5, 1.0, 0.5, 0.5])
    # a warm column of the blend is its own z-score
    np.testing.assert_allclose(blended[:, sources] @ mix.toarray(), blended[:, cols], atol=1e-6)
