"""Weigh a blend of fitted models on validation: the weights of their standardised scores.

The blend scores a user as the served :class:`~recommender.models.blend.BlendModel` does: each
component's scores standardised per user (:func:`~recommender.models.blend.standardize_rows`),
weighted and summed, the jobs the user was redirected to masked. Every weighting of a small grid
on the simplex is ranked for every validation user in one pass over the users, chunk by chunk,
so each component scores each user once.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.bundle.trained import TrainedModel
from recommender.evaluation.metrics import accuracy_at_k
from recommender.evaluation.runner import held_out
from recommender.evaluation.splits import Split
from recommender.models.blend import standardize_rows
from recommender.ranking.topn import mask_rows, top_n
from recommender.settings import Settings

CHUNK = 1024
"""Validation users scored at once: ``CHUNK × jobs`` float32 per component."""


@dataclass(frozen=True)
class Blend:
    """The best weighting found and every one tried, with its validation ``metric``@``k``."""

    components: tuple[str, ...]
    weights: tuple[float, ...]
    score: float
    tried: list[tuple[tuple[float, ...], float]]


def weight_grid(n: int) -> list[tuple[float, ...]]:
    """The weightings tried for ``n`` (2 or 3) components, each summing to 1: every pair of
    components at steps of 0.1 (the third at 0), and for three the interior points at steps of
    0.2; no single component alone (that is the candidate itself)."""
    grid: list[tuple[float, ...]] = []
    for i, j in itertools.combinations(range(n), 2):
        for step in range(1, 10):
            weights = [0.0] * n
            weights[i], weights[j] = step / 10, (10 - step) / 10
            grid.append(tuple(weights))
    if n == 3:
        for a in range(1, 5):
            for b in range(1, 5 - a):
                grid.append((a / 5, b / 5, (5 - a - b) / 5))
    return grid


def weigh_blend(
    fitted: Sequence[tuple[str, TrainedModel]],
    split: Split,
    settings: Settings,
    metric: str = "ndcg",
    k: int = 10,
) -> Blend:
    """The weighting of ``fitted`` (2 or 3 models fitted on ``split.train``, on one matrix) that
    maximises ``metric``@``k`` on ``split.test``; ties keep the earlier weighting.

    Raises
    ------
    ValueError
        Fewer than two or more than three models.
    """
    if not 2 <= len(fitted) <= 3:
        raise ValueError(f"a blend weighs 2 or 3 models, not {len(fitted)}")
    first = fitted[0][1]
    tests = held_out(first, split.test, settings)
    grid = weight_grid(len(fitted))
    users = tests.user_rows
    recommended = np.full((len(grid), users.shape[0], k), -1, dtype=np.int64)
    for start in range(0, users.shape[0], CHUNK):
        rows = users[start : start + CHUNK]
        scores = [_standardized(trained, rows) for _, trained in fitted]
        for g, weights in enumerate(grid):
            blended = _weighted(scores, weights)
            mask_rows(blended, first.redirected, rows)
            for i, (cols, _values) in enumerate(top_n(blended, k)):
                recommended[g, start + i, : cols.shape[0]] = cols
    values = [
        accuracy_at_k(recommended[g], tests.relevant, [k])[k][metric] for g in range(len(grid))
    ]
    best = int(np.argmax(values))
    tried = [(weights, float(v)) for weights, v in zip(grid, values, strict=True)]
    return Blend(tuple(name for name, _ in fitted), grid[best], float(values[best]), tried)


def _standardized(trained: TrainedModel, rows: NDArray[np.int64]) -> NDArray[np.float32]:
    return standardize_rows(trained.model.user_scores(rows, trained.interactions))


def _weighted(scores: list[NDArray[np.float32]], weights: tuple[float, ...]) -> NDArray[np.float32]:
    out = np.zeros_like(scores[0])
    for part, weight in zip(scores, weights, strict=True):
        if weight:
            out += np.float32(weight) * part
    return out
