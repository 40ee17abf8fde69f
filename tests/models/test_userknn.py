"""User kNN passes the model contract, and its own rules: cosine neighbours, never one's own row,
new users, batching."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.models import userknn
from recommender.models.userknn import UserKNNModel, UserKNNParams
from tests.models.conftest import random_matrix
from tests.models.contract import ModelContract


class TestUserKNNContract(ModelContract):
    name: ClassVar[str] = "userknn"
    kind: ClassVar[str] = "userknn"


def _reference(
    stored: np.ndarray, queries: np.ndarray, own: list[int | None], k: int
) -> np.ndarray:
    """A user at a time: cosine to every stored user but oneself, top k, weighted sum."""
    normed = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    scores = np.zeros((queries.shape[0], stored.shape[1]))
    for i, query in enumerate(queries):
        sims = normed @ (query / np.linalg.norm(query))
        others = np.array([v for v in range(stored.shape[0]) if v != own[i]])
        nearest = others[np.argsort(-sims[others], kind="stable")[:k]]
        scores[i] = sims[nearest] @ stored[nearest]
    return scores


def _fitted(matrix: sp.csr_matrix, neighbours: int) -> UserKNNModel:
    model = UserKNNModel(UserKNNParams(neighbours=neighbours))
    model.fit(matrix)
    return model


@pytest.mark.parametrize("neighbours", [1, 5, 29, 100])
def test_scores_match_a_user_at_a_time_reference(neighbours: int) -> None:
    matrix = random_matrix()
    model = _fitted(matrix, neighbours)
    rows = np.arange(matrix.shape[0], dtype=np.int64)
    dense = matrix.toarray().astype(np.float64)
    expected = _reference(dense, dense, list(range(dense.shape[0])), neighbours)
    np.testing.assert_allclose(model.user_scores(rows, matrix), expected, rtol=1e-5, atol=1e-5)


def test_own_row_never_contributes() -> None:
    """User 0 alone has job 0: nobody else can recommend it to them, so it scores 0."""
    matrix = sp.csr_matrix(np.array([[3, 1, 0], [0, 2, 1], [0, 1, 4]], dtype=np.float32))
    model = _fitted(matrix, neighbours=5)
    scores = model.user_scores(np.arange(3, dtype=np.int64), matrix)
    assert scores[0, 0] == 0.0
    assert scores[1, 0] > 0.0  # user 0 is user 1's neighbour
    # A user similar to nobody gets nothing at all.
    alone = sp.csr_matrix(np.array([[1, 0], [0, 1]], dtype=np.float32))
    assert not _fitted(alone, neighbours=5).user_scores(np.arange(2), alone).any()


def test_a_user_with_new_events_is_scored_from_the_given_matrix() -> None:
    matrix = random_matrix()
    model = _fitted(matrix, neighbours=4)
    newcomer = random_matrix(n_users=1, seed=1)
    extended = sp.csr_matrix(sp.vstack([matrix, newcomer]))
    scores = model.user_scores(np.array([matrix.shape[0]], dtype=np.int64), extended)
    expected = _reference(matrix.toarray(), newcomer.toarray(), [None], 4)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_batches_of_query_users_give_the_same_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    matrix = random_matrix()
    model = _fitted(matrix, neighbours=6)
    rows = np.arange(matrix.shape[0], dtype=np.int64)[::-1].copy()
    whole = model.user_scores(rows, matrix)
    monkeypatch.setattr(userknn, "SIMILARITY_BUDGET", 40)  # a user or two per batch
    np.testing.assert_array_equal(model.user_scores(rows, matrix), whole)


def test_similar_scores_are_cosines_of_job_columns() -> None:
    matrix = random_matrix()
    model = _fitted(matrix, neighbours=3)
    columns = matrix.toarray().T
    normed = columns / np.linalg.norm(columns, axis=1, keepdims=True)
    items = np.array([0, 7, 19], dtype=np.int64)
    np.testing.assert_allclose(model.similar_scores(items), normed[items] @ normed.T, atol=1e-6)
