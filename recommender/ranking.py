"""Top-n selection over score matrices, shared by every endpoint and model."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.models.base import FloatArray


def mask_entries(scores: FloatArray, exclude: sp.csr_matrix) -> None:
    """Set ``scores[i, j] = -inf`` in place wherever ``exclude`` (same shape) has a stored entry."""
    coo = exclude.tocoo()
    scores[coo.row, coo.col] = -np.inf


def top_n(scores: FloatArray, n: int) -> list[tuple[NDArray[np.int64], FloatArray]]:
    """For each row, the columns of its ``n`` highest finite scores and those scores, best first.

    Ties break towards the lower column, so results are deterministic. Rows may come back shorter
    than ``n`` when fewer finite scores exist.
    """
    n_rows, n_cols = scores.shape
    k = min(n, n_cols)
    if k <= 0:
        empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        return [empty for _ in range(n_rows)]
    if k < n_cols:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    cols = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(part_scores, order, axis=1)
    finite = np.isfinite(vals)
    if finite.all():
        return list(zip(cols, vals, strict=True))
    return [(c[f], v[f]) for c, v, f in zip(cols, vals, finite, strict=True)]
