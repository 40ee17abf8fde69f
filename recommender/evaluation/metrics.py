"""Ranking metrics for implicit-feedback recommenders, computed for all test users at once.

(Longer than the house's ~300 lines on purpose: most of it is the definitions below, which the
three metric families share with their vectorised sparse-membership helpers.)

Conventions
-----------
Items are column indices ``0 .. n_items-1``. The *relevant* items of test user ``u`` are the stored
entries of row ``u`` of a CSR matrix (``rel_u``); the stored value ``w_ui`` is the item's weight,
used only by MPR. Users whose relevant row is empty are skipped by every metric that uses
``relevant``. An average over an empty set (no test user at all, no recommended item, ...) is
``nan``. ``recommended`` holds each user's top ``K`` item columns best first, ``-1`` padding a row
that holds fewer than ``K`` items (a padding slot is a miss, never an item); items within a row are
distinct, and already-seen items are never in it (the caller excludes them as the service does).

Top-k accuracy (:func:`accuracy_at_k`), averaged over the users with ``|rel_u| >= 1``
-------------------------------------------------------------------------------------
With ``rel_u,i = 1`` if the item in slot ``i`` (1-based) of ``u``'s list is relevant, else 0, and
``hits_u@k = Σ_{i<=k} rel_u,i``:

* ``precision@k = hits_u@k / k`` (padding counts in ``k``);
* ``recall@k = hits_u@k / |rel_u|``;
* ``hit_rate@k = 1[hits_u@k >= 1]`` (the share of users with at least one hit);
* ``map@k``: ``AP_u@k = (1 / min(k, |rel_u|)) · Σ_{i<=k} precision_u@i · rel_u,i``;
* ``ndcg@k``: binary gains, ``DCG_u@k = Σ_{i<=k} rel_u,i / log2(i + 1)``, divided by the ideal
  ``IDCG_u@k = Σ_{i<=min(k, |rel_u|)} 1 / log2(i + 1)``.

Beyond accuracy (:func:`beyond_accuracy_at_k`), over every user's list
-----------------------------------------------------------------------
* ``coverage@k = |∪_u top-k_u| / n_items`` (padding left out);
* ``popularity_bias@k = mean over recommended (u, slot <= k) of pct(item)``, where
  ``pct(j) = (r_j - 1) / (n_items - 1)`` and ``r_j`` is ``j``'s 1-based ascending rank by
  popularity, tied items sharing their average rank: 0 = least popular, 1 = most popular, 0.5 when
  all tie (and for a one-item catalogue).

Full-catalogue ranking (:func:`rank_metrics`)
---------------------------------------------
A user's *eligible* items are those not excluded: neither stored in ``exclude`` nor scored
``-inf`` (the service's own mark for "never recommend", so ``scores_of`` may mask by itself).
Excluded items are not ranked at all, as if absent from the catalogue; a relevant item that is
excluded is dropped from ``rel_u`` too. With ``n_u`` eligible items and, for a relevant item ``i``,
``below_ui`` / ``tied_ui`` the eligible items scoring strictly lower / equal (``i`` included):

* ascending mid-rank ``R_ui = below_ui + (tied_ui + 1) / 2`` (1-based, ties get the average rank);
* ``rank_ui = (n_u - R_ui) / (n_u - 1)``: the average 0-based position of ``i`` among ``u``'s
  eligible items best first, divided by ``n_u - 1``; 0 = first, 1 = last, 0.5 when ``n_u = 1``;
* ``MPR = Σ_{u,i} w_ui · rank_ui / Σ_{u,i} w_ui`` (Hu, Koren & Volinsky 2008, "expected percentile
  ranking"); lower is better, a random ranking gives about 0.5;
* ``AUC_u = (Σ_{i∈rel_u} R_ui - P_u (P_u + 1) / 2) / (P_u · N_u)`` with ``P_u = |rel_u|`` and
  ``N_u = n_u - P_u``: the Mann-Whitney form of P(random relevant item scores above a random
  non-relevant eligible one), ties counting 1/2; ``AUC`` is the mean over users with
  ``P_u, N_u >= 1``.

Each batch of score rows is sorted once (``np.sort`` along rows); every relevant item's score is
then located in its own sorted row by a binary search (left and right insertion points, as
``np.searchsorted`` gives for one row), run for all relevant items of the batch at once.

Agreement with ``implicit.evaluation.ranking_metrics_at_k`` (implicit 0.7.3)
------------------------------------------------------------------------------
Given the same top-K lists (``model.recommend(..., N=K, filter_already_liked_items=True)``, whose
filtered filler slots this module receives as ``-1``) and test items disjoint from training:

* ``map`` and ``ndcg`` agree with ``map@K`` and ``ndcg@K`` here (same definitions);
* implicit's ``precision`` is pooled over users and capped: ``Σ_u hits_u@K / Σ_u min(K, |rel_u|)``.
  It equals ``precision@K`` here when every test user has ``|rel_u| >= K``, ``recall@K`` here when
  every test user has the same ``|rel_u| <= K``, and in general the ratio of sums of the per-user
  hits and ``min(K, |rel_u|)`` (not a mean of per-user values);
* implicit's ``auc`` is an "AUC@K": it sees only the top-K order, treats every relevant item outside
  the list as tying (1/2) with every non-relevant item outside it, and counts training (filtered)
  items as non-relevant items ranked below the list. It equals ``auc`` here only when the list
  covers the whole catalogue and nothing is excluded (and scores do not tie);
* recall, hit rate, MPR, coverage and popularity bias have no counterpart in implicit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.ranking.topn import mask_rows

ACCURACY = ("precision", "recall", "map", "ndcg", "hit_rate")
"""The metrics :func:`accuracy_at_k` returns at each k."""

BEYOND_ACCURACY = ("coverage", "popularity_bias")
"""The metrics :func:`beyond_accuracy_at_k` returns at each k."""

FULL_CATALOGUE = ("mpr", "auc")
"""The metrics :func:`rank_metrics` returns."""

IntArray = NDArray[np.int64]
Float64Array = NDArray[np.float64]


def accuracy_at_k(
    recommended: IntArray, relevant: sp.csr_matrix, ks: Sequence[int]
) -> dict[int, dict[str, float]]:
    """Precision, recall, MAP, NDCG and hit rate at each k, averaged over users with relevant items.

    Parameters
    ----------
    recommended:
        ``(n_users, K)`` item columns best first, ``-1`` = padding (a row may hold fewer than ``K``
        items); items within a row are distinct.
    relevant:
        ``(n_users, n_items)``; the stored entries of row ``u`` are user ``u``'s relevant items.
    ks:
        Cut-offs, each in ``1 .. K``.

    Returns
    -------
    ``{k: {"precision", "recall", "map", "ndcg", "hit_rate"}}`` (see the module docstring).
    """
    _, per_user = per_user_accuracy(recommended, relevant, ks)
    return {k: {name: _mean(values[name]) for name in ACCURACY} for k, values in per_user.items()}


def per_user_accuracy(
    recommended: IntArray, relevant: sp.csr_matrix, ks: Sequence[int]
) -> tuple[IntArray, dict[int, dict[str, Float64Array]]]:
    """:func:`accuracy_at_k`'s metrics for each user with relevant items, before averaging.

    Returns
    -------
    The rows of the users with ``|rel_u| >= 1`` (ascending), and ``{k: {metric: values}}`` with
    one value per such user, aligned with those rows (what a paired bootstrap resamples).
    """
    rel = _canonical(relevant, "relevant")
    n_users, n_items = rel.shape
    rec = _check_recommended(recommended, n_items)
    if rec.shape[0] != n_users:
        raise ValueError(f"recommended has {rec.shape[0]} rows, relevant has {n_users}")
    cutoffs = _check_ks(ks, rec.shape[1])
    counts = np.diff(rel.indptr)
    users = np.flatnonzero(counts > 0).astype(np.int64)
    n_rel = counts[users].astype(np.float64)
    hits = _hits(rec[users], users, rel)

    slots = np.arange(1, rec.shape[1] + 1, dtype=np.float64)
    n_hits = np.cumsum(hits, axis=1, dtype=np.int64)  # hits within the top i
    ap_sums = np.cumsum(np.where(hits, n_hits / slots, 0.0), axis=1)
    discount = 1.0 / np.log2(slots + 1.0)
    dcg = np.cumsum(hits * discount, axis=1)
    ideal = np.cumsum(discount)

    result: dict[int, dict[str, Float64Array]] = {}
    for k in cutoffs:
        h = n_hits[:, k - 1].astype(np.float64)
        capped = np.minimum(counts[users], k)
        result[k] = {
            "precision": h / k,
            "recall": h / n_rel,
            "map": ap_sums[:, k - 1] / capped,
            "ndcg": dcg[:, k - 1] / ideal[capped - 1],
            "hit_rate": (h > 0).astype(np.float64),
        }
    return users, result


def beyond_accuracy_at_k(
    recommended: IntArray, ks: Sequence[int], n_items: int, popularity: NDArray[np.floating]
) -> dict[int, dict[str, float]]:
    """Catalogue coverage and popularity bias of every user's top k, at each k.

    Parameters
    ----------
    recommended:
        ``(n_users, K)`` item columns best first, ``-1`` = padding.
    ks:
        Cut-offs, each in ``1 .. K``.
    n_items:
        Size of the catalogue.
    popularity:
        ``(n_items,)`` popularity of each item, e.g. its training interaction count.

    Returns
    -------
    ``{k: {"coverage", "popularity_bias"}}``: coverage = distinct items in all users' top k /
    ``n_items``; popularity_bias = mean, over every recommended (user, slot) in the top k, of the
    item's popularity percentile (0 = least popular .. 1 = most popular; ties get their average
    rank).
    """
    if n_items < 1:
        raise ValueError(f"n_items must be positive, got {n_items}")
    rec = _check_recommended(recommended, n_items)
    cutoffs = _check_ks(ks, rec.shape[1])
    pct = popularity_percentiles(popularity, n_items)
    result: dict[int, dict[str, float]] = {}
    for k in cutoffs:
        top = rec[:, :k]
        items = top[top >= 0]
        covered = np.count_nonzero(np.bincount(items, minlength=n_items))
        result[k] = {"coverage": covered / n_items, "popularity_bias": _mean(pct[items])}
    return result


def popularity_percentiles(popularity: NDArray[np.floating], n_items: int) -> Float64Array:
    """Each item's popularity percentile: ``(average 1-based ascending rank - 1) / (n_items - 1)``.

    0 is the least popular item, 1 the most popular; tied items share their average rank, so a
    catalogue where all items tie (or of one item) gives 0.5 everywhere.
    """
    values = np.asarray(popularity, dtype=np.float64)
    if values.shape != (n_items,):
        raise ValueError(f"popularity has shape {values.shape}, expected ({n_items},)")
    if not np.isfinite(values).all():
        raise ValueError("popularity must be finite")
    ordered = np.sort(values)
    first = np.searchsorted(ordered, values, side="left")
    past = np.searchsorted(ordered, values, side="right")
    mean_position = (first + past - 1) / 2.0  # 0-based average position among ties
    if n_items == 1:
        return np.full(1, 0.5)
    percentiles: Float64Array = mean_position / (n_items - 1)
    return percentiles


def rank_metrics(
    scores_of: Callable[[IntArray], NDArray[np.float32]],
    relevant: sp.csr_matrix,
    exclude: sp.csr_matrix | None = None,
    *,
    batch_rows: int = 1024,
) -> dict[str, float]:
    """Mean percentile ranking (MPR) and AUC of the relevant items over the whole catalogue.

    Parameters
    ----------
    scores_of:
        ``scores_of(positions)`` returns the float32 score rows, ``n_items`` wide, of the test users
        at those positions (``0 .. n_users-1``, aligned with ``relevant`` rows); higher is better.
        It is called once per batch, with the positions of users that have relevant items only.
        The returned array is modified in place (excluded scores set to ``-inf``), so return a
        fresh one, as :meth:`~recommender.models.base.Model.user_scores` does.
    relevant:
        ``(n_users, n_items)``; stored entries are relevant items, their values the MPR weights
        (non-negative).
    exclude:
        Optional ``(n_users, n_items)``; stored entries are not ranked at all. Scores of ``-inf``
        are excluded the same way.
    batch_rows:
        Users scored and sorted at a time (a batch holds two ``batch_rows × n_items`` score arrays).

    Returns
    -------
    ``{"mpr", "auc"}`` (see the module docstring; lower MPR and higher AUC are better).
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    rel = _canonical(relevant, "relevant")
    n_items = rel.shape[1]
    if not (np.isfinite(rel.data).all() and (rel.data >= 0).all()):
        raise ValueError("relevant weights must be finite and non-negative")
    rows = _entry_rows(rel)
    cols = rel.indices.astype(np.int64)
    weights = rel.data.astype(np.float64)
    excl: sp.csr_matrix | None = None
    if exclude is not None:
        excl = _canonical(exclude, "exclude")
        if excl.shape != rel.shape:
            raise ValueError(f"exclude has shape {excl.shape}, relevant has {rel.shape}")
        excluded = _member(
            _keys(rows, cols, n_items), _keys(_entry_rows(excl), excl.indices, n_items)
        )
        keep = ~excluded
        rows, cols, weights = rows[keep], cols[keep], weights[keep]
    # Entries are sorted by row: a batch of users owns one contiguous slice of them.
    users = np.unique(rows)

    weighted_rank = total_weight = auc_sum = 0.0
    auc_users = 0
    for start in range(0, users.shape[0], batch_rows):
        batch = users[start : start + batch_rows]
        lo = int(np.searchsorted(rows, batch[0], side="left"))
        hi = int(np.searchsorted(rows, batch[-1], side="right"))
        local = np.searchsorted(batch, rows[lo:hi])
        block = scores_of(batch)
        if not np.issubdtype(block.dtype, np.floating):
            raise TypeError(f"scores_of returned {block.dtype} scores, expected floats")
        if block.shape != (batch.shape[0], n_items):
            raise ValueError(
                f"scores_of returned shape {block.shape}, expected {(batch.shape[0], n_items)}"
            )
        if excl is not None:
            mask_rows(block, excl, batch)
        below, tied, n_eligible = _below_tied_eligible(block, local, cols[lo:hi])

        ranked = block[local, cols[lo:hi]] > -np.inf  # a relevant item scored -inf is excluded
        local, below, tied, w = local[ranked], below[ranked], tied[ranked], weights[lo:hi][ranked]
        mid_rank = below + (tied + 1) / 2.0  # 1-based ascending, ties averaged
        n_u = n_eligible[local]
        spread = np.maximum(n_u - 1.0, 1.0)
        percentile = np.where(n_u > 1, (n_u - mid_rank) / spread, 0.5)
        weighted_rank += float(w @ percentile)
        total_weight += float(w.sum())

        positives = np.bincount(local, minlength=batch.shape[0]).astype(np.float64)
        rank_sums = np.bincount(local, weights=mid_rank, minlength=batch.shape[0])
        negatives = n_eligible - positives
        both = (positives > 0) & (negatives > 0)
        p, n = positives[both], negatives[both]
        auc_sum += float(((rank_sums[both] - p * (p + 1) / 2.0) / (p * n)).sum())
        auc_users += int(both.sum())

    return {
        "mpr": weighted_rank / total_weight if total_weight > 0 else float("nan"),
        "auc": auc_sum / auc_users if auc_users > 0 else float("nan"),
    }


def _below_tied_eligible(
    block: NDArray[np.floating], local: IntArray, cols: IntArray
) -> tuple[Float64Array, Float64Array, Float64Array]:
    """For each (local row, col): eligible scores strictly below and equal to it; eligible per row.

    Eligible = not ``-inf``. The rows are sorted once; each score is then located in its own sorted
    row by :func:`_searchsorted_rows`, all rows at once.
    """
    n_rows, n_cols = block.shape
    ordered = np.sort(block, axis=1)
    if n_rows and n_cols and np.isnan(ordered[:, -1]).any():  # NaN sorts last
        raise ValueError("scores_of returned NaN scores")
    every_row = np.arange(n_rows, dtype=np.int64)
    n_masked = _searchsorted_rows(ordered, every_row, np.full(n_rows, -np.inf), side="right")
    values = block[local, cols]
    first = _searchsorted_rows(ordered, local, values, side="left")
    past = _searchsorted_rows(ordered, local, values, side="right")
    # -inf scores sort first, so they are all below any score greater than -inf.
    below = (first - n_masked[local]).astype(np.float64)
    tied = (past - first).astype(np.float64)
    n_eligible = (n_cols - n_masked).astype(np.float64)
    return below, tied, n_eligible


def _searchsorted_rows(
    ordered: NDArray[np.floating], rows: IntArray, values: NDArray[np.floating], side: str
) -> IntArray:
    """``np.searchsorted(ordered[r], v, side)`` for every pair (r, v) of ``rows``, ``values``.

    ``np.searchsorted`` takes one sorted array, so the same binary search runs here on all pairs at
    once: ``ceil(log2(n_cols + 1))`` steps of a few operations on ``len(values)`` elements, cheap
    beside sorting the rows. Float comparisons make -0.0 and +0.0 tie, as everywhere else.
    """
    n_cols = ordered.shape[1]
    flat = ordered.ravel()
    base = rows * n_cols
    lo = np.zeros(values.shape[0], dtype=np.int64)
    hi = np.full(values.shape[0], n_cols, dtype=np.int64)
    for _ in range(n_cols.bit_length()):  # each step at least halves hi - lo, from n_cols
        mid = (lo + hi) >> 1
        probe = flat[base + np.minimum(mid, n_cols - 1)]
        right = (probe <= values) if side == "right" else (probe < values)
        right &= lo < hi
        lo = np.where(right, mid + 1, lo)
        hi = np.where(right, hi, mid)
    return lo


def _canonical(matrix: sp.csr_matrix, name: str) -> sp.csr_matrix:
    """``matrix`` as CSR with sorted, distinct columns in each row (copied only when needed)."""
    if not sp.issparse(matrix):
        raise TypeError(f"{name} must be a scipy sparse matrix")
    csr = sp.csr_matrix(matrix)
    if not csr.has_canonical_format:
        csr = csr.copy()
        csr.sum_duplicates()
    return csr


def _entry_rows(csr: sp.csr_matrix) -> IntArray:
    """The row of each stored entry, in storage order."""
    rows: IntArray = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return rows


def _keys(rows: IntArray, cols: NDArray[np.integer], n_cols: int) -> IntArray:
    """``row * n_cols + col``: sorted when (row, col) pairs are."""
    keys: IntArray = rows.astype(np.int64) * n_cols + cols.astype(np.int64)
    return keys


def _member(queries: IntArray, sorted_keys: IntArray) -> NDArray[np.bool_]:
    """Whether each query is in the sorted array ``sorted_keys``."""
    if sorted_keys.shape[0] == 0:
        return np.zeros(queries.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, queries), sorted_keys.shape[0] - 1)
    found: NDArray[np.bool_] = sorted_keys[at] == queries
    return found


def _hits(rec: IntArray, users: IntArray, rel: sp.csr_matrix) -> NDArray[np.bool_]:
    """``hits[r, s]``: whether item ``rec[r, s]`` is relevant to user ``users[r]`` (padding: no)."""
    n_items = rel.shape[1]
    rel_keys = _keys(_entry_rows(rel), rel.indices, n_items)
    queries = users[:, None] * n_items + rec
    hits = _member(queries.ravel(), rel_keys).reshape(rec.shape) & (rec >= 0)
    return hits


def _check_recommended(recommended: IntArray, n_items: int) -> IntArray:
    """``recommended`` as an int64 matrix of items in ``-1 .. n_items-1``, distinct within rows."""
    rec = np.asarray(recommended)
    if rec.ndim != 2:
        raise ValueError(f"recommended must be 2-d, got shape {rec.shape}")
    if not np.issubdtype(rec.dtype, np.integer):
        raise TypeError(f"recommended must hold integer columns, got {rec.dtype}")
    rec = rec.astype(np.int64, copy=False)
    if rec.size and (rec.min() < -1 or rec.max() >= n_items):
        raise ValueError(f"recommended items must lie in -1 .. {n_items - 1}")
    ordered = np.sort(rec, axis=1)
    if ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any():
        raise ValueError("an item is recommended twice to the same user")
    return rec


def _check_ks(ks: Sequence[int], width: int) -> list[int]:
    """The cut-offs as ints, each in ``1 .. width``."""
    cutoffs = [int(k) for k in ks]
    bad = [k for k in cutoffs if not 1 <= k <= width]
    if bad:
        raise ValueError(f"every k must lie in 1 .. {width} (the recommended width), got {bad}")
    return cutoffs


def _mean(values: Float64Array) -> float:
    """The mean, or nan for no values (without numpy's empty-mean warning)."""
    return float(values.mean()) if values.shape[0] else float("nan")
