"""Seeded, reproducible train / (validation) / test splits of an event log.

An event log is a polars DataFrame with ``user_id``, ``job_id`` (Int64), ``is_redirect`` (Boolean),
``weight`` (Float64) and ``timestamp`` (Datetime, UTC), one row per event, as
:func:`recommender.data.interactions.read_interactions` returns it. Splits move whole events; the
pair-based ones (leave-last-k, random) move all events of a (user, job) pair together, so a pair is
never on both sides.

* :func:`time_split`: everything before a time T trains, everything from T on tests (a global cut,
  as in production); with a window W, training sees only events in [T − W, T).
* :func:`leave_last_k`: each user's k most recent relevant pairs test, the rest train.
* :func:`random_split`: a seeded random share of the relevant pairs tests.
* :func:`cold_jobs_split`: the time split, for measuring jobs first seen in the test period
  (listed in the catalogue, no training interaction); it needs the job catalogue.
* :func:`cold_users_split`: a seeded share of the users with a profile (and at least two
  redirected jobs) is held out whole: all their events test, none trains.

Each has a validation variant (``validation=``) for tuning: validation is carved out of what would
otherwise train, just before the test part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl

from recommender.data.catalogue import Catalogue
from recommender.errors import EvaluationError, InvalidDataError

SplitKind = Literal["time", "last", "random", "cold-jobs", "cold-users"]
SPLIT_KINDS: tuple[SplitKind, ...] = ("time", "last", "random", "cold-jobs", "cold-users")
COLD_KINDS: tuple[SplitKind, ...] = ("cold-jobs", "cold-users")
"""Splits made to measure the cold segments; they need the catalogue."""
COLD_USER_MIN_JOBS = 2
"""Distinct redirected jobs a user needs to be held out by :func:`cold_users_split`."""


@dataclass(frozen=True)
class Split:
    """Events for training, for validation (tuning only) and for testing, and how they were cut."""

    kind: SplitKind
    train: pl.DataFrame
    test: pl.DataFrame
    validation: pl.DataFrame | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def for_tuning(self) -> tuple[Split, Split]:
        """(train → validation, train + validation → test): select on one, report on the other."""
        if self.validation is None:
            raise ValueError("this split has no validation part; make it with validation > 0")
        select = Split(self.kind, self.train, self.validation, None, self.params)
        report = Split(
            self.kind, pl.concat([self.train, self.validation]), self.test, None, self.params
        )
        return select, report


def _require_times(events: pl.DataFrame, what: str) -> None:
    missing = events["timestamp"].null_count()
    if missing:
        raise InvalidDataError(
            f"a {what} needs a timestamp on every event; {missing} of {events.height} have none "
            "(map a time column with --time-col, or use --split random)"
        )


def _quantile_time(events: pl.DataFrame, q: float) -> datetime:
    value = events.select(pl.col("timestamp").quantile(q, interpolation="nearest")).item()
    assert isinstance(value, datetime)
    return value


def time_split(
    events: pl.DataFrame,
    *,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    at: datetime | None = None,
    window: timedelta | None = None,
) -> Split:
    """Train before T, test from T on; T is ``at`` or the time before which 1 − test_fraction fall.

    With ``validation_fraction`` the validation part is [T_v, T) where T_v leaves that share of
    events before it; with ``window`` W training keeps only events in [T_train − W, T_train).
    """
    _require_times(events, "time split")
    test_at = at or _quantile_time(events, 1 - test_fraction)
    valid_at = (
        _quantile_time(events, 1 - test_fraction - validation_fraction)
        if validation_fraction > 0
        else test_at
    )
    ts = pl.col("timestamp")
    train = events.filter(ts < valid_at)
    validation = (
        events.filter((ts >= valid_at) & (ts < test_at)) if validation_fraction > 0 else None
    )
    test = events.filter(ts >= test_at)
    if window is not None:
        train = train.filter(ts >= valid_at - window)
    params: dict[str, Any] = {
        "test_from": test_at.isoformat(),
        "validation_from": valid_at.isoformat() if validation is not None else None,
        "window_days": window / timedelta(days=1) if window is not None else None,
    }
    return Split("time", train, test, validation, params)


def _pairs(events: pl.DataFrame) -> pl.DataFrame:
    """One row per (user, job) pair: has it a redirect, its last event time and file position."""
    return (
        events.with_row_index("order")
        .group_by("user_id", "job_id")
        .agg(
            relevant=pl.col("is_redirect").any(),
            last_time=pl.col("timestamp").max(),
            last_order=pl.col("order").max(),
        )
        .sort("user_id", "job_id")
    )


def _assign(events: pl.DataFrame, parts: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Events grouped by the ``part`` ("train", "validation", "test") of their pair."""
    tagged = events.join(
        parts.select("user_id", "job_id", "part"), on=["user_id", "job_id"], how="left"
    )
    tagged = tagged.with_columns(pl.col("part").fill_null("train"))
    return {
        name: tagged.filter(pl.col("part") == name).drop("part")
        for name in ("train", "validation", "test")
    }


def leave_last_k(events: pl.DataFrame, *, k: int = 1, validation: int = 0) -> Split:
    """Each user's ``k`` most recent relevant pairs test; the ``validation`` before them validate.

    Recency is the pair's last event time (file order where times are missing or equal). A user
    keeps at least one relevant pair for training: users with no more than k + validation relevant
    pairs only train.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    pairs = _pairs(events).filter(pl.col("relevant"))
    ranked = pairs.with_columns(
        recency=pl.struct("last_time", "last_order")
        .rank("ordinal", descending=True)
        .over("user_id"),
        count=pl.len().over("user_id"),
    ).filter(pl.col("count") > k + validation)
    parts = ranked.with_columns(
        part=pl.when(pl.col("recency") <= k)
        .then(pl.lit("test"))
        .when(pl.col("recency") <= k + validation)
        .then(pl.lit("validation"))
        .otherwise(pl.lit("train"))
    )
    out = _assign(events, parts)
    return Split(
        "last",
        out["train"],
        out["test"],
        out["validation"] if validation else None,
        {"k": k, "validation_k": validation},
    )


def random_split(
    events: pl.DataFrame,
    *,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    seed: int = 0,
) -> Split:
    """A seeded random share of the relevant pairs tests (and validates); all other events train."""
    pairs = _pairs(events).filter(pl.col("relevant"))
    draw = np.random.default_rng(seed).random(pairs.height)
    part = np.where(
        draw < test_fraction,
        "test",
        np.where(draw < test_fraction + validation_fraction, "validation", "train"),
    )
    out = _assign(events, pairs.with_columns(part=pl.Series(part)))
    return Split(
        "random",
        out["train"],
        out["test"],
        out["validation"] if validation_fraction > 0 else None,
        {"test_fraction": test_fraction, "validation_fraction": validation_fraction, "seed": seed},
    )


def cold_jobs_split(
    events: pl.DataFrame,
    catalogue: Catalogue,
    *,
    test_fraction: float = 0.2,
    window: timedelta | None = None,
) -> Split:
    """The time split, for the cold-job segment: jobs in the catalogue that have test events and
    no training event (posted, or first clicked, after the cut).

    Which test clicks are cold is decided when measuring (against the training events); the
    split records how many listed jobs are cold, and refuses a log without a job catalogue (their
    text is what a content model would recommend them by).
    """
    if not catalogue.has_jobs():
        raise EvaluationError(
            "the cold-jobs split needs the job catalogue: jobs.jsonl beside the log, or --jobs FILE"
        )
    split = time_split(events, test_fraction=test_fraction, window=window)
    tested = split.test["job_id"].unique().to_numpy()
    cold = tested[~np.isin(tested, split.train["job_id"].to_numpy())]
    listed = int(catalogue.job_index.contains(cold).sum())
    params = {
        **split.params,
        "cold_listed_jobs": listed,
        "cold_unlisted_jobs": int(cold.shape[0]) - listed,
    }
    return Split("cold-jobs", split.train, split.test, None, params)


def cold_users_split(
    events: pl.DataFrame,
    catalogue: Catalogue,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    min_jobs: int = COLD_USER_MIN_JOBS,
) -> Split:
    """A seeded ``test_fraction`` of the users with a profile and at least ``min_jobs`` distinct
    redirected jobs is held out entirely: all their events test, and training never sees them,
    so a model answers them as unknown users (from their profile, or the popular list)."""
    if not catalogue.has_users():
        raise EvaluationError(
            "the cold-users split needs the user profiles: users.jsonl beside the log, or "
            "--users FILE"
        )
    redirected = (
        events.filter(pl.col("is_redirect"))
        .group_by("user_id")
        .agg(jobs=pl.col("job_id").n_unique())
        .filter(pl.col("jobs") >= min_jobs)
        .sort("user_id")["user_id"]
        .to_numpy()
    )
    eligible = redirected[catalogue.user_index.contains(redirected)]
    count = round(test_fraction * eligible.shape[0])
    if count == 0:
        raise EvaluationError(
            f"no user to hold out: {eligible.shape[0]} users have a profile and at least "
            f"{min_jobs} redirected jobs (a test fraction of {test_fraction})"
        )
    held = np.sort(np.random.default_rng(seed).choice(eligible, size=count, replace=False))
    cold = pl.col("user_id").is_in(held.tolist())
    params = {
        "test_fraction": test_fraction,
        "seed": seed,
        "min_jobs": min_jobs,
        "eligible_users": int(eligible.shape[0]),
        "held_out_users": count,
    }
    return Split("cold-users", events.filter(~cold), events.filter(cold), None, params)


def make_split(
    events: pl.DataFrame,
    kind: SplitKind,
    *,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    k: int = 1,
    window: timedelta | None = None,
    seed: int = 0,
    catalogue: Catalogue | None = None,
) -> Split:
    """The split named ``kind`` with the options that apply to it (the cold splits read the
    ``catalogue`` and take no validation part)."""
    if kind in COLD_KINDS and validation_fraction > 0:
        raise ValueError(f"the {kind} split has no validation part")
    if kind == "cold-jobs":
        return cold_jobs_split(
            events, catalogue or Catalogue(), test_fraction=test_fraction, window=window
        )
    if kind == "cold-users":
        return cold_users_split(
            events, catalogue or Catalogue(), test_fraction=test_fraction, seed=seed
        )
    if kind == "time":
        return time_split(
            events,
            test_fraction=test_fraction,
            validation_fraction=validation_fraction,
            window=window,
        )
    if kind == "last":
        return leave_last_k(events, k=k, validation=k if validation_fraction > 0 else 0)
    return random_split(
        events, test_fraction=test_fraction, validation_fraction=validation_fraction, seed=seed
    )
