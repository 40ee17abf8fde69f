"""EASE passes the model contract, and its own rules: the closed form, a zero diagonal, scores as
history @ B, cosine similar jobs, and a clear error above the bound on jobs."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from recommender.errors import CatalogueTooLargeError
from recommender.models.ease import EASEModel, EASEParams
from tests.models.conftest import random_matrix
from tests.models.contract import ModelContract


class TestEASEContract(ModelContract):
    name: ClassVar[str] = "ease"
    kind: ClassVar[str] = "ease"


def _fitted(regularization: float = 10.0) -> EASEModel:
    model = EASEModel(EASEParams(regularization=regularization))
    model.fit(random_matrix())
    return model


@pytest.mark.parametrize("regularization", [0.5, 10.0, 500.0])
def test_weights_are_the_closed_form_with_a_zero_diagonal(regularization: float) -> None:
    model = _fitted(regularization)
    x = random_matrix().toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + regularization * np.eye(x.shape[1]))
    expected = np.eye(x.shape[1]) - p / np.diag(p)[None, :]
    assert model.weights.dtype == np.float32
    np.testing.assert_allclose(model.weights, expected, rtol=1e-4, atol=1e-6)
    assert not np.diag(model.weights).any()


def test_weights_minimise_the_regularised_reconstruction_error() -> None:
    """Each column is the ridge regression of its job on the other jobs (Steck's derivation)."""
    x = random_matrix().toarray().astype(np.float64)
    model = _fitted(regularization=3.0)
    for j in (0, 11):
        others = np.delete(np.arange(x.shape[1]), j)
        a = x[:, others]
        ridge = np.linalg.solve(a.T @ a + 3.0 * np.eye(a.shape[1]), a.T @ x[:, j])
        np.testing.assert_allclose(model.weights[others, j], ridge, rtol=1e-4, atol=1e-6)


def test_scores_are_history_times_weights() -> None:
    model = _fitted()
    history = random_matrix(seed=3)  # other events than the fitted ones: scored as given
    rows = np.array([4, 0, 29], dtype=np.int64)
    expected = history.toarray()[rows] @ model.weights
    np.testing.assert_allclose(model.user_scores(rows, history), expected, rtol=1e-5, atol=1e-6)


def test_similar_scores_are_cosines_of_weight_columns() -> None:
    model = _fitted()
    columns = model.weights.astype(np.float64).T
    normed = columns / np.linalg.norm(columns, axis=1, keepdims=True)
    items = np.array([0, 7, 19], dtype=np.int64)
    np.testing.assert_allclose(model.similar_scores(items), normed[items] @ normed.T, atol=1e-5)


def test_more_jobs_than_the_bound_raise_a_clear_error() -> None:
    matrix = random_matrix(n_items=20)
    with pytest.raises(CatalogueTooLargeError, match=r"19 jobs .* has 20.*EASE__MAX_ITEMS"):
        EASEModel(EASEParams(max_items=19)).fit(matrix)
    EASEModel(EASEParams(max_items=20)).fit(matrix)  # the bound itself is allowed
