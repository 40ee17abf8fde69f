"""Top-k accuracy, coverage, popularity bias and a paired bootstrap, for the quality benchmark.

Independent of ``recommender.evaluation``: the point of the quality benchmark is a reference that
does not share the service's code. Relevance is binary. For a user with relevant set R and a list
of k jobs, a hit at (1-based) rank i is worth ``1 / log2(i + 1)``:

* NDCG@k = DCG / IDCG, where IDCG is the DCG of min(|R|, k) hits at the top;
* AP@k = (sum of precision@i over the ranks i that hit) / min(|R|, k) (as implicit computes MAP);
* recall@k = hits / |R|.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

K = 10


@dataclass(frozen=True)
class UserScores:
    """Per-user NDCG, AP and recall, aligned with the test users."""

    ndcg: NDArray[np.float64]
    ap: NDArray[np.float64]
    recall: NDArray[np.float64]


def score_lists(
    lists: Sequence[Sequence[int]], truth: Sequence[set[int]], k: int = K
) -> UserScores:
    """NDCG@k, AP@k and recall@k of each user's list against their relevant jobs."""
    if len(lists) != len(truth):
        raise ValueError(f"{len(lists)} lists for {len(truth)} users")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg = np.zeros(len(lists))
    ap = np.zeros(len(lists))
    recall = np.zeros(len(lists))
    for u, (items, relevant) in enumerate(zip(lists, truth, strict=True)):
        if not relevant:
            raise ValueError(f"user {u} has no relevant job")
        hits = np.array([job in relevant for job in list(items)[:k]], dtype=bool)
        ranks = np.flatnonzero(hits)
        ideal = min(len(relevant), k)
        ndcg[u] = discounts[ranks].sum() / discounts[:ideal].sum()
        ap[u] = (np.arange(1, ranks.size + 1) / (ranks + 1)).sum() / ideal
        recall[u] = ranks.size / len(relevant)
    return UserScores(ndcg=ndcg, ap=ap, recall=recall)


def coverage(lists: Sequence[Sequence[int]], catalogue_size: int) -> float:
    """Share of the catalogue recommended to at least one user."""
    shown = {job for items in lists for job in items}
    return len(shown) / catalogue_size


def popularity_percentiles(popularity: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each job's popularity percentile in (0, 1]: the share of jobs at most as popular."""
    order = np.sort(popularity)
    below: NDArray[np.float64] = np.searchsorted(order, popularity, side="right") / order.size
    return below


def popularity_bias(lists: Sequence[Sequence[int]], percentile: dict[int, float]) -> float:
    """Mean popularity percentile of every recommended job (0.5 is the catalogue's middle)."""
    values = [percentile[job] for items in lists for job in items]
    return float(np.mean(values)) if values else float("nan")


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float

    def cell(self) -> str:
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def paired_bootstrap(
    ours: NDArray[np.float64],
    reference: NDArray[np.float64],
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Percentile interval of the mean per-user difference ``ours - reference``, users resampled."""
    if ours.shape != reference.shape or ours.ndim != 1 or ours.size == 0:
        raise ValueError(
            f"need two aligned, non-empty per-user arrays: {ours.shape}, {reference.shape}"
        )
    diff = ours - reference
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, diff.size, size=(resamples, diff.size))
    means = diff[picks].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(mean=float(diff.mean()), low=float(low), high=float(high))
