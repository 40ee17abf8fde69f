"""spark-als passes the model contract (tests/models/contract.py) on one Spark fit per class, and
serves, folds in and explains without Spark as Spark's ALS solves."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pytest

from recommender.bundle.trained import TrainedModel
from recommender.models.registry import MODEL_KINDS, create_model
from recommender.models.spark.mapping import MIN_RATING, mapped_reg_param, spark_ratings
from recommender.models.spark_als import SparkALSModel
from recommender.settings import Settings
from tests.models.conftest import SEED
from tests.models.contract import Fitted, ModelContract
from tests.spark.conftest import spark_settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def test_settings_map_confidence_exactly_and_regularisation_per_job() -> None:
    """Spark's confidence 1 + alpha·r equals implicit's alpha·v; λ is divided by ratings per job."""
    values = np.array([2.0, 4.0, 0.5], dtype=np.float32)
    for alpha in (1.0, 10.0):
        ratings = spark_ratings(values, alpha).astype(np.float64)
        expected = np.maximum(alpha * values, 1 + alpha * MIN_RATING)
        np.testing.assert_allclose(1 + alpha * ratings, expected, rtol=1e-6)
    assert mapped_reg_param(10.0, n_items=50, n_ratings=1000) == 0.5


def test_building_the_model_needs_no_spark() -> None:
    model = create_model("spark-als", spark_settings())
    assert isinstance(model, SparkALSModel)
    assert MODEL_KINDS["spark-als"] is SparkALSModel
    assert model.params()["reg_param"] is None


@pytest.mark.spark
class TestSparkALSContract(ModelContract):
    """The contract on a local[2] session (tests/spark/conftest.py); Spark fits every
    iteration in one job, so progress is reported once, at the end."""

    name: ClassVar[str] = "spark-als"
    kind: ClassVar[str] = "spark-als"
    randomised: ClassVar[bool] = True
    explains: ClassVar[bool] = True

    @classmethod
    def settings(cls, seed: int = SEED) -> Settings:
        return spark_settings().model_copy(update={"seed": seed})

    @classmethod
    def progress_reports(cls, settings: Settings) -> list[int]:
        return [settings.als.iterations]

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, spark: SparkSession) -> Fitted:
        del spark
        return cls.fit()

    def test_training_records_the_regparam_used(self, trained: TrainedModel) -> None:
        model = trained.model
        n_ratings, n_jobs = trained.interactions.nnz, len(trained.jobs)
        assert model.params()["reg_param"] == pytest.approx(1.0 * n_jobs / n_ratings)
        assert trained.manifest.model.params == model.params()

    def test_fold_in_solves_the_users_as_spark_does(self, trained: TrainedModel) -> None:
        """Spark's last step solves each user from the final job factors: folding the training
        histories in again gives the same factors."""
        model = trained.model
        assert isinstance(model, SparkALSModel)
        folded = model.fold_in(trained.interactions)
        np.testing.assert_allclose(folded, model.user_factors, atol=1e-5)
        scores = model.history_scores(trained.interactions[:2], np.array([0, 1]))
        np.testing.assert_allclose(scores, model.user_factors[:2] @ model.item_factors.T, atol=1e-4)
