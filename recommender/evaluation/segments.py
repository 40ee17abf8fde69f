"""The cold segments and the breakdown by history length, measured on every test user.

The warm metrics (:mod:`recommender.evaluation.runner`) leave out users and jobs that training
never saw. Here every test user is ranked as the service answers them (a user with no row in the
model gets what an unknown user gets) and relevance is matched by job id, so a job with no
training interaction counts when a model can recommend it (from its text) and is a miss when it
cannot. The relevant test clicks (redirected test pairs, less those redirected in training) fall
into these segments, fixed by the split alone, so every model is measured on the same users:

* ``history 0``, ``history 1``, ``history 2-4``, ``history 5+``: the user's training history
  length, in distinct jobs with a positive training score (the row the model has of them);
* ``cold jobs``: clicks on jobs with no training interaction that the catalogue lists (their text
  known); clicks on unlisted cold jobs can be hit by no model and are only counted;
* ``warm jobs``: clicks on jobs with training interactions.

A history segment holds every usable click of its users (warm jobs and listed cold jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from recommender.data.catalogue import Catalogue
from recommender.data.pair_counts import score_activities
from recommender.evaluation.metrics import per_user_accuracy
from recommender.evaluation.splits import Split
from recommender.matrix import IdIndex, build_matrix
from recommender.ranking.rules import Rules
from recommender.recommender import Recommender
from recommender.settings import Settings

HISTORY_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("history 0", 0, 0),
    ("history 1", 1, 1),
    ("history 2-4", 2, 4),
    ("history 5+", 5, np.iinfo(np.int64).max),
)
"""(segment, fewest, most) distinct training jobs."""
SEGMENTS = ("cold jobs", "warm jobs", *(name for name, _, _ in HISTORY_BUCKETS))
SEGMENT_METRICS = ("hit_rate", "ndcg", "recall")
BATCH_USERS = 1024
"""Users ranked at a time: a batch scores ``BATCH_USERS × jobs`` floats."""

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class HeldOutClicks:
    """The relevant test clicks of a split, one per (user, job) pair, and their segments."""

    user_ids: IntArray
    """The test users, sorted: row ``u`` of every segment's relevance matrix."""
    jobs: IdIndex
    """The clicked jobs: the columns of the relevance matrices."""
    relevant: dict[str, sp.csr_matrix]
    """Each segment's clicks (users × jobs)."""
    counts: dict[str, int]


def held_out_clicks(split: Split, settings: Settings, catalogue: Catalogue | None) -> HeldOutClicks:
    """The split's relevant test clicks by segment (see the module docstring)."""
    train = score_activities(split.train, settings.scoring)
    test = score_activities(split.test, settings.scoring)
    hit = test.redirects > 0
    clicked = pl.DataFrame({"user_id": test.user_ids[hit], "job_id": test.job_ids[hit]})
    was = train.redirects > 0
    before = pl.DataFrame({"user_id": train.user_ids[was], "job_id": train.job_ids[was]})
    history = (
        pl.DataFrame({"user_id": train.user_ids})
        .group_by("user_id")
        .agg(history=pl.len().cast(pl.Int64))
    )
    clicked = (
        clicked.join(before, on=["user_id", "job_id"], how="anti")  # never recommended again
        .join(history, on="user_id", how="left")
        .with_columns(pl.col("history").fill_null(0))
        .sort("user_id", "job_id")
    )
    users = clicked["user_id"].to_numpy()
    jobs = clicked["job_id"].to_numpy()
    length = clicked["history"].to_numpy()
    cold = ~np.isin(jobs, train.job_ids)
    listed = (
        catalogue.job_index.contains(jobs)
        if catalogue is not None and catalogue.has_jobs()
        else np.zeros(jobs.shape[0], dtype=bool)
    )
    usable = ~cold | listed
    masks: dict[str, BoolArray] = {"cold jobs": cold & listed, "warm jobs": ~cold}
    for name, low, high in HISTORY_BUCKETS:
        masks[name] = usable & (length >= low) & (length <= high)

    user_ids = np.unique(users[usable])
    index = IdIndex(jobs[usable])
    rows = np.searchsorted(user_ids, users)
    cols, _ = index.lookup(jobs)
    shape = (user_ids.shape[0], len(index))
    relevant = {
        name: build_matrix(rows[mask], cols[mask], np.ones(int(mask.sum()), np.float32), shape)
        for name, mask in masks.items()
    }
    counts = {
        "cold_job_clicks": int(masks["cold jobs"].sum()),
        "cold_job_unlisted_clicks": int((cold & ~listed).sum()),
        "warm_job_clicks": int(masks["warm jobs"].sum()),
        "segment_users": int(user_ids.shape[0]),
    }
    return HeldOutClicks(user_ids=user_ids, jobs=index, relevant=relevant, counts=counts)


@dataclass(frozen=True)
class SegmentScores:
    """One model's mean metrics per segment and k, and its per-user NDCG for the intervals."""

    metrics: dict[str, dict[int, dict[str, float]]]
    users: dict[str, int]
    ndcg: dict[tuple[str, int], NDArray[np.float64]]
    """Per-user NDCG@k of each segment, aligned across models (the same users, in order)."""


def measure_segments(
    recommender: Recommender, clicks: HeldOutClicks, ks: list[int], rules: Rules
) -> SegmentScores:
    """Rank every test user's top ``max(ks)`` as the service would and score each segment."""
    recommended = recommended_job_columns(recommender, clicks, max(ks), rules)
    metrics: dict[str, dict[int, dict[str, float]]] = {}
    users: dict[str, int] = {}
    ndcg: dict[tuple[str, int], NDArray[np.float64]] = {}
    for name in SEGMENTS:
        relevant = clicks.relevant[name]
        rows, per_user = per_user_accuracy(recommended, relevant, ks)
        users[name] = int(rows.shape[0])
        if rows.shape[0] == 0:
            continue
        metrics[name] = {
            k: {m: float(values[m].mean()) for m in SEGMENT_METRICS}
            for k, values in per_user.items()
        }
        for k, values in per_user.items():
            ndcg[name, k] = values["ndcg"]
    return SegmentScores(metrics=metrics, users=users, ndcg=ndcg)


def recommended_job_columns(
    recommender: Recommender, clicks: HeldOutClicks, k: int, rules: Rules
) -> IntArray:
    """Each test user's top-k as columns of ``clicks.jobs``; a job nobody clicked (and padding)
    is -1, a miss either way."""
    out = np.full((clicks.user_ids.shape[0], k), -1, dtype=np.int64)
    ids = clicks.user_ids.tolist()
    for start in range(0, len(ids), BATCH_USERS):
        batch = ids[start : start + BATCH_USERS]
        for i, rec in enumerate(recommender.recommend_many(batch, k, "redirected", rules)):
            cols, known = clicks.jobs.lookup(rec.job_ids[:k])
            out[start + i, : cols.shape[0]] = np.where(known, cols, -1)
    return out
