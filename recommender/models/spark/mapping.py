"""How implicit's ALS settings map onto Spark's (see :mod:`recommender.models.spark_als`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MIN_RATING = 1e-6
"""The rating of a pair whose implicit confidence ``alpha · v`` is at most 1 (see above)."""


def spark_ratings(values: NDArray[np.number], alpha: float) -> NDArray[np.float32]:
    """Spark ratings ``v − 1/alpha`` (at least :data:`MIN_RATING`) for implicit's values ``v``."""
    ratings = np.asarray(values, dtype=np.float64) - 1.0 / alpha
    return np.maximum(ratings, MIN_RATING).astype(np.float32)


def mapped_reg_param(regularization: float, n_items: int, n_ratings: int) -> float:
    """Spark's ``regParam`` for implicit's ``regularization``: λ over the ratings per job."""
    return regularization * n_items / max(n_ratings, 1)
