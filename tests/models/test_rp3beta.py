"""RP3beta passes the model contract, and its own rules: the walk against a dense reference, the
top-k per job, blocks of rows, scores as history @ W, cosine similar jobs."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from recommender.models import rp3beta
from recommender.models.rp3beta import RP3BetaModel, RP3BetaParams
from tests.models.conftest import random_matrix
from tests.models.contract import ModelContract


class TestRP3BetaContract(ModelContract):
    name: ClassVar[str] = "rp3beta"
    kind: ClassVar[str] = "rp3beta"


def _reference(x: np.ndarray, alpha: float, beta: float, k: int) -> np.ndarray:
    """Dense and a job at a time, as Dacrema et al.'s RP3betaRecommender computes W."""
    p_ui = (x / x.sum(axis=1, keepdims=True)) ** alpha
    seen = (x > 0).T.astype(np.float64)
    p_iu = seen / seen.sum(axis=1, keepdims=True)
    walk = (p_iu @ p_ui) * seen.sum(axis=1)[None, :] ** -beta
    np.fill_diagonal(walk, 0.0)
    w = np.zeros_like(walk)
    for i, row in enumerate(walk):
        best = np.argsort(-row, kind="stable")[:k]
        best = best[row[best] > 0]
        w[i, best] = row[best]
    return w / w.sum(axis=1, keepdims=True)


def _fitted(**params: float) -> RP3BetaModel:
    model = RP3BetaModel(RP3BetaParams.model_validate(params))
    model.fit(random_matrix())
    return model


@pytest.mark.parametrize(
    ("alpha", "beta", "neighbours"),
    [(1.0, 0.5, 100), (1.0, 0.0, 5), (0.6, 0.3, 3), (1.4, 0.9, 1)],
    ids=["defaults", "plain-walk", "flattened", "one-neighbour"],
)
def test_weights_match_a_dense_job_at_a_time_reference(
    alpha: float, beta: float, neighbours: int
) -> None:
    model = _fitted(alpha=alpha, beta=beta, neighbours=neighbours)
    expected = _reference(random_matrix().toarray().astype(np.float64), alpha, beta, neighbours)
    assert model.similarity.dtype == np.float32
    np.testing.assert_allclose(model.similarity.toarray(), expected, rtol=1e-5, atol=1e-7)
    assert np.diff(model.similarity.indptr).max() == min(neighbours, model.n_items - 1)
    assert not model.similarity.diagonal().any()


def test_blocks_of_job_rows_give_the_same_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _fitted(neighbours=4).similarity
    monkeypatch.setattr(rp3beta, "BLOCK_CELLS", 45)  # two or three job rows per block
    blocked = _fitted(neighbours=4).similarity
    np.testing.assert_array_equal(blocked.toarray(), whole.toarray())


def test_scores_are_history_times_weights() -> None:
    model = _fitted(neighbours=6)
    history = random_matrix(seed=3)  # other events than the fitted ones: scored as given
    rows = np.array([4, 0, 29], dtype=np.int64)
    expected = history.toarray()[rows] @ model.similarity.toarray()
    np.testing.assert_allclose(model.user_scores(rows, history), expected, rtol=1e-5)


def test_similar_scores_are_cosines_of_weight_rows() -> None:
    model = _fitted(neighbours=6)
    w = model.similarity.toarray().astype(np.float64)
    normed = w / np.linalg.norm(w, axis=1, keepdims=True)
    items = np.array([0, 7, 19], dtype=np.int64)
    np.testing.assert_allclose(model.similar_scores(items), normed[items] @ normed.T, atol=1e-6)
