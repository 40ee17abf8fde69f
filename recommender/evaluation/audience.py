"""Audiences measured: does a job's audience hold the users who went on to click it?

For every job clicked (redirected to) in a split's test period, its audience of ``k`` users
(:meth:`~recommender.recommender.Recommender.users_for_jobs`, as the API answers it) is
compared with the users ranked by their lists' own scores of the job (``list scale``: how far the
job stands out in each list, the z-scores of the hybrid) and with two lists a campaign could send
without a recommender:

* ``most active``: the ``k`` users with the most training events (ties to the lower id);
* ``random active``: ``k`` users drawn at random from those with training activity (seeded).

All three choose among the model's users and leave out the users redirected to the job in
training (they are never in an audience). A job's recall@k is the share of its test clickers (less
those redirected to it in training) that its list holds; clickers the model has no row for (new
users) count in the denominator for all three lists alike. Jobs fall into two segments fixed by the
split: ``cold jobs`` (listed, no training interaction: their audience comes from their text) and
``warm jobs`` (with training interactions: a collaborative audience).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from recommender.bundle.audience import Scale
from recommender.data.pair_counts import score_activities
from recommender.evaluation.intervals import Interval, paired_bootstrap
from recommender.evaluation.splits import Split
from recommender.recommender import Recommender
from recommender.settings import Settings

METHODS = ("audience", "list scale", "most active", "random active")
BATCH_JOBS = 256
"""Jobs whose audiences are asked for at a time."""

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class AudienceRecall:
    """One segment's jobs and each list's recall@k per job (aligned across lists)."""

    job_ids: IntArray
    clickers: int
    """Test clicks on these jobs (one per user and job)."""
    known_clickers: int
    """Of those, clicks by users the model has a row for: the most any list can hold."""
    recall: dict[str, NDArray[np.float64]]
    sources: dict[str, int]
    """How many of the jobs' audiences each path (``source``) scored."""

    def mean(self, method: str) -> float:
        """The mean recall@k over the segment's jobs."""
        return float(self.recall[method].mean())

    def interval(self, method: str, seed: int = 0) -> Interval:
        """The paired bootstrap interval of the audience's recall minus ``method``'s, over jobs."""
        return paired_bootstrap(self.recall["audience"], self.recall[method], seed=seed)


def audience_recall(
    recommender: Recommender, split: Split, settings: Settings, *, k: int = 100, seed: int = 0
) -> dict[str, AudienceRecall]:
    """Recall@``k`` of each test-clicked job's audience and of the two baselines, by segment
    (``cold jobs``, ``warm jobs``; a segment with no job is left out); see the module
    docstring. ``recommender`` serves a model trained on ``split.train``."""
    train = score_activities(split.train, settings.scoring)
    test = score_activities(split.test, settings.scoring)
    before = pl.DataFrame(
        {
            "user_id": train.user_ids[train.redirects > 0],
            "job_id": train.job_ids[train.redirects > 0],
        }
    )
    clicked = (
        pl.DataFrame(
            {
                "user_id": test.user_ids[test.redirects > 0],
                "job_id": test.job_ids[test.redirects > 0],
            }
        )
        .join(before, on=["user_id", "job_id"], how="anti")
        .filter(pl.col("job_id").is_in(recommender.trained.jobs.ids.tolist()))
        .sort("job_id", "user_id")
    )
    jobs = clicked["job_id"].to_numpy()
    users = clicked["user_id"].to_numpy()
    job_ids, starts = np.unique(jobs, return_index=True)
    ends = np.r_[starts[1:], jobs.shape[0]]
    warm = np.isin(job_ids, train.job_ids)
    lists = {
        "audience": _audiences(recommender, job_ids, k, "model"),
        "list scale": _audiences(recommender, job_ids, k, "list"),
        "most active": _most_active(recommender, split, job_ids, before, k),
        "random active": _random_active(recommender, job_ids, before, k, seed),
    }
    known = recommender.trained.users.contains(users)
    out: dict[str, AudienceRecall] = {}
    for segment, mask in (("cold jobs", ~warm), ("warm jobs", warm)):
        picked = np.flatnonzero(mask)
        if picked.shape[0] == 0:
            continue
        recall: dict[str, NDArray[np.float64]] = {}
        for method in METHODS:
            chosen = lists[method][0]
            recall[method] = np.array(
                [np.isin(users[starts[j] : ends[j]], chosen[j]).mean() for j in picked.tolist()],
                dtype=np.float64,
            )
        sources: dict[str, int] = {}
        for j in picked.tolist():
            source = lists["audience"][1][j]
            sources[source] = sources.get(source, 0) + 1
        span = np.concatenate([np.arange(starts[j], ends[j]) for j in picked.tolist()])
        out[segment] = AudienceRecall(
            job_ids=job_ids[picked],
            clickers=int(span.shape[0]),
            known_clickers=int(known[span].sum()),
            recall=recall,
            sources=sources,
        )
    return out


def _audiences(
    recommender: Recommender, job_ids: IntArray, k: int, scale: Scale
) -> tuple[list[IntArray], list[str]]:
    chosen: list[IntArray] = []
    sources: list[str] = []
    ids = job_ids.tolist()
    for start in range(0, len(ids), BATCH_JOBS):
        for audience in recommender.users_for_jobs(ids[start : start + BATCH_JOBS], k, scale):
            chosen.append(audience.user_ids)
            sources.append(audience.source)
    return chosen, sources


def _redirected_before(before: pl.DataFrame, job_ids: IntArray) -> list[IntArray]:
    grouped = before.group_by("job_id").agg(pl.col("user_id"))
    by_job = dict(zip(grouped["job_id"].to_list(), grouped["user_id"].to_list(), strict=True))
    return [np.asarray(by_job.get(job, []), dtype=np.int64) for job in job_ids.tolist()]


def _most_active(
    recommender: Recommender, split: Split, job_ids: IntArray, before: pl.DataFrame, k: int
) -> tuple[list[IntArray], list[str]]:
    activity = (
        split.train.group_by("user_id")
        .agg(events=pl.len())
        .filter(pl.col("user_id").is_in(recommender.trained.users.ids.tolist()))
        .sort(["events", "user_id"], descending=[True, False])
    )
    ranked = activity["user_id"].to_numpy()
    chosen = []
    for excluded in _redirected_before(before, job_ids):
        head = ranked[: k + excluded.shape[0]]
        chosen.append(head[~np.isin(head, excluded)][:k])
    return chosen, ["most active"] * len(chosen)


def _random_active(
    recommender: Recommender, job_ids: IntArray, before: pl.DataFrame, k: int, seed: int
) -> tuple[list[IntArray], list[str]]:
    pool = recommender.trained.users.ids
    rng = np.random.default_rng(seed)
    chosen = []
    for excluded in _redirected_before(before, job_ids):
        size = min(pool.shape[0], k + excluded.shape[0])
        draw = pool[rng.choice(pool.shape[0], size, replace=False)]
        chosen.append(draw[~np.isin(draw, excluded)][:k])
    return chosen, ["random active"] * len(chosen)
