"""Which similar-jobs method to serve: the next-job hit rate on validation.

A user's *previous* job is the last job they were redirected to in the training part; their
*next* job is the first job of the validation part they were redirected to and had not been
before. A method hits when the next job is among the ``k`` jobs most similar to the previous one
(the job itself excluded), which is what ``find_similar_jobs`` shows beside a job a user opened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.bundle.trained import TrainedModel
from recommender.ranking.topn import top_n

CHUNK = 512
"""Query jobs scored at once (a chunk of rows × every job, in float32)."""


@dataclass(frozen=True)
class NextJobs:
    """Each validation user's previous and next job, by id."""

    previous: NDArray[np.int64]
    next: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.previous.shape[0])


def next_jobs(train: pl.DataFrame, validation: pl.DataFrame) -> NextJobs:
    """The (previous, next) redirected jobs of every user redirected in both parts."""
    redirects = train.filter(pl.col("is_redirect"))
    previous = (
        redirects.sort("timestamp", nulls_last=False, maintain_order=True)
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("job_id").last().alias("previous"))
    )
    seen = redirects.select("user_id", "job_id").unique()
    following = (
        validation.filter(pl.col("is_redirect"))
        .join(seen, on=["user_id", "job_id"], how="anti")
        .sort("timestamp", nulls_last=True, maintain_order=True)
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("job_id").first().alias("next"))
    )
    pairs = previous.join(following, on="user_id", how="inner").sort("user_id")
    return NextJobs(
        previous=pairs["previous"].to_numpy().astype(np.int64),
        next=pairs["next"].to_numpy().astype(np.int64),
    )


def next_job_hit_rate(trained: TrainedModel, pairs: NextJobs, k: int = 10) -> float:
    """The share of ``pairs`` whose next job is among the ``k`` jobs most similar to the
    previous one, by ``trained``'s :meth:`~TrainedModel.similar_scores`; pairs with a job the
    model does not know count as misses (0.0 when there are no pairs)."""
    if len(pairs) == 0:
        return 0.0
    previous, known_previous = trained.jobs.lookup(pairs.previous)
    following, known_next = trained.jobs.lookup(pairs.next)
    known = known_previous & known_next
    queries, inverse = np.unique(previous[known], return_inverse=True)
    hits = np.zeros(queries.shape[0], dtype=np.int64)
    targets = following[known]
    for start in range(0, queries.shape[0], CHUNK):
        rows = queries[start : start + CHUNK].astype(np.int64)
        tops = top_n(trained.similar_scores(rows), k)
        members = np.zeros((rows.shape[0], len(trained.jobs)), dtype=bool)
        for i, (cols, _scores) in enumerate(tops):
            members[i, cols] = True
        chunk = (inverse >= start) & (inverse < start + rows.shape[0])
        found = members[inverse[chunk] - start, targets[chunk]]
        np.add.at(hits, inverse[chunk][found], 1)
    return float(hits.sum() / len(pairs))
