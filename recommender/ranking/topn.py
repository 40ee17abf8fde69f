"""Top-n selection over score matrices, shared by every endpoint and model."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.models.base import FloatArray


def mask_rows(scores: FloatArray, exclude: sp.csr_matrix, rows: NDArray[np.int64]) -> None:
    """Set ``scores[i, j] = -inf`` in place wherever ``exclude[rows[i], j]`` is stored.

    Reads ``exclude``'s index arrays directly: scipy's row slicing costs a millisecond per call,
    which would dominate a single-user request.
    """
    indptr, indices = exclude.indptr, exclude.indices
    if rows.shape[0] == 1:
        row = int(rows[0])
        scores[0, indices[indptr[row] : indptr[row + 1]]] = -np.inf
        return
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return
    first = np.cumsum(lengths) - lengths
    positions = np.arange(total) + np.repeat(starts - first, lengths)
    scores[np.repeat(np.arange(rows.shape[0]), lengths), indices[positions]] = -np.inf


def _lower_bounds(scores: FloatArray, k: int) -> FloatArray:
    """For each row, a value at most its k-th largest score, found from block maxima.

    Split a row into blocks and take each block's maximum: k blocks have a maximum at least as large
    as the k-th largest block maximum, so at least k scores are. Partitioning the few maxima is far
    cheaper than partitioning every score (np.partition over 7,000 floats is ~50 µs here). Blocks
    shrink as k grows, so that the bound stays tight (about 8k blocks, at most 64 scores each).
    """
    n_cols = scores.shape[1]
    block = max(1, min(64, n_cols // (8 * k)))
    maxima = np.maximum.reduceat(scores, np.arange(0, n_cols, block), axis=1)
    n_blocks = maxima.shape[1]
    if k > n_blocks:
        return np.full(scores.shape[0], -np.inf, dtype=scores.dtype)
    bounds: FloatArray = np.partition(maxima, n_blocks - k, axis=1)[:, n_blocks - k]
    return bounds


def _exact_candidates(scores: FloatArray, k: int) -> NDArray[np.bool_]:
    """Exactly each row's k best entries, ties at the k-th value going to the lowest columns.

    For rows where the bound is not selective: many equal scores (a neighbourhood model scores
    most jobs 0) would otherwise all become candidates and be sorted.
    """
    n_cols = scores.shape[1]
    kth = np.partition(scores, n_cols - k, axis=1)[:, n_cols - k : n_cols - k + 1]
    above = scores > kth
    tied = scores == kth
    room = k - above.sum(axis=1, keepdims=True)
    chosen: NDArray[np.bool_] = above | (tied & (np.cumsum(tied, axis=1) <= room))
    return chosen


def top_n(scores: FloatArray, n: int) -> list[tuple[NDArray[np.int64], FloatArray]]:
    """For each row, the columns of its ``n`` highest finite scores and those scores, best first.

    Ties break towards the lower column, so results are deterministic. Rows may come back shorter
    than ``n`` when fewer finite scores exist. Only candidates at or above a cheap lower bound of
    each row's n-th score (:func:`_lower_bounds`) are sorted.
    """
    n_rows, n_cols = scores.shape
    k = min(n, n_cols)
    if k <= 0:
        return [(np.empty(0, dtype=np.int64), np.empty(0, dtype=scores.dtype))] * n_rows
    candidates = scores >= _lower_bounds(scores, k)[:, None]
    if candidates.sum() > n_rows * (4 * k + 64):
        candidates = _exact_candidates(scores, k)
    if n_rows == 1:
        cols = np.flatnonzero(candidates[0])
        rows = np.zeros(cols.shape[0], dtype=np.int64)
    else:
        rows, cols = np.nonzero(candidates)
    values = scores[rows, cols]
    finite = np.isfinite(values)
    if not finite.all():
        rows, cols, values = rows[finite], cols[finite], values[finite]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    if n_rows == 1:
        return [(cols[:k].astype(np.int64), values[:k])]
    # Keep the first k of each row (a row can have many more candidates than k).
    rank = np.arange(rows.shape[0]) - np.searchsorted(rows, rows)
    keep = rank < k
    rows, cols, values = rows[keep], cols[keep].astype(np.int64), values[keep]
    bounds = np.searchsorted(rows, np.arange(n_rows + 1)).tolist()
    return [(cols[start:end], values[start:end]) for start, end in itertools.pairwise(bounds)]


@dataclass(frozen=True)
class TopLists:
    """Each row's best ``k`` columns, ranked once after training: jobs for a user, or for a job.

    ``cols[r]`` holds columns best first, padded with -1 (and ``scores[r]`` with -inf) when fewer
    than ``k`` are eligible. Serving a default request is then a slice of a row instead of scoring
    and ranking every job.
    """

    cols: NDArray[np.int32]
    scores: FloatArray
    _cols: NDArray[np.int32] = field(init=False, repr=False, compare=False)
    _scores: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # a bundle's lists are memory-mapped: sliced through plain views of the same memory,
        # they skip np.memmap's Python-level __getitem__, a few µs of every request
        object.__setattr__(self, "_cols", self.cols.view(np.ndarray))
        object.__setattr__(self, "_scores", self.scores.view(np.ndarray))

    @property
    def k(self) -> int:
        """How many jobs each list holds."""
        return int(self.cols.shape[1])

    def rows(self, rows: NDArray[np.int64], n: int) -> list[tuple[NDArray[np.int64], FloatArray]]:
        """The first ``n`` entries of several rows' lists, without padding, sliced in one step."""
        if rows.shape[0] == 1:
            return [self.row(int(rows[0]), n)]
        cols = self._cols[rows, :n].astype(np.int64)
        scores = self._scores[rows, :n]
        valid = cols >= 0
        if valid.all():
            return list(zip(cols, scores, strict=True))
        return [(c[v], s[v]) for c, s, v in zip(cols, scores, valid, strict=True)]

    def row(self, user_row: int, n: int) -> tuple[NDArray[np.int64], FloatArray]:
        """The first ``n`` entries of one user's list, without padding."""
        cols = self._cols[user_row, :n]
        valid = cols >= 0
        return cols[valid].astype(np.int64), self._scores[user_row, :n][valid]

    def pin(self, scores: FloatArray, rows: NDArray[np.int64]) -> FloatArray:
        """``scores`` of ``rows`` (every column, scored live), made to continue these lists: each
        listed column gets its listed score and, in a full list, every other column stays below
        the last one. In place; returns ``scores``.

        A row scored alone and the same row scored in a batch differ in the last bits (numpy
        multiplies one row by another BLAS routine), which can swap near-ties: a live ranking
        of a row would then disagree with its list ranked ahead, and a page ranked live could
        repeat a job of the page before it, sliced from the list.
        """
        cols = self._cols[rows]
        vals = self._scores[rows]
        full = cols[:, -1] >= 0
        if full.any():
            below = np.where(full, np.nextafter(vals[:, -1], -np.inf), np.inf)
            np.minimum(scores, below[:, None].astype(scores.dtype), out=scores)
        valid = cols >= 0
        at = np.broadcast_to(np.arange(rows.shape[0])[:, None], cols.shape)
        scores[at[valid], cols[valid]] = vals[valid]
        return scores


def rank_all(
    scores_of: Callable[[NDArray[np.int64]], FloatArray],
    shape: tuple[int, int],
    k: int,
    *,
    batch_rows: int = 2048,
) -> TopLists:
    """:class:`TopLists` for every row of a ``shape`` score matrix, ranked in batches of rows.

    ``scores_of(rows)`` gives each row's score of every column, excluded columns at -inf
    (:meth:`recommender.recommender.Recommender.user_scores` or ``similar_scores``).
    """
    n_rows, n_cols = shape
    k = min(k, n_cols)
    cols = np.full((n_rows, k), -1, dtype=np.int32)
    scores = np.full((n_rows, k), -np.inf, dtype=np.float32)
    for start in range(0, n_rows, batch_rows):
        rows = np.arange(start, min(start + batch_rows, n_rows), dtype=np.int64)
        for offset, (c, v) in enumerate(top_n(scores_of(rows), k)):
            cols[start + offset, : c.shape[0]] = c
            scores[start + offset, : v.shape[0]] = v
    return TopLists(cols=cols, scores=scores)


def merged(
    top: TopLists, cols: NDArray[np.int64], scores_of: Callable[[NDArray[np.int64]], FloatArray]
) -> TopLists:
    """``top`` with the columns ``cols`` (new to it) competing for each row's ``k`` places, with
    ``scores_of(some_cols)`` giving every row's score of those (-inf: not eligible): the lists a
    full ranking would give, ties to the lower column. Columns are scored a block at a time, and
    only rows where a new column makes the cut are ranked again."""
    out_cols, out_scores = np.array(top.cols), np.array(top.scores)
    k = top.k
    block = max(1, MERGE_BUDGET // max(1, out_cols.shape[0]))
    for start in range(0, cols.shape[0] if k else 0, block):
        some = cols[start : start + block]
        _merge_into(out_cols, out_scores, some, scores_of(some))
    return TopLists(cols=out_cols, scores=out_scores)


MERGE_BUDGET = 4_000_000
"""Scores held at once while new columns are merged into lists ranked ahead."""


def _merge_into(
    out_cols: NDArray[np.int32],
    out_scores: FloatArray,
    cols: NDArray[np.int64],
    scores: FloatArray,
) -> None:
    k = out_cols.shape[1]
    best = scores.max(axis=1)
    rows = np.flatnonzero(np.isfinite(best) & (best >= out_scores[:, k - 1]))
    if rows.shape[0] == 0:
        return
    new_cols = np.broadcast_to(cols, (rows.shape[0], cols.shape[0]))
    cand_cols = np.hstack([out_cols[rows].astype(np.int64), new_cols])
    cand_scores = np.hstack([out_scores[rows], scores[rows]])
    cand_cols = np.where(np.isfinite(cand_scores), cand_cols, np.iinfo(np.int64).max)
    order = np.lexsort((cand_cols, -cand_scores), axis=1)[:, :k]
    kept_cols = np.take_along_axis(cand_cols, order, axis=1)
    kept_scores = np.take_along_axis(cand_scores, order, axis=1)
    finite = np.isfinite(kept_scores)
    out_cols[rows] = np.where(finite, kept_cols, -1).astype(np.int32)
    out_scores[rows] = np.where(finite, kept_scores, -np.inf).astype(np.float32)


def padded(top: TopLists, rows: int) -> TopLists:
    """``top`` with ``rows`` empty lists appended (jobs with nothing ranked ahead for them)."""
    k = top.k
    return TopLists(
        cols=np.vstack([top.cols, np.full((rows, k), -1, dtype=np.int32)]),
        scores=np.vstack([top.scores, np.full((rows, k), -np.inf, dtype=np.float32)]),
    )
