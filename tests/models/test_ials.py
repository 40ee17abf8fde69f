"""Frequency-scaled ALS: the solver reaches each row's exact ridge solution, the model folds in and
explains under the same ridge, ν = 0 is implicit's ALS unchanged, and Spark refuses ν > 0."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from pydantic import ValidationError

from recommender.errors import EngineUnavailableError
from recommender.models import ials
from recommender.models.als import ALSModel, ALSParams
from recommender.models.spark_als import SparkALSModel
from recommender.settings import Settings
from tests.models.conftest import random_matrix

SCALED = ALSParams(factors=4, regularization=0.5, iterations=8, regularization_exponent=0.5)


def exact_rows(
    confidence: sp.csr_matrix, y: np.ndarray[Any, Any], regularization: float, exponent: float
) -> np.ndarray[Any, Any]:
    """Each row's ridge solution, one dense solve per row: the reference the solvers must meet."""
    y64 = y.astype(np.float64)
    k = y.shape[1]
    out = np.zeros((confidence.shape[0], k))
    for row in range(confidence.shape[0]):
        cols = confidence[row].indices
        c = confidence[row].data.astype(np.float64)
        ridge = regularization * (cols.shape[0] + 1) ** exponent
        a = y64.T @ y64 + ridge * np.eye(k) + (y64[cols].T * (c - 1.0)) @ y64[cols]
        out[row] = np.linalg.solve(a, y64[cols].T @ c)
    return out


def test_the_ridge_is_lambda_times_the_stored_entries_plus_one_to_the_exponent() -> None:
    matrix = sp.csr_matrix(np.array([[1, 2, 0], [0, 0, 0], [3, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(ials.row_ridge(matrix, 2.0, 0.5), [2 * 3**0.5, 2.0, 2 * 2**0.5])
    np.testing.assert_array_equal(ials.row_ridge(matrix, 2.0, 0.0), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0], ids=["nu0", "nu0.5", "nu1"])
def test_conjugate_gradient_steps_converge_to_each_rows_exact_solution(exponent: float) -> None:
    confidence = random_matrix(seed=3)
    y = np.random.default_rng(0).normal(size=(confidence.shape[1], 5)).astype(np.float32)
    x = np.zeros((confidence.shape[0], 5), dtype=np.float32)
    rows = ials._Rows(confidence, ials.row_ridge(confidence, 0.7, exponent))
    ials.cg_sweep(rows, x, y, steps=1)
    assert np.abs(x - exact_rows(confidence, y, 0.7, exponent)).max() > 1e-2  # one step is not
    for _ in range(3):  # warm-started sweeps of as many steps as factors: exact in theory
        ials.cg_sweep(rows, x, y, steps=5)
    np.testing.assert_allclose(x, exact_rows(confidence, y, 0.7, exponent), atol=1e-4)


def test_blocks_of_rows_give_the_same_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    confidence = random_matrix(seed=4)
    y = np.random.default_rng(1).normal(size=(confidence.shape[1], 3)).astype(np.float32)
    rows = ials._Rows(confidence, ials.row_ridge(confidence, 0.3, 0.5))
    whole = np.zeros((confidence.shape[0], 3), dtype=np.float32)
    ials.cg_sweep(rows, whole, y)
    monkeypatch.setattr(ials, "CHUNK_ENTRIES", 17)
    assert len(rows.blocks()) > 5
    blocked = np.zeros_like(whole)
    ials.cg_sweep(rows, blocked, y)
    np.testing.assert_allclose(blocked, whole, rtol=1e-5, atol=1e-6)


def test_the_fit_reaches_the_frequency_scaled_fixed_point() -> None:
    """After enough sweeps, each user's factors are the exact solve of their own ridge
    ``λ · (n_u + 1)^ν`` given the job factors, and each job's likewise."""
    confidence = random_matrix()
    x, y = ials.fit(
        confidence, factors=3, regularization=0.5, exponent=0.5, iterations=60, seed=0, steps=6
    )
    np.testing.assert_allclose(x, exact_rows(confidence, y, 0.5, 0.5), atol=2e-3)
    np.testing.assert_allclose(y, exact_rows(confidence.T.tocsr(), x, 0.5, 0.5), atol=2e-3)


def test_fitting_is_deterministic_for_a_seed() -> None:
    matrix = random_matrix()
    fits = [ALSModel(SCALED, seed=seed) for seed in (1, 1, 2)]
    for model in fits:
        model.fit(matrix)
    np.testing.assert_array_equal(fits[0].user_factors, fits[1].user_factors)
    np.testing.assert_array_equal(fits[0].item_factors, fits[1].item_factors)
    assert not np.array_equal(fits[0].item_factors, fits[2].item_factors)


def test_an_exponent_of_zero_is_implicits_als_unchanged() -> None:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    matrix = random_matrix()
    model = ALSModel(ALSParams(factors=3, iterations=4, alpha=2.0), seed=5, threads=1)
    model.fit(matrix)
    with threadpool_limits(1, "blas"):
        direct = AlternatingLeastSquares(
            factors=3, regularization=0.05, alpha=2.0, iterations=4, num_threads=1, random_state=5
        )
        direct.fit(matrix, show_progress=False)
    np.testing.assert_array_equal(model.user_factors, direct.user_factors)
    np.testing.assert_array_equal(model.item_factors, direct.item_factors)
    history = matrix[[0, 4]]
    np.testing.assert_array_equal(
        model.fold_in(history), direct.recalculate_user(np.arange(2), history * 2.0)
    )


def test_fold_in_solves_each_history_under_its_own_ridge() -> None:
    """The histories' confidences ``alpha · confidence_scale · score``, their ridge counted from
    their own stored entries (an empty history folds in to zeros)."""
    params = SCALED.model_copy(update={"alpha": 3.0})
    model = ALSModel(params, seed=0)
    matrix = random_matrix()
    model.fit(matrix)
    history = sp.vstack([matrix[[2, 9, 0]], sp.csr_matrix((1, matrix.shape[1]))]).tocsr()
    folded = model.fold_in(history)
    confidence = history * (3.0 * params.confidence_scale)
    expected = exact_rows(confidence, model.item_factors, 0.5, 0.5)
    np.testing.assert_allclose(folded, expected, rtol=1e-4, atol=1e-6)
    assert folded.dtype == np.float32
    assert not folded[3].any()


def test_fold_in_blocks_rows_of_similar_length(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ALSModel(SCALED, seed=0)
    matrix = random_matrix()
    model.fit(matrix)
    whole = model.fold_in(matrix)
    monkeypatch.setattr(ials, "SOLVE_ENTRIES", 9)
    np.testing.assert_allclose(model.fold_in(matrix), whole, rtol=1e-5, atol=1e-7)


def test_explanations_add_up_to_the_folded_in_score() -> None:
    model = ALSModel(SCALED, seed=0)
    matrix = random_matrix()
    model.fit(matrix)
    history = matrix[[6]]
    items = np.array([1, 7], dtype=np.int64)
    scores = model.history_scores(history, np.array([6]))[0, items]
    confidence = history * (SCALED.alpha * SCALED.confidence_scale)
    cols, parts = ials.explain_row(
        confidence, model.item_factors, model._gram(), 0.5 * (history.nnz + 1) ** 0.5, items
    )
    np.testing.assert_allclose(parts.sum(axis=1), scores, rtol=1e-4)
    explained = model.explain(history, items, top=100)
    for row, parts_of_job in zip(explained, parts, strict=True):
        assert {col for col, _ in row} == set(cols.tolist())
        assert sum(share for _, share in row) == pytest.approx(1.0, abs=1e-6)
        assert row[0][1] == pytest.approx(parts_of_job.max() / parts_of_job.sum())
    assert model.explain(sp.csr_matrix((1, matrix.shape[1])), items, top=3) == [[], []]


def test_the_exponent_is_validated_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for bad in (-0.1, 1.5):
        with pytest.raises(ValidationError, match="regularization_exponent"):
            ALSParams(regularization_exponent=bad)
    monkeypatch.setenv("RECOMMENDER_ALS__REGULARIZATION_EXPONENT", "0.5")
    assert Settings().als.regularization_exponent == 0.5


def test_spark_refuses_a_scaled_ridge_before_starting() -> None:
    model = SparkALSModel(SCALED)
    with pytest.raises(EngineUnavailableError, match="RECOMMENDER_ALS__REGULARIZATION_EXPONENT"):
        model.fit(random_matrix())
