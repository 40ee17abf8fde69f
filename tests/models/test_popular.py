"""The popularity baseline passes the model contract and ranks every user by popularity."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tests.models.conftest import model_settings, train_on
from tests.models.contract import ModelContract, rows


class TestPopularContract(ModelContract):
    name: ClassVar[str] = "popular"
    kind: ClassVar[str] = "popular"
    personalised: ClassVar[bool] = False


def test_popular_ranks_every_user_by_popularity() -> None:
    """Job 1000+j is redirected to by 5-j of five users: popularity falls with j."""
    records = [
        {"user_id": 100 + u, "job_id": 1000 + j, "type": kind}
        for j in range(5)
        for u in range(5 - j)
        for kind in ("impression", "redirect")
    ]
    settings = model_settings("popular")
    trained = train_on(records, settings)
    model = trained.model
    scores = model.user_scores(rows(model.n_users), trained.interactions)
    assert (scores == scores[0]).all()
    assert np.argsort(-scores[0], kind="stable").tolist() == [0, 1, 2, 3, 4]
    # The fitted matrix is confidence_scale · score, so the scores are a multiple of popularity.
    np.testing.assert_allclose(scores[0], settings.als.confidence_scale * trained.popularity)
    sims = model.similar_scores(rows(model.n_items))
    np.testing.assert_allclose(sims, np.tile(scores[0] / scores[0].max(), (5, 1)), rtol=1e-6)
