"""Who gets seen: exposure of jobs and employers in every user's top k.

A job's *exposure* is how often it appears in the users' top-k lists (or, position-weighted,
``Σ 1 / log2(1 + slot)`` over its appearances, the DCG discount: a first place counts 1, a tenth
0.29). Over those exposures, at each k:

* ``gini_jobs``: the Gini coefficient of the jobs' exposures, every job of the catalogue counted,
  never-shown ones as 0 (0 = every job shown equally, → 1 = one job takes everything);
* ``gini_employers``: the same over employers (a job's exposure goes to its employer; employers
  whose jobs are never shown count as 0; jobs with no employer are left out);
* ``long_tail_share``: the share of all exposure that goes to the long tail, the jobs outside the
  most popular 20% by training popularity (ties broken by column, so the head is exactly
  ``ceil(0.2 · jobs)`` jobs);
* ``employer_coverage``: the share of employers with at least one job shown.

``G = Σ_i (2i − n − 1) · x_(i) / (n · Σ x)`` over the values sorted ascending (1-based i): the
mean absolute difference over twice the mean. A catalogue with no exposure at all has G = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FAIRNESS = ("gini_jobs", "gini_employers", "long_tail_share", "employer_coverage")
"""The metrics :func:`fairness_at_k` returns at each k."""
HEAD_SHARE = 0.2
"""The most popular share of the jobs that is the head; the rest is the long tail."""


def gini(values: NDArray[np.floating]) -> float:
    """The Gini coefficient of non-negative ``values`` (0 for none, or all zero).

    Raises
    ------
    ValueError
        A value is negative or not finite.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.shape[0] == 0:
        return 0.0
    if not np.isfinite(x).all() or x[0] < 0:
        raise ValueError("exposures must be finite and non-negative")
    total = x.sum()
    if total == 0:
        return 0.0
    n = x.shape[0]
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * ranks - n - 1) * x).sum() / (n * total))


def exposure(
    recommended: NDArray[np.int64], k: int, n_items: int, *, position_weighted: bool = False
) -> NDArray[np.float64]:
    """Each job's exposure in the users' top ``k`` (``recommended``: columns best first,
    ``-1`` padding)."""
    top = recommended[:, :k]
    slots = np.broadcast_to(np.arange(top.shape[1]), top.shape)
    shown = top >= 0
    weights = 1.0 / np.log2(slots[shown] + 2.0) if position_weighted else None
    counted: NDArray[np.float64] = np.bincount(
        top[shown], weights=weights, minlength=n_items
    ).astype(np.float64)
    return counted


def long_tail(popularity: NDArray[np.floating]) -> NDArray[np.bool_]:
    """Whether each job is in the long tail: outside the ``ceil(HEAD_SHARE · jobs)`` most
    popular (ties broken by column)."""
    n = popularity.shape[0]
    head = int(np.ceil(HEAD_SHARE * n))
    order = np.lexsort((np.arange(n), -np.asarray(popularity, dtype=np.float64)))
    tail = np.ones(n, dtype=bool)
    tail[order[:head]] = False
    return tail


def fairness_at_k(
    recommended: NDArray[np.int64],
    ks: Sequence[int],
    popularity: NDArray[np.floating],
    employers: NDArray[np.integer] | None,
    *,
    position_weighted: bool = False,
) -> dict[int, dict[str, float]]:
    """The exposure metrics (module docstring) of every user's top k, at each k.

    ``popularity`` and ``employers`` give each job column's training popularity and employer
    code (-1: none; None: no employer known); ``recommended`` holds the users' lists (columns,
    ``-1`` padding).
    """
    n_items = popularity.shape[0]
    if employers is None:  # no catalogue: no employer is known
        employers = np.full(n_items, -1, dtype=np.int64)
    if employers.shape != (n_items,):
        raise ValueError(f"employers has shape {employers.shape}, expected ({n_items},)")
    tail = long_tail(popularity)
    has_employer = employers >= 0
    n_employers = int(employers.max()) + 1 if has_employer.any() else 0
    out: dict[int, dict[str, float]] = {}
    for k in ks:
        shown = exposure(recommended, k, n_items, position_weighted=position_weighted)
        total = shown.sum()
        by_employer = np.bincount(
            employers[has_employer], weights=shown[has_employer], minlength=n_employers
        ).astype(np.float64)
        listed = np.bincount(employers[has_employer], minlength=n_employers) > 0
        out[k] = {
            "gini_jobs": gini(shown),
            "gini_employers": gini(by_employer[listed]),
            "long_tail_share": float(shown[tail].sum() / total) if total > 0 else 0.0,
            "employer_coverage": (
                float((by_employer[listed] > 0).sum() / listed.sum()) if listed.any() else 0.0
            ),
        }
    return out
