"""Everything read from a data directory: activities (as lines or as pair counts), jobs, users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from recommender.data.activities import ActivityLines, PairCounts
from recommender.data.jsonl import LoadReport
from recommender.data.pair_counts import read_activity_counts
from recommender.data.readers import read_activities, read_jobs, read_users
from recommender.data.schema import ACTIVITIES_FILE, JOBS_FILE, USERS_FILE


@dataclass(frozen=True)
class Dataset:
    """Everything read from a data directory; ``jobs`` and ``users`` are None without their file."""

    activities: ActivityLines | PairCounts
    jobs: pl.DataFrame | None
    users: pl.DataFrame | None
    reports: tuple[LoadReport, ...]
    dropped_lines: int = 0
    """Activity lines left out for being older than the time window asked for."""


def load_dataset(
    data_dir: Path,
    *,
    skip_invalid: bool = False,
    counts: bool = False,
    since: datetime | None = None,
    with_users: bool = True,
) -> Dataset:
    """Read ``activities.jsonl`` (required) and, if present, ``jobs.jsonl`` and ``users.jsonl``.

    Parameters
    ----------
    counts:
        Read the activities aggregated, one row per (user, job) pair with its ``impressions`` and
        ``redirects`` (:class:`~recommender.data.activities.PairCounts`, see
        :func:`~recommender.data.pair_counts.read_activity_counts`): what training needs, in
        memory that grows with pairs rather than lines. Otherwise the lines
        (:class:`~recommender.data.activities.ActivityLines`).
    since:
        Leave out activity lines older than this (lines without a timestamp stay).
    with_users:
        Read ``users.jsonl`` too (training does not use the profiles).
    """
    data_dir = Path(data_dir)
    path = data_dir / ACTIVITIES_FILE
    dropped = 0
    activities: ActivityLines | PairCounts
    if counts:
        pairs, report, dropped = read_activity_counts(path, skip_invalid=skip_invalid, since=since)
        activities = PairCounts(pairs)
    else:
        lines, report = read_activities(path, skip_invalid=skip_invalid)
        if since is not None:
            kept = lines.filter(pl.col("timestamp").is_null() | (pl.col("timestamp") >= since))
            dropped, lines = lines.height - kept.height, kept
        activities = ActivityLines.unweighted(lines)
    reports = [report]
    jobs = users = None
    if (data_dir / JOBS_FILE).exists():
        jobs, report = read_jobs(data_dir / JOBS_FILE, skip_invalid=skip_invalid)
        reports.append(report)
    if with_users and (data_dir / USERS_FILE).exists():
        users, report = read_users(data_dir / USERS_FILE, skip_invalid=skip_invalid)
        reports.append(report)
    return Dataset(
        activities=activities,
        jobs=jobs,
        users=users,
        reports=tuple(reports),
        dropped_lines=dropped,
    )
