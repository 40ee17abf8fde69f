"""Anchors written straight against numpy, scipy and implicit, as a team would script them.

Nothing here imports the service's models or evaluation: each anchor is a function from a training
matrix (users × jobs, the pair weights) to a scorer, rows -> dense scores over every job. Lists are
the top 10 of those scores with the user's training jobs removed. ALS and EASE pick their settings
on a validation split (:func:`select`), then are refit on the whole training period.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from bench.quality_data import Problem
from bench.quality_metrics import K, score_lists

Scorer = Callable[[NDArray[np.int64]], NDArray[np.float32]]
Fitter = Callable[[sp.csr_matrix], Scorer]
BATCH = 1000
ALS_ITERATIONS = 15
ALS_GRID: dict[str, list[float]] = {
    "factors": [16, 64, 128],
    "regularization": [0.05, 1.0, 10.0],
    "scale": [1, 10, 40],
}
ALS_QUICK_GRID: dict[str, list[float]] = {
    "factors": [16, 64],
    "regularization": [1.0, 10.0],
    "scale": [1, 10],
}
EASE_GRID: dict[str, list[float]] = {"lam": [50.0, 500.0, 5000.0, 50000.0]}
EASE_QUICK_GRID: dict[str, list[float]] = {"lam": [500.0, 50000.0]}


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """implicit asks for BLAS to run single-threaded while it fits (it threads itself)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        yield


def _dense(matrix: Any) -> NDArray[np.float32]:
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float32)


def als(factors: int, regularization: float, scale: float, seed: int) -> Fitter:
    def fit(x: sp.csr_matrix) -> Scorer:
        from implicit.cpu.als import AlternatingLeastSquares

        with one_blas_thread():
            model = AlternatingLeastSquares(
                factors=factors,
                regularization=regularization,
                alpha=1.0,
                iterations=ALS_ITERATIONS,
                random_state=seed,
            )
            model.fit((x * scale).tocsr(), show_progress=False)
        users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
        return lambda rows: _dense(users[rows] @ items.T)

    return fit


def bpr(seed: int, factors: int = 64, iterations: int = 100) -> Fitter:
    def fit(x: sp.csr_matrix) -> Scorer:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        with one_blas_thread():
            model = BayesianPersonalizedRanking(
                factors=factors, iterations=iterations, random_state=seed
            )
            model.fit(x, show_progress=False)
        users, items = np.asarray(model.user_factors), np.asarray(model.item_factors)
        return lambda rows: _dense(users[rows] @ items.T)

    return fit


def bm25(k1: float = 1.2, b: float = 0.75) -> Fitter:
    def fit(x: sp.csr_matrix) -> Scorer:
        from implicit.nearest_neighbours import BM25Recommender

        with one_blas_thread(), warnings.catch_warnings():
            # implicit warns about the COO matrix its own BM25 weighting hands on
            warnings.simplefilter("ignore")
            model = BM25Recommender(K1=k1, B=b)
            model.fit(x, show_progress=False)
        similarity = model.similarity.tocsr()
        return lambda rows: _dense(x[rows] @ similarity)

    return fit


def popularity() -> Fitter:
    def fit(x: sp.csr_matrix) -> Scorer:
        counts = np.diff(x.tocsc().indptr).astype(np.float32)
        return lambda rows: np.broadcast_to(counts, (rows.size, counts.size)).copy()

    return fit


def ease(lam: float) -> Fitter:
    """Steck (2019): B = I - P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, zero diagonal."""

    def fit(x: sp.csr_matrix) -> Scorer:
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += lam
        inverse = np.linalg.inv(gram)
        weights = (inverse / -np.diag(inverse)).astype(np.float32)
        np.fill_diagonal(weights, 0.0)
        return lambda rows: _dense(x[rows] @ weights)

    return fit


def recommend(problem: Problem, scorer: Scorer, k: int = K) -> list[list[int]]:
    """Each test user's top k job columns, their training jobs excluded."""
    lists: list[list[int]] = []
    for start in range(0, problem.test_rows.size, BATCH):
        rows = problem.test_rows[start : start + BATCH]
        scores = scorer(rows)
        seen = problem.matrix[rows].tocoo()
        scores[seen.row, seen.col] = -np.inf
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        lists += np.take_along_axis(top, order, axis=1).tolist()
    return lists


def validation_ndcg(problem: Problem, fitter: Fitter) -> float:
    lists = recommend(problem, fitter(problem.matrix))
    return float(score_lists(lists, problem.truth).ndcg.mean())


@dataclass
class Selection:
    """The setting chosen on validation, and every setting's validation NDCG@10."""

    best: dict[str, float]
    trials: list[dict[str, float]] = field(default_factory=list)


def select(
    validation: Problem, grid: dict[str, list[float]], make: Callable[..., Fitter]
) -> Selection:
    """Fit every setting of ``grid`` on the validation split; keep the best NDCG@10."""
    names = list(grid)
    trials = []
    for values in itertools.product(*grid.values()):
        setting = dict(zip(names, values, strict=True))
        trials.append({**setting, "ndcg": validation_ndcg(validation, make(**setting))})
    best = max(trials, key=lambda trial: trial["ndcg"])
    return Selection(best={name: best[name] for name in names}, trials=trials)
