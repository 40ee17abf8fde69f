"""BPR passes the model contract, keeps implicit's bias column and fits deterministically."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recommender.models.bpr import BPRModel, BPRParams
from recommender.models.registry import create_model
from recommender.settings import Settings
from tests.models.conftest import model_settings, random_matrix
from tests.models.contract import ModelContract


class TestBPRContract(ModelContract):
    name: ClassVar[str] = "bpr"
    kind: ClassVar[str] = "bpr"
    randomised: ClassVar[bool] = True
    folds_in: ClassVar[bool] = False

    @classmethod
    def progress_reports(cls, settings: Settings) -> list[int]:
        return list(range(1, settings.bpr.iterations + 1))


def test_bpr_keeps_implicits_bias_column() -> None:
    model = BPRModel(BPRParams(factors=3, iterations=5), seed=1)
    model.fit(random_matrix())
    assert model.user_factors.shape == (30, 4)
    assert model.item_factors.shape == (20, 4)
    np.testing.assert_array_equal(model.user_factors[:, -1], 1.0)
    rows = np.array([2, 5], dtype=np.int64)
    np.testing.assert_allclose(
        model.user_scores(rows, random_matrix()),
        model.user_factors[rows] @ model.item_factors.T,
        rtol=1e-6,
    )


def test_bpr_fits_on_one_thread_whatever_train_threads_says() -> None:
    """implicit's BPR is Hogwild SGD: on several threads two fits would differ."""
    settings = model_settings("bpr", train_threads=2, bpr=BPRParams(factors=8, iterations=20))
    matrix = random_matrix(n_users=1000, n_items=100)  # big enough for threads to race
    fits = []
    for _ in range(2):
        model = create_model("bpr", settings)
        model.fit(matrix)
        fits.append(model.arrays())
    for key, array in fits[0].items():
        np.testing.assert_array_equal(fits[1][key], array)
