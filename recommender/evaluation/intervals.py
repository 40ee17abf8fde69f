"""Paired bootstrap intervals of a per-user metric's difference between two models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

RESAMPLES = 1000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """The mean difference and its percentile interval."""

    mean: float
    low: float
    high: float

    def cell(self) -> str:
        """``+0.0123 [+0.0040, +0.0201]``, for a table."""
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def paired_bootstrap(
    ours: NDArray[np.float64],
    reference: NDArray[np.float64],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
) -> Interval:
    """Percentile interval of the mean of ``ours - reference`` over users drawn with
    replacement (the same users for both models: the pairing), seeded.

    Raises
    ------
    ValueError
        The arrays are not one-dimensional, aligned and non-empty.
    """
    if ours.shape != reference.shape or ours.ndim != 1 or ours.size == 0:
        raise ValueError(
            f"need two aligned, non-empty per-user arrays: {ours.shape}, {reference.shape}"
        )
    diff = ours - reference
    means = np.empty(resamples)
    rng = np.random.default_rng(seed)
    step = max(1, (1 << 22) // diff.size)  # about 4 M draws at a time
    for start in range(0, resamples, step):
        count = min(step, resamples - start)
        means[start : start + count] = diff[rng.integers(0, diff.size, (count, diff.size))].mean(1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(mean=float(diff.mean()), low=float(low), high=float(high))
