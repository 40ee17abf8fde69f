"""spark-als passes the model contract (tests/models/test_contract.py) on shared Spark fits, and
serves, folds in and explains without Spark as Spark's ALS solves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.bundle.files import load_bundle, write_bundle
from recommender.bundle.trained import TrainedModel
from recommender.models.registry import MODEL_KINDS, create_model
from recommender.models.spark.mapping import MIN_RATING, mapped_reg_param, spark_ratings
from recommender.models.spark_als import SparkALSModel
from tests.conftest import block_activities
from tests.models.conftest import train_on
from tests.spark.conftest import spark_settings

JOBS, USERS = 5, 6


def _rows(n: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.arange(n, dtype=np.int64)


def _fitted_on(trained: TrainedModel) -> sp.csr_matrix:
    """The matrix training fitted the model on: ``confidence_scale · score``."""
    return sp.csr_matrix(trained.interactions * np.float32(2.0), dtype=np.float32)


@pytest.fixture(scope="module")
def trained(spark: Any) -> TrainedModel:
    del spark
    return train_on(block_activities(), spark_settings())


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
def test_training_records_kind_and_the_regparam_used(trained: TrainedModel) -> None:
    model = trained.model
    assert model.kind == "spark-als"
    n_ratings, n_jobs = trained.interactions.nnz, len(trained.jobs)
    assert model.params()["reg_param"] == pytest.approx(1.0 * n_jobs / n_ratings)
    assert trained.manifest.model.params == model.params()
    json.dumps(model.params())


@pytest.mark.spark
def test_shapes_and_dtypes(trained: TrainedModel) -> None:
    model = trained.model
    assert (model.n_users, model.n_items) == (2 * USERS, 2 * JOBS)
    scores = model.user_scores(_rows(model.n_users), trained.interactions)
    sims = model.similar_scores(_rows(model.n_items))
    for array in (scores, sims):
        assert array.dtype == np.float32
        assert np.isfinite(array).all()
    assert sims.min() >= -1 - 1e-6
    assert sims.max() <= 1 + 1e-6


@pytest.mark.spark
def test_held_out_job_of_own_block_ranks_first(trained: TrainedModel) -> None:
    model = trained.model
    scores = model.user_scores(_rows(model.n_users), trained.interactions)
    scores[trained.interactions.toarray() > 0] = -np.inf
    for user_row, job_row in enumerate(scores.argmax(axis=1).tolist()):
        block = user_row // USERS
        assert job_row == block * JOBS + (user_row % USERS) % JOBS, f"user row {user_row}"
    sims = model.similar_scores(_rows(model.n_items))
    np.fill_diagonal(sims, -np.inf)
    for job_row, nearest in enumerate(sims.argmax(axis=1).tolist()):
        assert nearest // JOBS == job_row // JOBS, f"job row {job_row}"


@pytest.mark.spark
def test_same_seed_same_model_other_seed_other_model(trained: TrainedModel) -> None:
    calls: list[tuple[int, float | None]] = []
    again = create_model("spark-als", spark_settings())
    again.fit(_fitted_on(trained), progress=lambda done, loss: calls.append((done, loss)))
    assert calls == [(5, None)]  # Spark fits every iteration in one job: one report at the end
    other = create_model("spark-als", spark_settings().model_copy(update={"seed": 8}))
    other.fit(_fitted_on(trained))
    for key, array in trained.model.arrays().items():
        np.testing.assert_array_equal(again.arrays()[key], array)
        assert not np.array_equal(other.arrays()[key], array)


@pytest.mark.spark
def test_fold_in_solves_the_users_as_spark_does(trained: TrainedModel) -> None:
    """Spark's last step solves each user from the final job factors: folding the training
    histories in again gives the same factors."""
    model = trained.model
    assert isinstance(model, SparkALSModel)
    folded = model.fold_in(trained.interactions)
    np.testing.assert_allclose(folded, model.user_factors, atol=1e-5)
    scores = model.history_scores(trained.interactions[:2], np.array([0, 1]))
    np.testing.assert_allclose(scores, model.user_factors[:2] @ model.item_factors.T, atol=1e-4)


@pytest.mark.spark
def test_explain_shares_sum_to_one_over_the_past_jobs(trained: TrainedModel) -> None:
    model = trained.model
    history = trained.interactions[0]
    past = set(history.indices.tolist())
    explained = model.explain(history, np.array([4, 0], dtype=np.int64), top=10)
    for parts in explained:
        assert {col for col, _ in parts} == past
        assert sum(share for _, share in parts) == pytest.approx(1.0, abs=1e-5)
        shares = [share for _, share in parts]
        assert shares == sorted(shares, reverse=True)
    assert len(model.explain(history, np.array([4]), top=2)[0]) == 2


@pytest.mark.spark
def test_arrays_and_bundle_round_trip_without_spark(tmp_path: Path, trained: TrainedModel) -> None:
    model = trained.model
    rebuilt = MODEL_KINDS[model.kind].from_arrays(model.params(), model.arrays())
    assert rebuilt.params() == model.params()
    write_bundle(trained, tmp_path)
    loaded = load_bundle(tmp_path)
    assert type(loaded.model) is SparkALSModel
    assert loaded.model.params() == model.params()
    users, items = _rows(model.n_users), _rows(model.n_items)
    for other in (rebuilt, loaded.model):
        np.testing.assert_array_equal(
            other.user_scores(users, trained.interactions),
            model.user_scores(users, trained.interactions),
        )
        np.testing.assert_array_equal(other.similar_scores(items), model.similar_scores(items))
