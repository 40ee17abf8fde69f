"""Activity in its two shapes, each typed once: lines as read, and counts per (user, job) pair.

* :class:`ActivityLines`: one row per activity line (``activities.jsonl``, an interaction log,
  events read back from the store), each standing for ``weight`` lines (1 for ``activities.jsonl``;
  a log's weight column, e.g. a click count, for others);
* :class:`PairCounts`: one row per (user, job) pair with its impression and redirect lines, what
  training reads (memory grows with pairs, not lines).

Both give the same answers to what training asks (the lines behind them, the jobs with activity,
the pairs' scores), so no caller tells them apart by their columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.data.funnel import DEFAULT_RULE, PairScores, ScoringRule, score_pair_counts
from recommender.data.pair_counts import (
    PAIR_SCHEMA,
    add_pairs,
    score_activities,
    total_lines,
)

LINE_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.Int64(),
    "job_id": pl.Int64(),
    "is_redirect": pl.Boolean(),
    "timestamp": pl.Datetime("us", "UTC"),
    "weight": pl.Float64(),
}
"""The columns of :class:`ActivityLines`, in order."""


def _check(frame: pl.DataFrame, schema: dict[str, pl.DataType], what: str) -> None:
    got = dict(frame.schema)
    if got != schema:
        raise ValueError(f"{what} must have the columns {schema}, got {got}")


@dataclass(frozen=True)
class ActivityLines:
    """Activity lines: ``user_id``, ``job_id``, ``is_redirect``, ``timestamp`` (null when the line
    has none) and ``weight`` (how many lines the row stands for), as :data:`LINE_SCHEMA`."""

    frame: pl.DataFrame

    def __post_init__(self) -> None:
        _check(self.frame, LINE_SCHEMA, "activity lines")

    @classmethod
    def unweighted(cls, frame: pl.DataFrame) -> Self:
        """Lines as :func:`~recommender.data.readers.read_activities` reads them (no weight
        column), each counting once."""
        return cls(frame.with_columns(weight=pl.lit(1.0, dtype=pl.Float64())))

    def __len__(self) -> int:
        return self.frame.height

    def lines(self) -> int:
        """The activity lines behind the rows (their summed weight)."""
        return int(self.frame["weight"].sum()) if self.frame.height else 0

    def job_ids(self) -> NDArray[np.int64]:
        """The jobs with activity, each once."""
        return self.frame["job_id"].unique().to_numpy()

    def score(self, rule: ScoringRule = DEFAULT_RULE) -> PairScores:
        """Each pair's counts scored by ``rule``; pairs scoring 0 are dropped."""
        return score_activities(self.frame, rule)

    def counts(self) -> PairCounts:
        """The lines grouped into pair counts, each row counting ``weight`` lines."""
        weight, redirect = pl.col("weight"), pl.col("is_redirect")
        counted = self.frame.group_by("user_id", "job_id").agg(
            impressions=weight.filter(~redirect).sum(), redirects=weight.filter(redirect).sum()
        )
        return PairCounts(counted.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA))  # type: ignore[arg-type]


@dataclass(frozen=True)
class PairCounts:
    """Per (``user_id``, ``job_id``) pair, its ``impressions`` and ``redirects`` (line counts), as
    :data:`~recommender.data.pair_counts.PAIR_SCHEMA`."""

    frame: pl.DataFrame

    def __post_init__(self) -> None:
        _check(self.frame, PAIR_SCHEMA, "pair counts")

    def __len__(self) -> int:
        return self.frame.height

    def lines(self) -> int:
        """The activity lines behind the counts."""
        return total_lines(self.frame)

    def job_ids(self) -> NDArray[np.int64]:
        """The jobs with activity, each once."""
        return self.frame["job_id"].unique().to_numpy()

    def score(self, rule: ScoringRule = DEFAULT_RULE) -> PairScores:
        """Each pair scored by ``rule``; pairs scoring 0 are dropped."""
        return score_pair_counts(
            self.frame["user_id"].to_numpy(),
            self.frame["job_id"].to_numpy(),
            self.frame["impressions"].to_numpy(),
            self.frame["redirects"].to_numpy(),
            rule,
        )

    def plus(self, more: PairCounts) -> PairCounts:
        """These counts with ``more`` added (only the pairs ``more`` touches are regrouped)."""
        return PairCounts(add_pairs(self.frame, more.frame))
