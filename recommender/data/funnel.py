"""Activity counts → one implicit score per (user, job).

The rule (see :class:`recommender.data.funnel.ScoringRule`) with its defaults, for
i = min(impressions, 10) and r = min(redirects, 10)::

    score = 2·r + i − max(0, i − r)
    then score = max(score, 2) if redirects > 0, else max(score, 1) if impressions > 0

(impressions, redirects) → score: (3, 1) → 3, (1, 3) → 7, (2, 0) → 1, (0, 1) → 2, (10, 10) → 30.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field


class ScoringRule(BaseModel):
    """How a (user, job) funnel of impressions and redirects becomes one implicit score.

    With i = min(impressions, clip) and r = min(redirects, clip)::

        score = redirect_weight·r + impression_weight·i − unanswered_penalty·max(0, i − r)
        score = max(score, redirect_floor)    if redirects > 0
        score = max(score, impression_floor)  elif impressions > 0

    The defaults give the original service's rule: 2·r + i − max(0, i − r), floors 2 and 1.
    """

    model_config = ConfigDict(frozen=True)

    clip: int = Field(default=10, ge=1)
    redirect_weight: int = Field(default=2, ge=0)
    impression_weight: int = Field(default=1, ge=0)
    unanswered_penalty: int = Field(default=1, ge=0)
    redirect_floor: int = Field(default=2, ge=0)
    impression_floor: int = Field(default=1, ge=0)


DEFAULT_RULE = ScoringRule()


def implicit_score(impressions: int, redirects: int, rule: ScoringRule = DEFAULT_RULE) -> int:
    """The implicit score of one (user, job) funnel; see the module docstring."""
    scores = score_counts(np.array([impressions]), np.array([redirects]), rule)
    return round(float(scores[0]))


def score_counts(
    impressions: NDArray[np.number],
    redirects: NDArray[np.number],
    rule: ScoringRule = DEFAULT_RULE,
) -> NDArray[np.float32]:
    """Vectorised :func:`implicit_score` over aligned arrays of counts.

    Counts may be weighted (a log whose rows carry a weight, such as a rating or a number of clicks,
    counts each row that many times), so they are floats here; whole counts give whole scores.
    """
    imp = np.asarray(impressions, dtype=np.float64)
    red = np.asarray(redirects, dtype=np.float64)
    if imp.shape != red.shape:
        raise ValueError(f"impressions {imp.shape} and redirects {red.shape} differ in shape")
    if (imp < 0).any() or (red < 0).any():
        raise ValueError("counts must be non-negative")
    i = np.minimum(imp, rule.clip)
    r = np.minimum(red, rule.clip)
    score = (
        rule.redirect_weight * r
        + rule.impression_weight * i
        - rule.unanswered_penalty * np.maximum(0, i - r)
    )
    score = np.where(red > 0, np.maximum(score, rule.redirect_floor), score)
    score = np.where((red == 0) & (imp > 0), np.maximum(score, rule.impression_floor), score)
    result: NDArray[np.float32] = np.maximum(score, 0).astype(np.float32)
    return result


@dataclass(frozen=True)
class PairScores:
    """One row per (user, job) pair with a positive score; the columns are aligned arrays."""

    user_ids: NDArray[np.int64]
    job_ids: NDArray[np.int64]
    impressions: NDArray[np.float64]
    redirects: NDArray[np.float64]
    scores: NDArray[np.float32]

    def __len__(self) -> int:
        return int(self.user_ids.shape[0])


def score_pair_counts(
    user_ids: NDArray[np.int64],
    job_ids: NDArray[np.int64],
    impressions: NDArray[np.number],
    redirects: NDArray[np.number],
    rule: ScoringRule = DEFAULT_RULE,
) -> PairScores:
    """Score already-aggregated pair counts and drop the pairs that score 0."""
    scores = score_counts(impressions, redirects, rule)
    keep = scores > 0
    return PairScores(
        user_ids=np.ascontiguousarray(user_ids[keep], dtype=np.int64),
        job_ids=np.ascontiguousarray(job_ids[keep], dtype=np.int64),
        impressions=np.ascontiguousarray(impressions[keep], dtype=np.float64),
        redirects=np.ascontiguousarray(redirects[keep], dtype=np.float64),
        scores=scores[keep],
    )
